#include "cli/halt_watch.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace procpool {

HaltWatch::HaltWatch(HaltPolicy policy, std::optional<uint64_t> total)
    : policy_(policy), total_(total), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_) throw_errno("eventfd (the halt's wake-up)");
}

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
  Halt halt = policy_.when == HaltPolicy::When::kNow ? Halt::kNow : Halt::kSoon;
  decided_ = halt;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);  // cannot fail short of a full counter
  return halt;
}

}  // namespace procpool
