#include <procpool/completion_queue.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "common/fd.h"

namespace procpool {

struct CompletionQueue::State {
  std::mutex mu;               // guards everything below
  std::condition_variable cv;  // notified on every arrival
  std::deque<Future> ready;    // completed, not yet taken
  // Added and not yet completed, by the token of the add: what the destructor must remove.
  std::unordered_map<uint64_t, std::pair<Future, Future::CallbackId>> waiting;
  uint64_t last_token = 0;
  Fd event;  // eventfd: readable exactly while `ready` is not empty

  // Called with `mu` held.
  void push(const Future& f) {
    if (ready.empty() && event) {
      uint64_t one = 1;
      while (::write(event.get(), &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
    ready.push_back(f);
  }
  std::optional<Future> take() {
    if (ready.empty()) return std::nullopt;
    Future f = std::move(ready.front());
    ready.pop_front();
    if (ready.empty() && event) {
      uint64_t count;
      while (::read(event.get(), &count, sizeof count) < 0 && errno == EINTR) {
      }
    }
    return f;
  }
};

CompletionQueue::CompletionQueue() : state_(std::make_shared<State>()) {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw_errno("eventfd (completion queue)");
  state_->event.reset(move_above_stdio(fd));
}

CompletionQueue::~CompletionQueue() {
  if (!state_) return;  // moved from
  std::unordered_map<uint64_t, std::pair<Future, Future::CallbackId>> waiting;
  {
    std::lock_guard lock(state_->mu);
    waiting.swap(state_->waiting);
  }
  // Outside our lock: removal takes each future's. A callback that is running right now holds
  // the state alive through its own pointer and finds nothing to do.
  for (auto& [token, entry] : waiting) entry.first.remove_done_callback(entry.second);
}

void CompletionQueue::add(const Future& f) {
  uint64_t token;
  {
    std::lock_guard lock(state_->mu);
    token = ++state_->last_token;
    state_->waiting.emplace(token, std::make_pair(f, Future::CallbackId{0}));
  }
  std::weak_ptr<State> weak = state_;
  Future::CallbackId id = f.add_done_callback([weak, token](const Future& done) {
    std::shared_ptr<State> s = weak.lock();
    if (!s) return;  // the queue is gone: nobody is waiting any more
    {
      std::lock_guard lock(s->mu);
      s->waiting.erase(token);
      s->push(done);
    }
    s->cv.notify_one();
  });
  std::lock_guard lock(state_->mu);
  // Already done, the callback has run and erased its entry; else it keeps the id for removal.
  auto it = state_->waiting.find(token);
  if (it != state_->waiting.end()) it->second.second = id;
}

int CompletionQueue::fd() const {
  return state_->event.get();
}

std::optional<Future> CompletionQueue::try_pop() {
  std::lock_guard lock(state_->mu);
  return state_->take();
}

std::optional<Future> CompletionQueue::pop(std::optional<Duration> timeout) {
  return pop_until(deadline_after(timeout));
}

std::optional<Future> CompletionQueue::pop_until(std::optional<Clock::time_point> deadline) {
  std::unique_lock lock(state_->mu);
  auto ready = [&] { return !state_->ready.empty(); };
  if (!deadline) {
    state_->cv.wait(lock, ready);
  } else if (*deadline <= Clock::now()) {
    // A zero timeout (polling) asks without waiting: a timed wait already past its deadline
    // still costs a futex call and a timer, about 0.1 ms.
    if (!ready()) return std::nullopt;
  } else if (!state_->cv.wait_until(lock, *deadline, ready)) {
    return std::nullopt;
  }
  return state_->take();
}

size_t CompletionQueue::size() const {
  std::lock_guard lock(state_->mu);
  return state_->ready.size();
}

size_t CompletionQueue::pending() const {
  std::lock_guard lock(state_->mu);
  return state_->waiting.size();
}

}  // namespace procpool
