// as_completed and wait over futures, after CPython's concurrent.futures: a waiter registered
// as a done-callback on every future is woken by whichever finishes first. The waiter is a
// CompletionQueue, so both stand on the same mechanism an event loop polls, and both remove
// their callbacks from every future when they return, time out or are abandoned (as CPython
// does in a `finally`).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <procpool/completion_queue.h>
#include <procpool/future.h>

namespace procpool {

// Yields futures as they complete: those already done first (in the order given), then in
// finishing order. Duplicates are yielded once.
class AsCompleted {
 public:
  AsCompleted(std::vector<Future> futures, std::optional<Duration> timeout = std::nullopt);
  // The next completed future, or nullopt when every one has been yielded. Throws TimeoutError
  // naming how many are unfinished once the timeout (counted from construction) has passed.
  std::optional<Future> next();
  size_t remaining() const { return total_ - yielded_; }

  // Range-for support: `for (const Future& f : as_completed(fs)) ...`.
  class iterator {
   public:
    explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
    const Future& operator*() const { return *current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator!=(std::nullptr_t) const { return current_.has_value(); }

   private:
    void advance() { current_ = owner_->next(); }
    AsCompleted* owner_;             // the sequence being walked
    std::optional<Future> current_;  // the future last yielded, or none at the end
  };
  iterator begin() { return iterator(this); }
  std::nullptr_t end() { return nullptr; }

  // Leaving early (a break, a timeout, an exception) removes the callbacks from every future.

 private:
  CompletionQueue queue_;                      // collects futures as they finish
  std::optional<Clock::time_point> deadline_;  // when next() stops waiting
  size_t total_ = 0;                           // distinct futures given
  size_t yielded_ = 0;                         // how many next() has returned
};

inline AsCompleted as_completed(std::vector<Future> futures,
                                std::optional<Duration> timeout = std::nullopt) {
  return AsCompleted(std::move(futures), timeout);
}

enum class ReturnWhen { kFirstCompleted, kFirstFailure, kAllCompleted };

struct DoneAndNotDone {
  std::vector<Future> done;      // in the order given
  std::vector<Future> not_done;  // in the order given
};

// Waits until `when` holds or `timeout` passes (no exception on timeout, as in CPython).
// kFirstFailure returns when any future ends with a status other than ok (or all are done).
DoneAndNotDone wait(const std::vector<Future>& futures, ReturnWhen when = ReturnWhen::kAllCompleted,
                    std::optional<Duration> timeout = std::nullopt);

}  // namespace procpool
