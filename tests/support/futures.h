// Futures made and completed by hand, for unit tests of what consumes them (as_completed, wait,
// CompletionQueue) without a pool. Header-only.
#pragma once

#include <string>

#include <procpool/future.h>

namespace procpool::testing {

// A pending future for a job called `name`.
inline Future make_future(const std::string& name) {
  Job job;
  job.name = name;
  job.shell = "true";
  return Future(std::move(job));
}

inline Result result_with(Status status) {
  Result r;
  r.status = status;
  r.exit_code = status == Status::kOk ? 0 : 1;
  return r;
}

// Runs and finishes `f` with `status`, as a worker's result would.
inline void finish(Future f, Status status = Status::kOk) {
  f.set_running_or_notify_cancel();
  f.set_result(result_with(status));
}

}  // namespace procpool::testing
