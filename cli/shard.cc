#include "cli/shard.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/journal.h"

namespace procpool {

namespace {

// A run of decimal digits as a number (at most kMaxShards + 1, so the message can say "too
// many"), or -1 when `text` is not one.
int parse_count(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() ? std::min(v, kMaxShards + 1) : kMaxShards + 1;  // else: too large
}

// Sums of durations stay far from overflow: a job counts as at most ~31 years.
constexpr int64_t kMaxJobUs = int64_t{1000000} * 1000000000;

int64_t saturating_add(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

// Union-find over job indices, for the needs components.
struct Components {
  explicit Components(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t root(size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(size_t a, size_t b) {
    a = root(a), b = root(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);  // the root is the earliest job
  }
  std::vector<size_t> parent;
};

}  // namespace

ShardSpec parse_shard(const std::string& text) {
  if (text.empty()) {
    // `--shard "$SHARD"` with the variable unset: running the whole batch on every machine of
    // the matrix would be the worst reading of it.
    throw UsageError(
        "--shard is empty: expected K/N, this run's shard K of N in all (is the variable that "
        "gives it set?)");
  }
  size_t slash = text.find('/');
  int k = slash == std::string::npos ? -1 : parse_count(std::string_view(text).substr(0, slash));
  int n = slash == std::string::npos ? -1 : parse_count(std::string_view(text).substr(slash + 1));
  if (k < 0 || n < 0) {
    throw UsageError(fmt::format(
        "--shard {}: expected K/N, this run's shard K of N in all (e.g. --shard 2/4 on the "
        "second of four machines)",
        text));
  }
  if (n < 1 || n > kMaxShards) {
    throw UsageError(fmt::format("--shard {}: N must be between 1 and {} (the number of shards)",
                                 text, kMaxShards));
  }
  if (k < 1 || k > n) {
    throw UsageError(fmt::format(
        "--shard {}: K must be between 1 and N ({}): shards are numbered from 1", text, n));
  }
  return ShardSpec{k, n};
}

std::optional<int64_t> job_weight_us(const Job& job, const Timings& timings) {
  auto s = timings.seconds(job);
  if (!s) return std::nullopt;
  double us = std::min(*s * 1e6, static_cast<double>(kMaxJobUs));
  return std::max(kMinJobUs, static_cast<int64_t>(std::llround(us)));
}

std::vector<std::vector<size_t>> needs_components(const std::vector<Job>& jobs) {
  // Names are unique in a job file (its parser checks); jobs streamed in (--lines) may share a
  // name but have no needs. A need joins every job of that name, to be safe either way.
  std::unordered_map<std::string, std::vector<size_t>> by_name;
  for (size_t i = 0; i < jobs.size(); ++i) by_name[jobs[i].name].push_back(i);
  Components c(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (const auto& need : jobs[i].needs) {
      auto it = by_name.find(need);
      if (it == by_name.end()) continue;
      for (size_t j : it->second) c.join(i, j);
    }
  }
  std::vector<std::vector<size_t>> out;
  std::vector<size_t> slot(jobs.size(), SIZE_MAX);  // root -> its component in `out`
  for (size_t i = 0; i < jobs.size(); ++i) {
    size_t r = c.root(i);
    if (slot[r] == SIZE_MAX) {
      slot[r] = out.size();
      out.emplace_back();
    }
    out[slot[r]].push_back(i);
  }
  return out;
}

std::vector<int> assign_shards(const std::vector<ShardItem>& items, int count) {
  count = std::max(count, 1);
  std::vector<int> shard(items.size(), 0);
  std::vector<int64_t> load(static_cast<size_t>(count), 0);

  // LPT: heaviest first; a min-heap of (load, index) finds the lightest shard, lowest index first.
  std::vector<size_t> known;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].known) known.push_back(i);
  }
  std::stable_sort(known.begin(), known.end(),
                   [&](size_t a, size_t b) { return items[a].weight_us > items[b].weight_us; });
  using Slot = std::pair<int64_t, int>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<>> lightest;
  for (int s = 0; s < count; ++s) lightest.emplace(0, s);
  for (size_t i : known) {
    auto [l, s] = lightest.top();
    lightest.pop();
    shard[i] = s;
    load[static_cast<size_t>(s)] = saturating_add(l, std::max<int64_t>(items[i].weight_us, 0));
    lightest.emplace(load[static_cast<size_t>(s)], s);
  }

  // The rest, spread by count: fewest unknown jobs, then least known weight, then lowest index.
  using Tally = std::tuple<size_t, int64_t, int>;
  std::priority_queue<Tally, std::vector<Tally>, std::greater<>> fewest;
  for (int s = 0; s < count; ++s) fewest.emplace(0, load[static_cast<size_t>(s)], s);
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].known) continue;
    auto [n, l, s] = fewest.top();
    fewest.pop();
    shard[i] = s;
    fewest.emplace(n + items[i].jobs, l, s);
  }
  return shard;
}

std::vector<Job> select_shard(std::vector<Job> jobs, ShardSpec spec, const Timings& timings) {
  std::vector<std::vector<size_t>> components = needs_components(jobs);
  std::vector<ShardItem> items;
  items.reserve(components.size());
  for (const auto& members : components) {
    ShardItem item{0, false, members.size()};
    for (size_t j : members) {
      if (auto w = job_weight_us(jobs[j], timings)) {
        item.known = true;
        item.weight_us = saturating_add(item.weight_us, *w);
      }
    }
    items.push_back(item);
  }
  std::vector<int> shard = assign_shards(items, spec.count);
  std::vector<bool> mine(jobs.size(), false);
  for (size_t c = 0; c < components.size(); ++c) {
    if (shard[c] != spec.index - 1) continue;
    for (size_t j : components[c]) mine[j] = true;
  }
  std::vector<Job> out;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!mine[j]) continue;
    out.push_back(std::move(jobs[j]));
    out.back().id = out.size();
  }
  return out;
}

std::string split_fingerprint(const std::vector<Job>& jobs, int count, const Timings& timings) {
  std::string what = fmt::format("{}\n", count);
  for (const Job& job : jobs) {
    auto w = job_weight_us(job, timings);
    what += fmt::format("{} {} {}\n", job_identity(job), job.name, w ? std::to_string(*w) : "?");
  }
  uint64_t h = fnv1a64(what);
  return fmt::format("{:08x}", static_cast<uint32_t>(h ^ (h >> 32)));
}

void order_longest_first(std::vector<Job>& jobs, const Timings& timings) {
  std::vector<std::optional<double>> seconds;
  seconds.reserve(jobs.size());
  for (const Job& job : jobs) seconds.push_back(timings.seconds(job));
  // Each job's critical path: its own duration plus the longest chain of jobs waiting for it
  // (an unknown one counted as 0 there). For independent jobs it is their own duration; for a
  // short job that a long one needs it puts the short one first, so the long one is not left
  // to start last. Worked out from the last job of each chain back, in an order in which
  // every job comes after all it needs (Kahn's), without recursion: chains may be long.
  std::unordered_map<std::string, size_t> by_name;
  for (size_t i = 0; i < jobs.size(); ++i) by_name.emplace(jobs[i].name, i);
  std::vector<std::vector<size_t>> dependents(jobs.size());
  std::vector<size_t> unmet(jobs.size(), 0);
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (const auto& need : jobs[i].needs) {
      auto it = by_name.find(need);
      if (it == by_name.end()) continue;
      dependents[it->second].push_back(i);
      ++unmet[i];
    }
  }
  std::vector<size_t> topo;
  topo.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (unmet[i] == 0) topo.push_back(i);
  }
  for (size_t next = 0; next < topo.size(); ++next) {
    for (size_t d : dependents[topo[next]]) {
      if (--unmet[d] == 0) topo.push_back(d);
    }
  }
  std::vector<double> path(jobs.size(), 0);
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    double longest_after = 0;
    for (size_t d : dependents[*it]) longest_after = std::max(longest_after, path[d]);
    path[*it] = seconds[*it].value_or(0) + longest_after;
  }
  std::vector<size_t> order(jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (!seconds[a] || !seconds[b]) return !seconds[a] && seconds[b];  // unknown first
    return path[a] > path[b];
  });
  std::vector<Job> sorted;
  sorted.reserve(jobs.size());
  for (size_t i : order) sorted.push_back(std::move(jobs[i]));
  jobs = std::move(sorted);
}

}  // namespace procpool
