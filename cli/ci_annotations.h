// GitHub error annotations for the jobs that did not succeed. GitHub shows at most 10 error
// annotations per step and drops the rest silently, so procpool keeps the ten worst and writes
// them after the last block, then one more that says how many it left out and where they are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <procpool/job.h>

namespace procpool {

class Annotations {
 public:
  static constexpr size_t kShown = 10;  // GitHub's limit per step
  // Notes a finished job; only failed, timed-out, crashed and could-not-start ones count.
  // `header` is its header line (what the annotation says).
  void add(const Job& job, const Result& r, const std::string& header);
  // The `::error` lines, worst first (crashed, timed out, could not start, failed; within
  // each, in completion order), then one that counts the rest and points to `where_listed`.
  // Empty when every job succeeded.
  std::string lines(const std::string& where_listed) const;

 private:
  struct Entry {
    int rank;      // lower is worse
    uint64_t seq;  // completion order
    std::string title, message;
  };
  std::vector<Entry> kept_;  // at most kShown, the worst so far
  uint64_t seen_ = 0;        // every one that counted
};

}  // namespace procpool
