// A job's future, after CPython's concurrent.futures.Future: PENDING -> RUNNING -> FINISHED, or
// PENDING -> CANCELLED. Thread-safe; copies share one state.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include "common/job.h"

namespace procpool {

using Duration = std::chrono::duration<double>;

// When a wait of `timeout` from now ends: nullopt (never) without one, and for one too long to
// count in the clock's ticks (infinity, seconds::max(), 1e10 s): that is what such a timeout
// means. A negative timeout has already passed.
std::optional<Clock::time_point> deadline_after(std::optional<Duration> timeout);

// Raised when a wait runs out of time; the message says what was still unfinished.
struct TimeoutError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Future {
 public:
  enum class State { kPending, kRunning, kFinished, kCancelled };
  using Callback = std::function<void(const Future&)>;
  // Names a callback for remove_done_callback; 0 names none.
  using CallbackId = uint64_t;

  explicit Future(Job job);

  const Job& job() const;
  State state() const;
  bool cancelled() const { return state() == State::kCancelled; }
  bool running() const { return state() == State::kRunning; }
  bool done() const;  // finished or cancelled

  // Succeeds (and runs the callbacks) only while pending; true if the future is now cancelled.
  bool cancel();
  // The result, waiting up to `timeout` (forever when none). A cancelled future's result has
  // status `cancelled`: a job that never ran is data, not an exception. Throws TimeoutError.
  const Result& result(std::optional<Duration> timeout = std::nullopt) const;
  // Runs `fn(*this)` once done: at once, in this thread, when already done; otherwise in the
  // thread that completes the future. Exceptions from `fn` are logged, never propagated.
  // Returns the id remove_done_callback takes (0 when `fn` already ran).
  CallbackId add_done_callback(Callback fn) const;
  // Removes a callback that has not run yet (asyncio's remove_done_callback): true when removed.
  // A waiter that gives up (a timeout, an abandoned as_completed) removes itself this way, so
  // abandoned waits on a long-running future cost nothing.
  bool remove_done_callback(CallbackId id) const;
  // Callbacks waiting for the future to be done.
  size_t callback_count() const;

  // Producer side, used by the pool. False when the future was cancelled (then skip the job).
  bool set_running_or_notify_cancel();
  // Completes the future exactly once; a second call is a broken invariant and throws.
  void set_result(Result r);

  bool operator==(const Future& other) const { return s_ == other.s_; }
  // Identity for hashing and sets.
  const void* key() const { return s_.get(); }

 private:
  struct SharedState;
  std::shared_ptr<SharedState> s_;
};

}  // namespace procpool
