#include <procpool/as_completed.h>

#include <unordered_set>

#include <fmt/format.h>

namespace procpool {

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

}  // namespace

AsCompleted::AsCompleted(std::vector<Future> futures, std::optional<Duration> timeout)
    : deadline_(deadline_after(timeout)) {
  futures = distinct(std::move(futures));
  total_ = futures.size();
  // Already-done futures go first, in the order given; the rest arrive as they finish.
  std::vector<bool> added(futures.size(), false);
  for (size_t i = 0; i < futures.size(); ++i) {
    if (futures[i].done()) {
      queue_.add(futures[i]);
      added[i] = true;
    }
  }
  for (size_t i = 0; i < futures.size(); ++i) {
    if (!added[i]) queue_.add(futures[i]);
  }
}

std::optional<Future> AsCompleted::next() {
  if (yielded_ == total_) return std::nullopt;
  std::optional<Future> f = queue_.pop_until(deadline_);
  if (!f) {
    throw TimeoutError(fmt::format("{} (of {}) futures unfinished", total_ - yielded_, total_));
  }
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
