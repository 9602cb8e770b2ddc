#include <procpool/pool.h>

#include <signal.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "common/log.h"
#include "common/pool_manager.h"
#include "common/worker_command.h"

namespace procpool {

namespace {

PoolOptions resolved(PoolOptions options) {
  refuse_pool_in_a_worker();  // else a worker command without the worker hook recurses
  if (options.workers <= 0) options.workers = available_cpus();
  if (options.worker_command.empty() && options.slots.empty()) {
    options.worker_command = default_worker_command();
  }
  if (options.slots.empty()) {
    options.slots.assign(static_cast<size_t>(options.workers),
                         WorkerSlot{options.worker_command, "", false});
  }
  options.workers = static_cast<int>(options.slots.size());
  return options;
}

// Every asynchronous signal blocked while the manager thread is created, so it inherits that
// mask: a signal meant for the program is never taken by the pool's thread (where a default
// action would kill the program mid-write), and a write to a worker that died is an EPIPE the
// loop handles, not a SIGPIPE (blocked in that thread only: the program's own disposition of
// SIGPIPE is left as it is).
class BlockSignalsForNewThreads {
 public:
  BlockSignalsForNewThreads() {
    sigset_t all;
    sigfillset(&all);
    for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&all, sync);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~BlockSignalsForNewThreads() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

}  // namespace

ProcessPool::ProcessPool(PoolOptions options)
    : shared_(std::make_shared<PoolShared>(resolved(std::move(options)))),
      manager_(std::make_shared<PoolManager>(*shared_)) {
  BlockSignalsForNewThreads blocked;
  // The thread holds what it uses, never the pool itself: the pool may be destroyed on this
  // very thread (by a callback), and the loop then runs on to its end without it.
  thread_ = std::thread([shared = shared_, manager = manager_]() mutable {
    try {
      manager->run();
    } catch (const std::exception& e) {
      // Nothing may wait forever for a future that can no longer finish.
      manager->abandon(std::string("the process pool's manager failed: ") + e.what());
    } catch (...) {
      manager->abandon("the process pool's manager failed");
    }
    manager.reset();  // before `shared`, which it refers to
  });
  thread_id_ = thread_.get_id();
}

ProcessPool::~ProcessPool() {
  if (on_own_thread()) {
    // Released by a callback: the loop cannot wait for itself. It finishes what was submitted
    // and ends on its own, holding the manager and the shared state until then.
    shutdown(/*wait=*/false);
    thread_.detach();
    return;
  }
  shutdown(true);
}

bool ProcessPool::on_own_thread() const {
  return std::this_thread::get_id() == thread_id_;
}

int ProcessPool::workers() const {
  return shared_->options.workers;
}

namespace {

// The pool runs what it is given as soon as a worker is free: it does not order jobs.
void refuse_needs(const Job& job) {
  if (job.needs.empty()) return;
  std::string needs;
  for (const auto& n : job.needs) needs += (needs.empty() ? "'" : ", '") + n + "'";
  throw std::invalid_argument(
      "job '" + (job.name.empty() ? job.command_text() : job.name) + "' needs " + needs +
      ", but the pool does not order jobs: submit a job once what it needs has succeeded (for "
      "example from a done-callback of what it needs), with needs left empty");
}

}  // namespace

Future ProcessPool::submit(Job job) {
  refuse_needs(job);
  std::optional<Future> f;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->shutdown) {
      throw std::runtime_error(shared_->broken ? "cannot submit: " + *shared_->broken
                               : shared_->halted != Halt::kNo
                                   ? std::string("cannot submit after a halt")
                                   : std::string("cannot submit after shutdown"));
    }
    if (job.id == 0) job.id = shared_->next_id;
    shared_->next_id = std::max(shared_->next_id, job.id + 1);
    if (job.name.empty()) job.name = job.command_text();
    f.emplace(std::move(job));
    shared_->incoming.push_back(*f);
  }
  shared_->wake();
  return *f;
}

ProcessPool::MapResults ProcessPool::map(std::vector<Job> jobs, std::optional<Duration> timeout) {
  for (const auto& j : jobs) refuse_needs(j);  // all or none
  std::vector<Future> futures;
  futures.reserve(jobs.size());
  for (auto& j : jobs) futures.push_back(submit(std::move(j)));
  return MapResults(std::move(futures), timeout);
}

void ProcessPool::shutdown(bool wait, bool cancel_pending) {
  {
    std::lock_guard lock(shared_->mu);
    shared_->shutdown = true;
    shared_->cancel_pending = shared_->cancel_pending || cancel_pending;
  }
  shared_->wake();
  // From a callback, on the pool's own thread, there is nothing to wait with: it returns.
  if (!wait || on_own_thread()) return;
  std::lock_guard lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void ProcessPool::terminate(bool kill_now) {
  {
    std::lock_guard lock(shared_->mu);
    shared_->shutdown = true;
    shared_->terminate = true;
    shared_->kill_now = shared_->kill_now || kill_now;
  }
  shared_->wake();
}

bool ProcessPool::stop(const Future& job) {
  // Pending: cancelled here and now, as Future::cancel; the loop skips it when its turn comes.
  if (job.state() == Future::State::kPending && Future(job).cancel()) return true;
  if (job.done()) return false;
  {
    std::lock_guard lock(shared_->mu);
    shared_->to_stop.push_back(job);
  }
  shared_->wake();
  return true;
}

std::optional<std::string> ProcessPool::broken() const {
  std::lock_guard lock(shared_->mu);
  return shared_->broken;
}

Halt ProcessPool::halted() const {
  std::lock_guard lock(shared_->mu);
  return shared_->halted;
}

std::vector<RunningJob> ProcessPool::running() const {
  std::lock_guard lock(shared_->mu);
  std::vector<RunningJob> jobs;
  jobs.reserve(shared_->running.size());
  for (const auto& [worker, job] : shared_->running) jobs.push_back(job);
  return jobs;
}

ProcessPool::MapResults::MapResults(std::vector<Future> futures, std::optional<Duration> timeout)
    : futures_(std::move(futures)), deadline_(deadline_after(timeout)) {}

ProcessPool::MapResults::~MapResults() {
  cancel_from(next_);
}

ProcessPool::MapResults& ProcessPool::MapResults::operator=(MapResults&& other) noexcept {
  if (this != &other) {
    cancel_from(next_);  // what this held is dropped
    futures_ = std::exchange(other.futures_, {});
    next_ = std::exchange(other.next_, 0);
    deadline_ = other.deadline_;
  }
  return *this;
}

void ProcessPool::MapResults::cancel_from(size_t first) {
  // Cancelling succeeds only for what has not started; the rest runs on.
  for (size_t i = first; i < futures_.size(); ++i) futures_[i].cancel();
}

std::optional<Result> ProcessPool::MapResults::next() {
  if (next_ >= futures_.size()) return std::nullopt;
  std::optional<Duration> left;
  if (deadline_) left = std::max(Duration(0), Duration(*deadline_ - Clock::now()));
  size_t i = next_++;
  try {
    return futures_[i].result(left);  // a copy of the caller's own
  } catch (const TimeoutError&) {
    cancel_from(i);  // as Python's map: what has not started by the timeout never will
    throw;
  }
}

}  // namespace procpool
