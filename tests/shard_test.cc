// --shard K/N and longest-first: the N shards are the batch exactly once, whole needs components
// stay together, known durations are balanced within LPT's bound, unknown jobs are spread by
// count, and the same input always gives the same split. Batches are generated from fixed seeds.
#include "cli/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/flags.h"
#include "tests/support/e2e.h"

namespace procpool {
namespace {

using testing::TempDir;

std::string usage_error(const std::string& text) {
  try {
    parse_shard(text);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

Job job(const std::string& name, std::vector<std::string> needs = {}) {
  Job j;
  j.name = name;
  j.argv = {"run", name};
  j.needs = std::move(needs);
  return j;
}

void number(std::vector<Job>& jobs) {
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].id = i + 1;
}

// Timings that know `seconds` by job name, loaded as they would be: from a JUnit report.
Timings timings_for(const std::map<std::string, double>& seconds) {
  TempDir dir;
  std::string xml = "<testsuites><testsuite name=\"t\">\n";
  for (const auto& [name, s] : seconds) {
    xml += fmt::format("<testcase name=\"{}\" time=\"{:.6f}\"/>\n", name, s);
  }
  xml += "</testsuite></testsuites>\n";
  Timings t;
  t.load_file(dir.write("timings.xml", xml));
  return t;
}

struct Batch {
  std::vector<Job> jobs;
  Timings timings;
};

// `n` jobs; each has a duration with probability `known` (0..100 s, to the microsecond), and
// needs an earlier one with probability `needs`.
Batch generate(std::mt19937& rng, size_t n, double known, double needs) {
  Batch b;
  std::map<std::string, double> seconds;
  std::bernoulli_distribution has_time(known), has_need(needs);
  std::uniform_int_distribution<int64_t> micros(0, 100'000'000);
  for (size_t i = 0; i < n; ++i) {
    std::string name = fmt::format("job{}", i);
    std::vector<std::string> need;
    if (i > 0 && has_need(rng)) {
      need.push_back(fmt::format("job{}", std::uniform_int_distribution<size_t>(0, i - 1)(rng)));
    }
    b.jobs.push_back(job(name, need));
    if (has_time(rng)) seconds[name] = static_cast<double>(micros(rng)) / 1e6;
  }
  number(b.jobs);
  b.timings = timings_for(seconds);
  return b;
}

std::vector<std::string> names(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const Job& j : jobs) out.push_back(j.name);
  return out;
}

// --- parse_shard -------------------------------------------------------------------------------

TEST(ParseShard, AcceptsKOfN) {
  for (auto [text, k, n] :
       std::vector<std::tuple<std::string, int, int>>{{"1/1", 1, 1},
                                                      {"2/4", 2, 4},
                                                      {"4/4", 4, 4},
                                                      {"1/10000", 1, 10000},
                                                      {"10000/10000", 10000, 10000},
                                                      {"03/08", 3, 8}}) {
    ShardSpec s = parse_shard(text);
    EXPECT_EQ(s.index, k) << text;
    EXPECT_EQ(s.count, n) << text;
  }
}

TEST(ParseShard, RefusesWhatIsNotKOfN) {
  // Empty, as `--shard "$SHARD"` gives with the variable unset: said so.
  EXPECT_NE(usage_error("").find("--shard is empty: expected K/N"), std::string::npos);
  for (std::string text : {"4", "/4", "2/", "a/b", "1/4x", " 1/4", "1/4 ", "-1/4", "+1/4", "1//4",
                           "1/2/3", "1.0/4", "1,4"}) {
    std::string e = usage_error(text);
    EXPECT_NE(e.find("--shard " + text + ": expected K/N"), std::string::npos) << text << ": " << e;
  }
}

TEST(ParseShard, RefusesKOutsideOneToN) {
  EXPECT_EQ(usage_error("5/4"),
            "--shard 5/4: K must be between 1 and N (4): shards are numbered from 1");
  EXPECT_NE(usage_error("0/4").find("K must be between 1 and N"), std::string::npos);
  EXPECT_NE(usage_error("99999999999999/4").find("K must be between 1 and N"), std::string::npos);
}

TEST(ParseShard, RefusesNOutsideOneToTheMost) {
  EXPECT_EQ(usage_error("1/10001"),
            "--shard 1/10001: N must be between 1 and 10000 (the number of shards)");
  EXPECT_NE(usage_error("0/0").find("N must be between 1 and 10000"), std::string::npos);
  EXPECT_NE(usage_error("1/99999999999999").find("N must be between"), std::string::npos);
}

// --- the parts ---------------------------------------------------------------------------------

TEST(NeedsComponents, JoinsWhatNeedsAndIsNeededTransitively) {
  std::vector<Job> jobs{job("a"),        job("b", {"a"}), job("c"), job("d", {"b"}),
                        job("e", {"f"}), job("f"),        job("g"), job("h", {"c", "g"})};
  std::vector<std::vector<size_t>> want{{0, 1, 3}, {2, 6, 7}, {4, 5}};
  EXPECT_EQ(needs_components(jobs), want);
}

TEST(AssignShards, KnownByLongestFirstOntoTheLightest) {
  // Sorted: 5(#0) 5(#1) 4(#2) 3(#3) 3(#4) 3(#5). #0 -> 0, #1 -> 1, #2 -> 0 (tie: lowest index)
  // = 9, #3 -> 1 = 8, #4 -> 1 = 11, #5 -> 0 = 12.
  std::vector<ShardItem> items{{5, true}, {5, true}, {4, true}, {3, true}, {3, true}, {3, true}};
  EXPECT_EQ(assign_shards(items, 2), (std::vector<int>{0, 1, 0, 1, 1, 0}));
  // Input order does not decide among different weights: the heaviest goes first wherever it is.
  std::vector<ShardItem> rising{{1, true}, {2, true}, {3, true}, {10, true}};
  EXPECT_EQ(assign_shards(rising, 2), (std::vector<int>{1, 1, 1, 0}));
}

TEST(AssignShards, UnknownRoundRobinFromTheLightestShard) {
  // Known loads end at 10, 0, 0: unknown ones start on shard 1, then 2, then 0, then 1 again.
  std::vector<ShardItem> items{{0, false}, {10, true}, {0, false}, {0, false}, {0, false}};
  EXPECT_EQ(assign_shards(items, 3), (std::vector<int>{1, 0, 2, 0, 1}));
  // With no timings at all, job i goes to shard i mod N.
  std::vector<ShardItem> none(7, ShardItem{});
  EXPECT_EQ(assign_shards(none, 3), (std::vector<int>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(AssignShards, UnknownComponentsSpreadByJobCount) {
  // A 3-job component on shard 0; the next single jobs fill shard 1 before 0 gets another.
  std::vector<ShardItem> items{{0, false, 3}, {0, false}, {0, false}, {0, false}, {0, false}};
  EXPECT_EQ(assign_shards(items, 2), (std::vector<int>{0, 1, 1, 1, 0}));
}

TEST(JobWeight, RoundedMicrosecondsAtLeastAMillisecond) {
  Timings t = timings_for({{"a", 1.2345674}, {"b", 0}, {"c", 0.0004}});
  EXPECT_EQ(job_weight_us(job("a"), t), 1234567);
  EXPECT_EQ(job_weight_us(job("b"), t), kMinJobUs);
  EXPECT_EQ(job_weight_us(job("c"), t), kMinJobUs);
  EXPECT_EQ(job_weight_us(job("z"), t), std::nullopt);
}

// Jobs a report gives 0.000 s (fast ones, rounded) are spread, not all put on one shard.
TEST(SelectShard, ZeroDurationJobsAreSpread) {
  std::vector<Job> jobs;
  std::map<std::string, double> seconds;
  for (int i = 0; i < 12; ++i) {
    jobs.push_back(job(fmt::format("t{}", i)));
    seconds[jobs.back().name] = 0;
  }
  number(jobs);
  Timings t = timings_for(seconds);
  for (int k = 1; k <= 4; ++k) EXPECT_EQ(select_shard(jobs, {k, 4}, t).size(), 3u) << k;
}

// --- select_shard over generated batches --------------------------------------------------------

TEST(SelectShard, ShardsAreTheBatchExactlyOnceWithNeedsTogether) {
  for (unsigned seed = 1; seed <= 120; ++seed) {
    std::mt19937 rng(seed);
    size_t n = std::uniform_int_distribution<size_t>(0, 60)(rng);
    int count = std::uniform_int_distribution<int>(1, 9)(rng);
    Batch b = generate(rng, n, 0.7, 0.25);
    std::map<std::string, size_t> position;
    for (size_t i = 0; i < b.jobs.size(); ++i) position[b.jobs[i].name] = i;
    std::multiset<std::string> seen;
    for (int k = 1; k <= count; ++k) {
      std::vector<Job> shard = select_shard(b.jobs, {k, count}, b.timings);
      std::set<std::string> here;
      for (size_t i = 0; i < shard.size(); ++i) {
        EXPECT_EQ(shard[i].id, i + 1) << "seed " << seed << " shard " << k;  // dense ids
        if (i > 0) {
          EXPECT_LT(position[shard[i - 1].name], position[shard[i].name]);  // in input order
        }
        const Job& original = b.jobs[position[shard[i].name]];
        EXPECT_EQ(shard[i].argv, original.argv);
        EXPECT_EQ(shard[i].needs, original.needs);
        here.insert(shard[i].name);
        seen.insert(shard[i].name);
      }
      // Whatever a job needs, and whatever needs it, is in its shard.
      for (const Job& j : b.jobs) {
        for (const auto& need : j.needs) {
          EXPECT_EQ(here.count(j.name), here.count(need))
              << "seed " << seed << ": " << j.name << " needs " << need;
        }
      }
      EXPECT_EQ(names(shard), names(select_shard(b.jobs, {k, count}, b.timings)))
          << "seed " << seed << ": the same input split differently";
    }
    std::multiset<std::string> all;
    for (const Job& j : b.jobs) all.insert(j.name);
    EXPECT_EQ(seen, all) << "seed " << seed << ": jobs missing or run twice";
  }
}

TEST(SelectShard, KnownIndependentJobsWithinLptBound) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    size_t n = std::uniform_int_distribution<size_t>(1, 80)(rng);
    int count = std::uniform_int_distribution<int>(1, 12)(rng);
    Batch b = generate(rng, n, 1.0, 0.0);
    int64_t total = 0, largest = 0;
    for (const Job& j : b.jobs) {
      int64_t w = *job_weight_us(j, b.timings);
      total += w;
      largest = std::max(largest, w);
    }
    int64_t most = 0;
    for (int k = 1; k <= count; ++k) {
      int64_t load = 0;
      for (const Job& j : select_shard(b.jobs, {k, count}, b.timings)) {
        load += *job_weight_us(j, b.timings);
      }
      most = std::max(most, load);
    }
    // The shard that ends heaviest was the lightest when it took its last job.
    EXPECT_LE(most, std::max(largest, total / count) + largest) << "seed " << seed;
    // Graham: LPT is within 4/3 of the best split, which is at least the larger of these.
    int64_t lower = std::max(largest, (total + count - 1) / count);
    EXPECT_LE(3 * most, 4 * lower) << "seed " << seed << ": " << most << " vs at least " << lower;
  }
}

TEST(SelectShard, UnknownJobsSpreadWithinOne) {
  for (unsigned seed = 1; seed <= 150; ++seed) {
    std::mt19937 rng(seed);
    size_t n = std::uniform_int_distribution<size_t>(0, 70)(rng);
    int count = std::uniform_int_distribution<int>(1, 10)(rng);
    Batch b = generate(rng, n, seed % 3 == 0 ? 0.0 : 0.5, 0.0);
    size_t fewest = SIZE_MAX, most = 0;
    for (int k = 1; k <= count; ++k) {
      size_t unknown = 0;
      for (const Job& j : select_shard(b.jobs, {k, count}, b.timings)) {
        if (!b.timings.seconds(j)) ++unknown;
      }
      fewest = std::min(fewest, unknown);
      most = std::max(most, unknown);
    }
    EXPECT_LE(most - fewest, 1u) << "seed " << seed;
  }
}

TEST(SelectShard, WithoutTimingsEveryNthJob) {
  std::vector<Job> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(job(fmt::format("j{}", i)));
  number(jobs);
  Timings none;
  EXPECT_EQ(names(select_shard(jobs, {1, 3}, none)),
            (std::vector<std::string>{"j0", "j3", "j6", "j9"}));
  EXPECT_EQ(names(select_shard(jobs, {2, 3}, none)), (std::vector<std::string>{"j1", "j4", "j7"}));
  EXPECT_EQ(names(select_shard(jobs, {3, 3}, none)), (std::vector<std::string>{"j2", "j5", "j8"}));
  EXPECT_EQ(names(select_shard(jobs, {1, 1}, none)), names(jobs));
}

// --- order_longest_first ------------------------------------------------------------------------

TEST(OrderLongestFirst, UnknownFirstThenLongestTiesInInputOrder) {
  std::vector<Job> jobs{job("a"), job("b"), job("c"), job("d"), job("e"), job("f"), job("g")};
  number(jobs);
  Timings t = timings_for({{"b", 2}, {"c", 5}, {"e", 2}, {"f", 7}, {"g", 0.5}});
  order_longest_first(jobs, t);
  EXPECT_EQ(names(jobs), (std::vector<std::string>{"a", "d", "f", "c", "b", "e", "g"}));
  std::vector<uint64_t> ids;
  for (const Job& j : jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 4, 6, 3, 2, 5, 7}));  // ids are kept
}

// A short job that a long one needs goes first: the long one must not be left to start last.
TEST(OrderLongestFirst, AJobsLengthIncludesTheChainWaitingForIt) {
  std::vector<Job> jobs{
      job("build"),          job("big"),         job("mid"), job("test", {"build"}),
      job("ship", {"test"}), job("new", {"mid"})};
  number(jobs);
  Timings t = timings_for({{"build", 1}, {"big", 9}, {"mid", 4}, {"test", 6}, {"ship", 3}});
  order_longest_first(jobs, t);
  // build 1+6+3 = 10, big 9, test 9 (input order breaks the tie), mid 4 (what "new" adds is
  // unknown), ship 3; "new" is unknown, so first.
  EXPECT_EQ(names(jobs), (std::vector<std::string>{"new", "build", "big", "test", "mid", "ship"}));
}

TEST(OrderLongestFirst, NoTimingsKeepsInputOrder) {
  std::vector<Job> jobs{job("x"), job("y"), job("z")};
  number(jobs);
  order_longest_first(jobs, Timings{});
  EXPECT_EQ(names(jobs), (std::vector<std::string>{"x", "y", "z"}));
}

}  // namespace
}  // namespace procpool
