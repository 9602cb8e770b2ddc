// --halt, decided where it must be: on the pool's manager thread as each job completes, before
// its worker is given another job (the pool consults it through PoolOptions::halt_when), so
// --fail-fast starts nothing after the first failure. The front end only reads the outcome.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "cli/flags.h"
#include "common/pool.h"

namespace procpool {

class HaltWatch {
 public:
  // `total`: the batch's size when known up front; else percentages count the jobs read so far.
  HaltWatch(HaltPolicy policy, std::optional<uint64_t> total) : policy_(policy), total_(total) {}
  // On the manager thread: what the pool should do now that `f` completed.
  Halt on_result(const Future& f);
  // On the front end's thread: jobs read so far (run, held, skipped or cancelled).
  void jobs_read(uint64_t n) { read_.store(n, std::memory_order_relaxed); }
  // The halt was reached by success=N (procpool then exits 0).
  bool on_success() const { return on_success_.load(); }

 private:
  const HaltPolicy policy_;
  const std::optional<uint64_t> total_;
  std::atomic<uint64_t> read_{0};
  uint64_t ok_ = 0, failed_ = 0;  // manager thread only
  std::atomic<bool> on_success_{false};
};

}  // namespace procpool
