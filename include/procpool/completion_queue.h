// Futures in the order they complete, for an event loop: a done-callback on each future added
// pushes it into the queue and makes fd() readable. The C++ side of asyncio's queue-based
// as_completed and of run_in_executor: poll fd() with anything (poll, epoll, Boost.Asio, libuv,
// glib), then take what is ready with try_pop(); or block in pop().
//
//   CompletionQueue done;
//   for (auto& job : jobs) done.add(pool.submit(job));
//   pollfd p{done.fd(), POLLIN, 0};
//   while (done.pending() + done.size() > 0) {
//     poll(&p, 1, -1);                        // ... with the program's other descriptors
//     while (auto f = done.try_pop()) use(f->result());
//   }
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <procpool/future.h>

namespace procpool {

class CompletionQueue {
 public:
  // Throws std::system_error when no eventfd can be made (no descriptors left).
  CompletionQueue();
  // Removes its done-callbacks from the futures that have not completed: a queue given up
  // leaves nothing behind on them.
  ~CompletionQueue();
  CompletionQueue(CompletionQueue&&) noexcept = default;
  CompletionQueue& operator=(CompletionQueue&&) noexcept = default;
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // Queues `f` when it completes: at once, in this thread, when it already has. Each add yields
  // the future once (add it twice, get it twice).
  void add(const Future& f);
  // Readable (POLLIN) while a completed future waits in the queue; level-triggered, so it stays
  // readable until the queue is empty. Only poll it: reading or writing it is the queue's job.
  int fd() const;
  // The earliest completed future not yet taken, or nullopt when none has completed.
  std::optional<Future> try_pop();
  // The same, waiting up to `timeout` (forever when none); nullopt when it passed.
  std::optional<Future> pop(std::optional<Duration> timeout = std::nullopt);
  // Waiting until the time point `deadline` (forever when none).
  std::optional<Future> pop_until(std::optional<Clock::time_point> deadline);
  size_t size() const;     // completed, not yet taken
  size_t pending() const;  // added, not yet completed

  struct State;  // shared with the done-callbacks; defined in the .cc

 private:
  std::shared_ptr<State> state_;
};

}  // namespace procpool
