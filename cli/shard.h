// --shard K/N: one of N CI machines runs its K-th part of a batch, the N parts together being the
// whole batch exactly once; and longest-first ordering. Both plan by the durations of earlier
// runs (cli/timings.h) when there are any. The split depends on nothing but the jobs (in input
// order) and those durations, so N machines given the same job file and timings agree on it
// without talking to each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <procpool/job.h>
#include "cli/timings.h"

namespace procpool {

struct ShardSpec {
  int index = 1;  // K: this run's shard, 1-based
  int count = 1;  // N: shards in all
};

// The most shards a batch may be split into.
inline constexpr int kMaxShards = 10000;

// "K/N" with 1 <= K <= N <= kMaxShards; UsageError naming --shard otherwise.
ShardSpec parse_shard(const std::string& text);

// The jobs of shard K of N, in input order, with ids renumbered 1..M (ids stay dense: -k and the
// batch rely on them). A job and everything it needs, or that needs it, go to the same shard, so
// no job ever waits for one another machine runs.
std::vector<Job> select_shard(std::vector<Job> jobs, ShardSpec spec, const Timings& timings);

// What the split of `jobs` into `count` shards was made from (every job's identity and weight,
// in input order), as 8 hex digits: each shard logs it, so shards that planned from different
// timings (a cache one machine missed) show it at a glance.
std::string split_fingerprint(const std::vector<Job>& jobs, int count, const Timings& timings);

// Reorders `jobs` (a stable sort, ids unchanged): jobs of unknown duration first (a new job may
// be long), then the known ones, longest first, where a job's length is its critical path (its
// own duration plus the longest chain of jobs that need it, transitively); ties keep input order.
// For jobs without needs that is their own duration.
void order_longest_first(std::vector<Job>& jobs, const Timings& timings);

// ---- the parts select_shard is made of, for tests ----

// The jobs that must share a shard: the connected components of the needs graph, each as the
// indices of its jobs in input order; components ordered by their first job.
std::vector<std::vector<size_t>> needs_components(const std::vector<Job>& jobs);

// What the split knows of one component.
struct ShardItem {
  int64_t weight_us = 0;  // summed durations of its members that have one, in microseconds
  bool known = false;     // whether any member has one
  size_t jobs = 1;        // how many jobs it holds
};

// The shard (0-based, < count) of each item, items given in input order:
// - known items by LPT (longest processing time first): heaviest first (ties: the earlier item),
//   each onto the shard with the least weight so far (ties: the lowest index);
// - then unknown items, in input order, each onto the shard with the fewest unknown jobs so far;
//   ties go to the shard with the least known weight, then the lowest index. With single-job
//   items this is round-robin over the shards from the lightest: unknown counts differ by at most
//   one, and with no timings at all job i (0-based) goes to shard i mod N.
// Integer weights, so every machine computes the same split.
std::vector<int> assign_shards(const std::vector<ShardItem>& items, int count);

// A job's duration as the split weighs it: microseconds, rounded; nullopt when unknown. A known
// job weighs at least kMinJobUs, since no job costs less than starting it: jobs a report says
// took "0.000" s would otherwise all pile onto one shard.
inline constexpr int64_t kMinJobUs = 1000;
std::optional<int64_t> job_weight_us(const Job& job, const Timings& timings);

}  // namespace procpool
