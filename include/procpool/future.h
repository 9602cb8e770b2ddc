// A job's future, after CPython's concurrent.futures.Future: PENDING -> RUNNING -> FINISHED, or
// PENDING -> CANCELLED. Thread-safe; copies share one state.
//
// Lifetimes: the Result a future holds lives as long as any copy of that future. result() on a
// future you keep (an lvalue) returns a reference into it, valid while the future (or a copy)
// lives; result() on a temporary future returns the Result by value, so
//   const Result& r = pool.submit(job).result();
// binds a copy that lives as long as `r`. A Result is cheap to copy (its output's bytes are
// shared) and every copy stays valid on its own: after the future, the pool and its workers are
// gone, and read from any thread. Only a reference taken through an lvalue that dies first
// dangles (`const Result& r = queue.pop()->result();`: `->` makes the temporary an lvalue):
// there, keep the future, or the Result by value (`Result r = ...`).
//
// Timeouts: any size waits. A timeout too long for the clock (infinity, seconds::max(), 1e10 s)
// is no timeout; zero or negative asks without waiting; NaN is no timeout.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include <procpool/job.h>

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
  // status `cancelled`: a job that never ran is data, not an exception; so is any failure.
  // Throws TimeoutError. By reference from a kept future, by value from a temporary (above).
  const Result& result(std::optional<Duration> timeout = std::nullopt) const&;
  Result result(std::optional<Duration> timeout = std::nullopt) &&;
  Result result(std::optional<Duration> timeout = std::nullopt) const&&;
  // As result(), but a result that is not `ok` (failed, timeout, crashed, cancelled, skipped,
  // error) is thrown as a JobError carrying a copy of it and the job's name, so code that needs
  // every job to succeed reads the results without checking each status.
  const Result& value_or_throw(std::optional<Duration> timeout = std::nullopt) const&;
  Result value_or_throw(std::optional<Duration> timeout = std::nullopt) &&;
  Result value_or_throw(std::optional<Duration> timeout = std::nullopt) const&&;
  // CPython's exception(): waits as result() does, then nullptr for an `ok` result, else the
  // JobError value_or_throw() would throw (for std::rethrow_exception). Throws TimeoutError.
  std::exception_ptr exception(std::optional<Duration> timeout = std::nullopt) const;
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
