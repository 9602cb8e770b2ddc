// The pool's manager: the one thread that owns every worker, every pipe and every job in flight,
// and runs one poll loop over them. Internal to the pool (pool.h is the interface).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <procpool/pool.h>
#include "common/fd.h"
#include "common/frame.h"
#include "common/messages.h"
#include "common/run_time_median.h"
#include "common/worker_process.h"

namespace procpool {

// What the pool's callers and its manager share.
struct PoolShared {
  explicit PoolShared(PoolOptions o);
  // Wakes the manager's poll (an eventfd). Cheap when a wake-up is already pending.
  void wake();

  const PoolOptions options;              // as given, with workers and slots resolved
  Fd wake_fd;                             // readable while the manager has something new to look at
  std::atomic<bool> wake_pending{false};  // a wake-up is already on its way

  mutable std::mutex mu;              // guards the fields below
  std::vector<Future> incoming;       // submitted, not yet taken by the manager
  std::vector<Future> to_stop;        // ProcessPool::stop requests, not yet taken by the manager
  bool shutdown = false;              // no more submissions
  bool cancel_pending = false;        // cancel what has not started
  bool terminate = false;             // stop running jobs too
  bool kill_now = false;              // ... with SIGKILL, without grace
  Halt halted = Halt::kNo;            // what halt_when decided
  std::optional<std::string> broken;  // why no worker can run, once known
  // The jobs running now (ProcessPool::running), by the worker that runs each, in start order.
  std::vector<std::pair<const void*, RunningJob>> running;
  uint64_t next_id = 1;  // for jobs submitted without an id
};

class PoolManager {
 public:
  explicit PoolManager(PoolShared& shared);
  ~PoolManager();
  // The loop. Returns once the pool is shut down, every job is done and every worker is gone.
  void run();
  // Last resort after an exception escaped the loop: ends every worker and completes every
  // future (an error saying `why`), so nothing waits forever. Never throws.
  void abandon(const std::string& why) noexcept;

 private:
  struct Entry;    // a job waiting or running, with its attempts
  struct Worker;   // one worker process and what the loop knows of it
  struct Exiting;  // a worker on its way out, until it is reaped

  // The loop's steps, in order.
  void admit_incoming();     // submissions, shutdown, terminate and halt requests
  void grow_workers();       // start workers as the pending work needs them
  void dispatch();           // hand pending jobs to idle workers, and ahead to busy ones
  void flush_writes();       // write what is queued for workers
  void close_if_finished();  // once shut down and idle: close the workers' stdins
  bool done() const;         // closed, and every worker reaped
  int poll_timeout() const;  // until the earliest deadline
  void poll_events();        // wait, then read and write what is ready
  void enforce_deadlines();  // hellos, acknowledgements, backstops, closing workers
  void reap_exiting();       // workers on their way out, and what is left of their jobs
  // Sends `w` the first pending job that can be sent: as its job, or `ahead` of the one it
  // runs. False when none was (nothing pending, or a halt that one of them caused).
  bool send_next(Worker& w, bool ahead, Clock::time_point now);
  // Makes `e` worker `w`'s job, sent at `now`: its deadlines and per-job state start afresh.
  void begin_current(Worker& w, Entry e, Clock::time_point now);
  // Sending jobs ahead (PoolOptions::send_ahead): whether `w` gets one now; below what recent
  // run time it pays; taking one back from `w`; and, for the idle worker `idle`, taking back
  // the one waiting longest behind a job that runs long.
  bool may_send_ahead(const Worker& w, Clock::time_point now) const;
  Millis ahead_below(const Worker& w) const;
  void recall_ahead(Worker& w);
  void recall_ahead_for(const Worker& idle, Clock::time_point now);
  // `w`'s job ended: the one sent ahead becomes its job.
  void promote_ahead(Worker& w);
  // A job sent ahead that never started: first in line again, or cancelled when the pool is
  // cancelling (or it was stopped).
  void place_returned(Entry e);
  // When worker `w`'s job passes PoolOptions::relative_timeout, as the median stands now.
  std::optional<Clock::time_point> median_deadline(const Worker& w) const;
  // Ends worker `w`'s job `job` itself if it runs past its timeout counted `from` its start, a
  // stop sequence and a grace (a stopped or stuck worker).
  void arm_timeout_backstop(Worker& w, const Job& job, Clock::time_point from);
  // Whether a worker on `host` waits for it to allow its job to start (--load, --memfree).
  bool holding_starts(const std::string& host) const;

  // Workers.
  bool start_worker();
  std::string describe(const Worker& w) const;
  void read_stderr(Worker& w);
  void read_frames(Worker& w);
  void handle_message(Worker& w, std::string_view body);
  void handle_output(Worker& w, const OutputPiece& piece);
  void finish_attempt(Worker& w, const struct Ended& end);
  // Lists or unlists the worker's job in ProcessPool::running (its process started, or ended).
  void set_running(Worker& w, bool running);
  // A worker could not get a process for its job: back to the front of the queue, or `error`
  // once no job anywhere has started for kJobsRefusedFor.
  void hand_back_refused(Worker& w, Entry e, const struct Ended& end, bool stopping);
  void make_room_for_jobs(Worker& w, Millis refusing);
  // Takes worker `index` out of the loop: `why` it went ("" when its exit status says it).
  void lose_worker(size_t index, const std::string& why);
  // What happens to a lost worker's slot and job, once it is reaped (or will never be).
  void settle_loss(Exiting& x);
  // Ends worker `index`'s job without the worker's help: kills the job's process group (when
  // local) and the worker, and reports the job with `status` and `why`.
  void end_job_ourselves(size_t index, Status status, const std::string& why);
  void kill_job_processes(Worker& w);
  int live_slots() const;

  // Jobs.
  void complete(Entry e, Result r);
  void retry(Entry e, const std::string& why);
  bool may_retry(const Entry& e, Status s) const;
  void cancel_waiting();
  void stop_running();
  // ProcessPool::stop: `f`, running, gets the stop sequence; waiting for a retry, it is cancelled.
  void stop_one(const Future& f);
  // Sends worker `w`'s job the stop sequence (or, with `now`, SIGKILL at once), with a backstop.
  void send_stop(Worker& w, bool now);
  // The same for the job sent ahead to `w` (dropped unstarted, or stopped if it started).
  void send_stop_ahead(Worker& w, bool now);
  // The backstop of a stop of `w`'s job (sent, or on its way as a kill of the job ahead).
  void arm_stop_backstop(Worker& w, bool now);
  void fail_everything(const std::string& why);
  void fail_waiting(const std::string& why);
  bool work_left() const;

  PoolShared& shared_;
  const PoolOptions& options_;
  // Per slot of options_.slots: a slot whose worker cannot start twice in a row (remote: its
  // host is down or unreachable) or five times (local) is lost; the batch goes on without it.
  struct SlotState {
    bool lost = false;
    int failed_starts = 0;  // in a row
  };
  std::vector<SlotState> slots_;
  std::vector<std::unique_ptr<Worker>> workers_;     // live workers
  std::vector<std::unique_ptr<Exiting>> exiting_;    // lost or retired, not yet reaped
  std::deque<Entry> pending_;                        // waiting for an idle worker
  std::multimap<Clock::time_point, Entry> delayed_;  // retries waiting out --retry-delay
  RunTimeMedian succeeded_;  // run times of the jobs that succeeded, for relative_timeout
  const Ahead ahead_kind_;   // how jobs are sent ahead (kNo: they are not)
  std::optional<double> recent_run_s_;  // recent jobs' run time (a moving average), seconds
  // Copied from shared_ under its lock, or set by a halt.
  bool shutting_down_ = false;
  bool cancel_pending_ = false;
  bool terminating_ = false;
  bool halted_now_ = false;  // halt_when said kNow: what is stopped now was stopped by the halt
  bool kill_now_ = false;
  bool closing_ = false;            // workers' stdins closed for the final shutdown
  bool broken_ = false;             // fail_everything was called: no worker will start
  bool ever_hello_ = false;         // some worker has started properly
  std::string last_start_failure_;  // why the last of them died
  Clock::time_point last_start_{};  // when the last job was dispatched
  // Descriptors: workers that fit under the descriptor limit (RLIMIT_NOFILE), and whether the
  // user was told that -j is more than that.
  size_t fd_capacity_ = 0;
  bool told_fd_capacity_ = false;
  // Processes: a worker refused by the process limit is started again after a pause.
  std::optional<Clock::time_point> spawn_retry_at_;
  Millis spawn_pause_{0};
  std::optional<Clock::time_point> no_worker_since_;  // refused with no worker running at all
  bool told_spawn_refused_ = false;
  std::set<std::string> gate_unknown_told_;  // hosts that cannot judge --load/--memfree, told
  // Jobs the process limit kept from starting: since when no job of any worker has started
  // while some were refused. Judged for the whole pool, since the limit is shared by all.
  std::optional<Clock::time_point> jobs_refused_since_;
  // Workers whose jobs fit under the process limit, once the workers themselves were found to
  // take all the room (every worker idle, every job refused): the pool shrinks to it.
  size_t proc_capacity_ = SIZE_MAX;
  bool told_proc_capacity_ = false;
  Clock::time_point last_refused_at_{};  // the latest refusal
  Clock::time_point last_shrink_{};      // when a worker last left to make room
};

}  // namespace procpool
