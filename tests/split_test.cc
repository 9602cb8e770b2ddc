// Planning a batch from its history, end to end: longest first (--journal, --timings) and
// --shard K/N, on real runs of the built binary.
#include <algorithm>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/e2e.h"

namespace procpool::testing {
namespace {

// The names in the order procpool reported them (with -j1: the order they started in).
std::vector<std::string> reported(const std::string& err) {
  std::vector<std::string> names;
  static const std::regex header(R"(^\[[a-z]+\] (\S+) \()");
  for (const auto& line : lines(err)) {
    std::smatch m;
    if (std::regex_search(line, m, header)) names.push_back(m[1]);
  }
  return names;
}

// A JUnit report from "an earlier run": testcase name -> seconds.
std::string junit(const std::vector<std::pair<std::string, double>>& cases) {
  std::string xml = "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"old\">\n";
  for (const auto& [name, s] : cases) {
    xml += fmt::format("  <testcase classname=\"old\" name=\"{}\" time=\"{:.3f}\"/>\n", name, s);
  }
  return xml + "</testsuite></testsuites>\n";
}

std::string jobs_json(const std::vector<std::string>& names,
                      const std::map<std::string, std::string>& needs = {}) {
  std::string text = "[";
  for (const auto& n : names) {
    std::string extra;
    if (auto it = needs.find(n); it != needs.end()) extra = ", \"needs\": [\"" + it->second + "\"]";
    text += fmt::format("{}{{\"name\": \"{}\", \"cmd\": \"echo {}\"{}}}",
                        text.size() > 1 ? "," : "", n, n, extra);
  }
  return text + "]";
}

TEST(LongestFirst, UnknownJobsFirstThenKnownByDescendingDurationTiesInInputOrder) {
  TempDir dir;
  std::string file = dir.write(
      "jobs.json", jobs_json({"short", "new1", "long", "mid", "tie-a", "new2", "tie-b", "after"},
                             {{"after", "short"}}));
  std::string timings = dir.write(
      "old.xml",
      junit({{"short", 1}, {"long", 9}, {"mid", 5}, {"tie-a", 3}, {"tie-b", 3}, {"after", 20}}));
  auto r = run_procpool({"run", "-j1", "--timings", timings, file});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  // "after" is the longest but needs "short", so "short" goes first (1 + 20 s of chain), and
  // "after" starts as soon as it has ended, before the jobs planned after it.
  std::vector<std::string> expected{"new1", "new2", "short", "after",
                                    "long", "mid",  "tie-a", "tie-b"};
  EXPECT_EQ(reported(r.err), expected) << r.err;
  // --dry-run shows the same order.
  auto dry = run_procpool({"run", "--dry-run", "--timings", timings, file});
  std::vector<std::string> dry_names;
  for (const auto& line : lines(dry.out)) dry_names.push_back(line.substr(5));  // "echo NAME"
  EXPECT_EQ(dry_names, expected) << dry.out;
  // -k still reports in input order; the jobs' own output with them.
  auto k = run_procpool({"run", "-j1", "-k", "--timings", timings, file});
  EXPECT_EQ(reported(k.err), (std::vector<std::string>{"short", "new1", "long", "mid", "tie-a",
                                                       "new2", "tie-b", "after"}));
  EXPECT_EQ(k.out, "short\nnew1\nlong\nmid\ntie-a\nnew2\ntie-b\nafter\n");
}

TEST(LongestFirst, TheJournalOfAnEarlierRunIsTheHistory) {
  TempDir dir;
  std::string file = dir.write("jobs.json", R"([
    {"name": "quick", "cmd": "sleep 0.05"},
    {"name": "slow", "cmd": "sleep 0.6"},
    {"name": "middle", "cmd": "sleep 0.3"}])");
  std::string journal = dir.path() + "/ci.journal";
  auto first = run_procpool({"run", "-j1", "--journal", journal, file});
  EXPECT_EQ(first.exit_status, 0) << first.err;
  EXPECT_EQ(reported(first.err), (std::vector<std::string>{"quick", "slow", "middle"}));
  auto second = run_procpool({"run", "-j1", "--journal", journal, file});
  EXPECT_EQ(reported(second.err), (std::vector<std::string>{"slow", "middle", "quick"}))
      << second.err;
}

TEST(LongestFirst, StreamedInputsFromFilesAreOrderedPipesStayInInputOrder) {
  TempDir dir;
  std::string cmds = dir.write("cmds.txt", "echo a\necho b\necho c\n");
  std::string timings = dir.write("old.xml", junit({{"echo a", 1}, {"echo b", 2}, {"echo c", 3}}));
  auto from_file = run_procpool({"run", "-j1", "--timings", timings, "--lines", cmds});
  EXPECT_EQ(from_file.out, "c\nb\na\n") << from_file.err;
  // A map job is named after its input.
  std::string by_input = dir.write("map.xml", junit({{"a", 1}, {"b", 2}, {"c", 3}}));
  auto mapped =
      run_procpool({"map", "-j1", "--timings", by_input, "echo {}", ":::", "a", "b", "c"});
  EXPECT_EQ(mapped.out, "c\nb\na\n") << mapped.err;
  // From a pipe, jobs start as they are read: no waiting for the input's end.
  auto piped = run_procpool({"run", "-j1", "--timings", timings, "--lines", "-"},
                            "echo a\necho b\necho c\n");
  EXPECT_EQ(piped.out, "a\nb\nc\n") << piped.err;
}

// The dry-run listing of shard K of N, as names.
std::vector<std::string> shard_names(const std::string& file, const std::string& timings, int k,
                                     int n) {
  std::vector<std::string> args{"run", "--dry-run", "--shard", fmt::format("{}/{}", k, n)};
  if (!timings.empty()) args.insert(args.end(), {"--timings", timings});
  args.push_back(file);
  auto r = run_procpool(args);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  std::vector<std::string> names;
  for (const auto& line : lines(r.out)) names.push_back(line.substr(5));
  return names;
}

TEST(Shard, EveryJobRunsInExactlyOneShardBalancedByTimings) {
  TempDir dir;
  std::mt19937 rng(7);
  std::vector<std::string> names;
  std::vector<std::pair<std::string, double>> cases;
  std::map<std::string, double> seconds;
  std::map<std::string, std::string> needs;
  for (int i = 0; i < 60; ++i) {
    std::string n = fmt::format("job{:02}", i);
    names.push_back(n);
    if (i % 7 != 3) {  // some have no history
      double s = std::uniform_real_distribution<double>(0.1, 30)(rng);
      cases.emplace_back(n, s);
      seconds[n] = std::round(s * 1000) / 1000;
    }
    if (i % 10 == 9) needs[n] = names[names.size() - 2];  // chains of two
  }
  std::string file = dir.write("jobs.json", jobs_json(names, needs));
  std::string timings = dir.write("old.xml", junit(cases));
  double total = 0, largest = 0;
  for (const auto& [n, s] : seconds) total += s, largest = std::max(largest, s);
  for (int n = 1; n <= 5; ++n) {
    std::multiset<std::string> all;
    double heaviest = 0;
    for (int k = 1; k <= n; ++k) {
      auto shard = shard_names(file, timings, k, n);
      EXPECT_EQ(shard, shard_names(file, timings, k, n)) << "the same split every time";
      double load = 0;
      std::set<std::string> here(shard.begin(), shard.end());
      for (const auto& name : shard) {
        all.insert(name);
        if (seconds.count(name)) load += seconds[name];
        if (needs.count(name)) EXPECT_TRUE(here.count(needs[name])) << name << " without its need";
      }
      heaviest = std::max(heaviest, load);
    }
    EXPECT_EQ(all, std::multiset<std::string>(names.begin(), names.end())) << n << " shards";
    // Within the largest job (here: a chain of two) of the lower bound on the optimum.
    EXPECT_LE(heaviest, std::max(total / n, largest) + 2 * largest) << n << " shards";
  }
}

TEST(Shard, RunsOnlyItsShardAndWithoutTimingsDealsRoundRobin) {
  TempDir dir;
  std::vector<std::string> names;
  for (int i = 1; i <= 7; ++i) names.push_back(fmt::format("t{}", i));
  std::string file = dir.write("jobs.json", jobs_json(names));
  EXPECT_EQ(shard_names(file, "", 1, 3), (std::vector<std::string>{"t1", "t4", "t7"}));
  EXPECT_EQ(shard_names(file, "", 2, 3), (std::vector<std::string>{"t2", "t5"}));
  EXPECT_EQ(shard_names(file, "", 3, 3), (std::vector<std::string>{"t3", "t6"}));
  std::string xml = dir.path() + "/shard2.xml";
  auto r = run_procpool({"run", "-k", "--shard", "2/3", "--junit", xml, file});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "t2\nt5\n");
  EXPECT_EQ(reported(r.err), (std::vector<std::string>{"t2", "t5"}));
  // Each shard says what it got and what it split: the same split on every shard.
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.err, m, std::regex(R"(--shard 2/3: 2 of 7 jobs, split ([0-9a-f]{8}))")))
      << r.err;
  auto other = run_procpool({"run", "--dry-run", "--shard", "3/3", file});
  EXPECT_NE(other.err.find("--shard 3/3: 2 of 7 jobs, split " + m[1].str()), std::string::npos)
      << other.err;
  std::string xml_timings = dir.write("t.xml", junit({{"t1", 5}}));
  auto with_timings =
      run_procpool({"run", "--dry-run", "--shard", "3/3", "--timings", xml_timings, file});
  EXPECT_EQ(with_timings.err.find("split " + m[1].str()), std::string::npos)
      << "other timings, other split";
  // Its JUnit file names only its own jobs, ready to be merged with the other shards'.
  auto count = run_program({"xmllint", "--xpath", "count(//testcase)", xml});
  EXPECT_EQ(count.out, "2\n");
}

TEST(Shard, BadShardsAndTimingsAreUsageErrors) {
  TempDir dir;
  std::string file = dir.write("jobs.json", jobs_json({"a"}));
  for (std::string bad : {"0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/3/4", ""}) {
    auto r = run_procpool({"run", "--shard", bad, file});
    EXPECT_EQ(r.exit_status, 2) << bad;
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  auto missing = run_procpool({"run", "--timings", dir.path() + "/nope.xml", file});
  EXPECT_EQ(missing.exit_status, 2);
  EXPECT_NE(missing.err.find("nope.xml"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");
}

}  // namespace
}  // namespace procpool::testing
