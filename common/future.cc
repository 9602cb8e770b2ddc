#include "common/future.h"

#include <condition_variable>
#include <mutex>
#include <vector>

#include "common/log.h"

namespace procpool {

struct Future::SharedState {
  explicit SharedState(Job j) : job(std::move(j)) {}
  const Job job;                    // immutable after construction: readable without the lock
  mutable std::mutex mu;            // guards everything below
  std::condition_variable cv;       // notified when the future becomes done
  State state = State::kPending;    // see the state diagram in the header
  std::optional<Result> result;     // set once, when finished or cancelled
  std::vector<Callback> callbacks;  // run once, when done
};

namespace {

void run_callbacks(std::vector<Future::Callback>& callbacks, const Future& f) {
  for (auto& fn : callbacks) {
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

bool Future::cancel() {
  std::vector<Callback> callbacks;
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

const Result& Future::result(std::optional<Duration> timeout) const {
  std::unique_lock lock(s_->mu);
  auto is_done = [&] { return s_->result.has_value(); };
  if (!timeout) {
    s_->cv.wait(lock, is_done);
  } else if (!s_->cv.wait_for(lock, *timeout, is_done)) {
    throw TimeoutError(
        fmt::format("job '{}' did not finish within {:g}s", s_->job.name, timeout->count()));
  }
  return *s_->result;  // never reassigned once set, so the reference stays valid
}

void Future::add_done_callback(Callback fn) const {
  {
    std::lock_guard lock(s_->mu);
    if (!s_->result) {
      s_->callbacks.push_back(std::move(fn));
      return;
    }
  }
  std::vector<Callback> one{std::move(fn)};
  run_callbacks(one, *this);
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
  std::vector<Callback> callbacks;
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
