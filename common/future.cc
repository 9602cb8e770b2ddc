#include <procpool/future.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "common/log.h"

namespace procpool {

struct Future::SharedState {
  explicit SharedState(Job j) : job(std::move(j)) {}
  const Job job;                  // immutable after construction: readable without the lock
  mutable std::mutex mu;          // guards everything below
  std::condition_variable cv;     // notified when the future becomes done
  State state = State::kPending;  // see the state diagram in the header
  std::optional<Result> result;   // set once, when finished or cancelled
  std::vector<std::pair<CallbackId, Callback>> callbacks;  // run once, when done
  CallbackId last_id = 0;                                  // the id given to the latest one
};

namespace {

void run_callbacks(std::vector<std::pair<Future::CallbackId, Future::Callback>>& callbacks,
                   const Future& f) {
  for (auto& [id, fn] : callbacks) {
    try {
      fn(f);
    } catch (const std::exception& e) {
      log::error("done-callback for job '{}' raised: {}", f.job().name, e.what());
    } catch (...) {
      log::error("done-callback for job '{}' raised a non-standard exception", f.job().name);
    }
  }
}

}  // namespace

Future::Future(Job job) : s_(std::make_shared<SharedState>(std::move(job))) {}

const Job& Future::job() const {
  return s_->job;
}

Future::State Future::state() const {
  std::lock_guard lock(s_->mu);
  return s_->state;
}

bool Future::done() const {
  State st = state();
  return st == State::kFinished || st == State::kCancelled;
}

std::optional<Clock::time_point> deadline_after(std::optional<Duration> timeout) {
  if (!timeout) return std::nullopt;
  double seconds = timeout->count();
  // About 31 years: far inside the clock's range (292 years of nanoseconds), far beyond any
  // wait a person means. NaN fails the comparison too: no deadline.
  if (!(seconds < 1e9)) return std::nullopt;
  seconds = std::max(seconds, 0.0);
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(Duration(seconds));
}

bool Future::cancel() {
  std::vector<std::pair<CallbackId, Callback>> callbacks;
  {
    std::lock_guard lock(s_->mu);
    if (s_->state == State::kCancelled) return true;
    if (s_->state != State::kPending) return false;
    s_->state = State::kCancelled;
    Result r;
    r.status = Status::kCancelled;
    s_->result = std::move(r);
    callbacks.swap(s_->callbacks);
  }
  s_->cv.notify_all();
  run_callbacks(callbacks, *this);
  return true;
}

const Result& Future::result(std::optional<Duration> timeout) const& {
  std::optional<Clock::time_point> deadline = deadline_after(timeout);
  std::unique_lock lock(s_->mu);
  auto is_done = [&] { return s_->result.has_value(); };
  if (!deadline) {
    s_->cv.wait(lock, is_done);
  } else if (!s_->cv.wait_until(lock, *deadline, is_done)) {
    throw TimeoutError(
        fmt::format("job '{}' did not finish within {:g}s", s_->job.name, timeout->count()));
  }
  return *s_->result;  // never reassigned once set, so the reference stays valid
}

// A temporary future may hold the last reference to the state: the caller gets a copy (the
// state may be shared with the pool or other copies, so nothing is moved out of it).
Result Future::result(std::optional<Duration> timeout) && {
  return static_cast<const Future&>(*this).result(timeout);
}

Result Future::result(std::optional<Duration> timeout) const&& {
  return static_cast<const Future&>(*this).result(timeout);
}

const Result& Future::value_or_throw(std::optional<Duration> timeout) const& {
  const Result& r = result(timeout);
  if (!r.ok()) throw JobError(s_->job, r);
  return r;
}

Result Future::value_or_throw(std::optional<Duration> timeout) && {
  return static_cast<const Future&>(*this).value_or_throw(timeout);
}

Result Future::value_or_throw(std::optional<Duration> timeout) const&& {
  return static_cast<const Future&>(*this).value_or_throw(timeout);
}

std::exception_ptr Future::exception(std::optional<Duration> timeout) const {
  const Result& r = result(timeout);
  if (r.ok()) return nullptr;
  return std::make_exception_ptr(JobError(s_->job, r));
}

Future::CallbackId Future::add_done_callback(Callback fn) const {
  {
    std::lock_guard lock(s_->mu);
    if (!s_->result) {
      CallbackId id = ++s_->last_id;
      s_->callbacks.emplace_back(id, std::move(fn));
      return id;
    }
  }
  std::vector<std::pair<CallbackId, Callback>> one;
  one.emplace_back(0, std::move(fn));
  run_callbacks(one, *this);
  return 0;
}

bool Future::remove_done_callback(CallbackId id) const {
  if (id == 0) return false;
  std::lock_guard lock(s_->mu);
  auto& cbs = s_->callbacks;
  auto it = std::find_if(cbs.begin(), cbs.end(), [&](const auto& c) { return c.first == id; });
  if (it == cbs.end()) return false;
  cbs.erase(it);
  return true;
}

size_t Future::callback_count() const {
  std::lock_guard lock(s_->mu);
  return s_->callbacks.size();
}

bool Future::set_running_or_notify_cancel() {
  std::lock_guard lock(s_->mu);
  if (s_->state == State::kCancelled) return false;
  if (s_->state != State::kPending) {
    throw std::logic_error("set_running_or_notify_cancel on a future that is not pending");
  }
  s_->state = State::kRunning;
  return true;
}

void Future::set_result(Result r) {
  std::vector<std::pair<CallbackId, Callback>> callbacks;
  {
    std::lock_guard lock(s_->mu);
    if (s_->result) throw std::logic_error("set_result on a future that is already done");
    s_->state = State::kFinished;
    s_->result = std::move(r);
    callbacks.swap(s_->callbacks);
  }
  s_->cv.notify_all();
  run_callbacks(callbacks, *this);
}

}  // namespace procpool
