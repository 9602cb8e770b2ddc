// --halt, decided where it must be: on the pool's manager thread as each job completes, before
// its worker is given another job (the pool consults it through PoolOptions::halt_when), so
// --fail-fast starts nothing after the first failure. The front end only reads the outcome.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include <procpool/pool.h>
#include "cli/flags.h"
#include "common/fd.h"

namespace procpool {

class HaltWatch {
 public:
  // `total`: the batch's size when known up front; else percentages count the jobs read so far.
  HaltWatch(HaltPolicy policy, std::optional<uint64_t> total);
  // On the manager thread: what the pool should do now that `f` completed. A halt is recorded
  // and fd() made readable before it is returned: the front end may already have handled `f`
  // (its future completed first) and be waiting, with nothing else to wake it.
  Halt on_result(const Future& f);
  // Readable once a halt was decided; the front end polls it with its other events.
  int fd() const { return wake_.get(); }
  // The halt decided so far (kNo until then), from any thread.
  Halt decided() const { return decided_.load(); }
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
  std::atomic<Halt> decided_{Halt::kNo};
  Fd wake_;  // an eventfd
};

}  // namespace procpool
