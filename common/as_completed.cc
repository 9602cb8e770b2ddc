#include "common/as_completed.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

namespace procpool {

// Receives every future that finishes after it was installed, in finishing order.
struct AsCompleted::Waiter {
  std::mutex mu;                // guards `finished`
  std::condition_variable cv;   // notified on every arrival
  std::deque<Future> finished;  // done but not yet yielded
};

namespace {

std::vector<Future> distinct(std::vector<Future> futures) {
  std::unordered_set<const void*> seen;
  std::vector<Future> out;
  out.reserve(futures.size());
  for (auto& f : futures) {
    if (seen.insert(f.key()).second) out.push_back(std::move(f));
  }
  return out;
}

std::optional<Clock::time_point> deadline_after(std::optional<Duration> timeout) {
  if (!timeout) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

}  // namespace

AsCompleted::AsCompleted(std::vector<Future> futures, std::optional<Duration> timeout)
    : waiter_(std::make_shared<Waiter>()), deadline_(deadline_after(timeout)) {
  futures = distinct(std::move(futures));
  total_ = futures.size();
  // Already-done futures go first, in the order given; the rest arrive through the waiter.
  std::vector<Future> pending;
  for (auto& f : futures) {
    if (f.done()) {
      waiter_->finished.push_back(f);
    } else {
      pending.push_back(f);
    }
  }
  for (auto& f : pending) {
    f.add_done_callback([w = waiter_](const Future& done) {
      {
        std::lock_guard lock(w->mu);
        w->finished.push_back(done);
      }
      w->cv.notify_one();
    });
  }
}

std::optional<Future> AsCompleted::next() {
  if (yielded_ == total_) return std::nullopt;
  std::unique_lock lock(waiter_->mu);
  auto ready = [&] { return !waiter_->finished.empty(); };
  if (!deadline_) {
    waiter_->cv.wait(lock, ready);
  } else if (!waiter_->cv.wait_until(lock, *deadline_, ready)) {
    throw TimeoutError(fmt::format("{} (of {}) futures unfinished", total_ - yielded_, total_));
  }
  Future f = std::move(waiter_->finished.front());
  waiter_->finished.pop_front();
  ++yielded_;
  return f;
}

namespace {

bool failed(const Future& f) {
  return f.cancelled() || !f.result().ok();
}

}  // namespace

DoneAndNotDone wait(const std::vector<Future>& futures, ReturnWhen when,
                    std::optional<Duration> timeout) {
  AsCompleted completed(futures, timeout);
  std::unordered_set<const void*> done;
  for (;;) {
    if (completed.remaining() == 0) break;
    std::optional<Future> f;
    try {
      f = completed.next();
    } catch (const TimeoutError&) {
      break;
    }
    done.insert(f->key());
    if (when == ReturnWhen::kFirstCompleted) break;
    if (when == ReturnWhen::kFirstFailure && failed(*f)) break;
  }
  // Report a consistent snapshot: anything that finished meanwhile counts as done too.
  DoneAndNotDone out;
  for (const auto& f : futures) {
    (done.count(f.key()) || f.done() ? out.done : out.not_done).push_back(f);
  }
  return out;
}

}  // namespace procpool
