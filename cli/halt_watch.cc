#include "cli/halt_watch.h"

namespace procpool {

Halt HaltWatch::on_result(const Future& f) {
  Status s = f.result().status;
  if (s == Status::kOk) ++ok_;
  if (s == Status::kFailed || s == Status::kTimeout || s == Status::kCrashed ||
      s == Status::kError) {
    ++failed_;
  }
  uint64_t batch = total_.value_or(read_.load(std::memory_order_relaxed));
  if (!policy_.triggered(failed_, ok_, batch)) return Halt::kNo;
  on_success_ = policy_.count == HaltPolicy::Count::kSuccess;
  return policy_.when == HaltPolicy::When::kNow ? Halt::kNow : Halt::kSoon;
}

}  // namespace procpool
