// ProcessPool: N long-lived workers, one pipe pair each, one manager thread that owns every
// descriptor and runs a single poll loop. After CPython's ProcessPoolExecutor, except that a
// worker that dies fails (or, with retries left, requeues) only the job it held, and is replaced;
// and that nothing a job or the machine does (no descriptors left, no processes left, a full
// disk, a stopped worker) costs more than the job that met it.
//
// Thread safety: a ProcessPool may be used from any number of threads at once (submit, map,
// stop, shutdown, terminate); it may be released from any thread, its own included (see
// ~ProcessPool). A Future and its copies may be waited on and read from any thread; a Result is
// a value: its copies are independent (their output's bytes are shared, immutable). A done
// callback runs on the thread that completes its future: the pool's own for a job that ran (with
// the asynchronous signals blocked there), the caller's for cancel(), stop() of a pending job,
// a dropped MapResults, or add_done_callback on a future already done; so callbacks of
// different futures may run at once. on_output and halt_when run on the pool's thread, one at a
// time. Keep all of them short and do not wait in them for other jobs.
// Linux only (eventfd, signalfd, /proc, PR_SET_CHILD_SUBREAPER, posix_spawn extensions).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <procpool/future.h>
#include <procpool/start_gate.h>
#include <procpool/this_machine.h>
#include <procpool/version.h>

namespace procpool {

// One place a worker runs, and how its worker is started there. A slot's worker that dies is
// replaced in the same slot, so `{%}` stays 1..N.
struct WorkerSlot {
  std::vector<std::string> command{};  // starts `procpool worker`: directly, through ssh or srun
  std::string host{};                  // as the user named it ("" for this machine), for messages
  // Its jobs' pids belong to another machine (or another process tree): never signal them here;
  // a remote worker that cannot be reached twice in a row is given up, and its slot with it.
  bool remote = false;
};

// A job whose process is running, as ProcessPool::running() lists it.
struct RunningJob {
  Future future;            // future.job() is the job
  Clock::time_point since;  // when its worker said it started it (this attempt)
};

// What the pool does after a job completes, as PoolOptions::halt_when decides.
enum class Halt {
  kNo,    // carry on
  kSoon,  // start nothing more: what has not started is cancelled (as shutdown(false, true))
  kNow,   // also stop the running jobs (as terminate())
};

// Whether a busy worker is sent its next job ahead (PoolOptions::send_ahead).
enum class SendAhead {
  kAuto,          // after any end without halt_when; never with it (it may halt on anything)
  kAfterAnyEnd,   // the worker starts it however the job before it ended
  kAfterSuccess,  // only after the job before it succeeded; else it is handed back (a halt_when
                  // that halts on failures: nothing starts on that worker after one)
  kNever,
};

struct PoolOptions {
  int workers = 0;  // 0: one per CPU this process may use
  // The program each worker runs, which speaks the frame protocol on its stdin and stdout:
  // `{"/path/to/procpool", "worker"}`, or your own program, when its main calls
  // procpool::worker_main() (procpool/worker_main.h) on the argument you give it here:
  // `{procpool::self_exe(), "procpool-worker"}`. Empty (with no `slots`): the procpool binary,
  // the first found of
  //   1. $PROCPOOL_WORKER (the path of a procpool binary),
  //   2. procpool in the bin directory of the prefix the library was installed to, if it is there,
  //   3. procpool in one of the directories of $PATH;
  // when there is none, the constructor throws std::runtime_error naming the three. A command
  // that does not answer as a procpool worker fails the jobs with an error saying what it printed;
  // a pool started inside such a command (a program without the worker hook, started as its own
  // worker) throws at once, so it never starts pools of itself without end.
  std::vector<std::string> worker_command{};
  // Where the workers run, one entry a slot; empty: `workers` slots here, each running
  // `worker_command`. When given, `workers` is its size.
  std::vector<WorkerSlot> slots{};
  int max_tasks_per_worker = 0;  // 0: unlimited; else replaced after that many
  std::vector<StopStep> stop = default_stop_sequence();  // stopping a job on timeout or kill
  size_t spill_bytes = Output::kDefaultSpillBytes;       // per-job output kept in memory
  // Which endings use up a retry (a job that could not start is never retried).
  std::vector<Status> retry_on = {Status::kFailed, Status::kTimeout, Status::kCrashed};
  Millis retry_delay{0};  // before the first retry; doubled for each one after
  Millis start_delay{0};  // at least this long between two job starts (--delay)
  // GNU parallel's --load and --memfree: a job starts only while the host its worker runs on
  // has a 1-minute load average below max_load and at least min_memory_available bytes of
  // available memory (MemAvailable in /proc/meminfo). Each worker reads its own host's /proc
  // before it starts a job; while they do not allow it, the job waits on that worker (its
  // timeout not yet counting; stop(), terminate() and a cancelling shutdown or halt withdraw
  // it, unstarted) and the worker looks again every half second. A host whose /proc cannot be
  // read does not hold jobs back (a warning says so). Running jobs are never stopped for memory
  // (GNU parallel's --memfree kills the youngest one below half of it): Limits::memory_bytes
  // and the kernel's OOM killer are for that.
  std::optional<LoadLimit> max_load{};
  std::optional<uint64_t> min_memory_available{};
  // GNU parallel's --timeout N%: an attempt of a job without a timeout of its own ends
  // `timeout` once it has run longer than this many times the median run time of the jobs that
  // succeeded so far in this pool (2.0 for 200%). The median moves as jobs succeed, and applies
  // to the attempts already running; before the first success there is no limit. 0: none.
  double relative_timeout = 0;
  // A worker that has not said hello by then is given up (a hung ssh, a wrong binary); so is
  // one that was sent a job and has not said it started it.
  Millis start_timeout{30'000};
  // How long past a job's timeout and stop sequence (or past a stop request) the pool waits for
  // the worker to report before it ends the job, and the worker, itself: a stopped or stuck
  // worker delays a batch by this much, never forever.
  Millis backstop_grace{2'000};
  // Called on the manager thread with each piece of output as it arrives (for live output);
  // the piece is also kept in the job's Result. Must be quick and must not call into the pool.
  std::function<void(const Job&, Stream, std::string_view)> on_output{};
  // Consulted on the manager thread as each job completes, after its done-callbacks and before
  // its worker is given another job, so a halt on the first failure starts nothing after it.
  // Must be quick and must not call into the pool.
  std::function<Halt(const Future&)> halt_when{};
  // Short jobs leave a worker idle between two of them while it reports one and is sent the
  // next. While the recent jobs ran shorter than 5 ms (or ten of the worker's round trips, up to
  // 100 ms, for a remote one), a busy worker is sent its next job ahead, which it starts the moment
  // its job ends. One that still waits when that job has run twice as long goes back to the pool
  // (as soon as another worker is idle, if it runs longer than the recent ones). Jobs start in
  // input order but for that: one sent ahead behind a job that turns out long can be overtaken
  // by later jobs on other workers, and starts when a worker is next free. A job
  // sent ahead is running to its future (it cannot be cancelled, as a job in Python's call
  // queue), and never counts as started until it starts: stop(), terminate() and a cancelling
  // shutdown or halt withdraw it unstarted. Off with start_delay, max_load and
  // min_memory_available, which judge each start as it comes.
  SendAhead send_ahead = SendAhead::kAuto;
};

struct PoolShared;
class PoolManager;

class ProcessPool {
 public:
  explicit ProcessPool(PoolOptions options);
  // Waits for submitted jobs and stops the workers, as shutdown(true). The pool may be released
  // from any thread, its own included (its last owner a done-callback, or a callback that
  // destroys it): there it cannot wait for itself, so it acts as shutdown(false): what was
  // submitted still runs, the futures still complete (their callbacks on that thread), and the
  // thread ends on its own once the workers have exited, holding what it uses until then. The
  // host must not exit before then if it wants those jobs to finish: an exiting process closes
  // the workers' pipes, and they stop their jobs.
  ~ProcessPool();
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // Queues `job` (an id of 0 is replaced by the next free one). Throws std::runtime_error after
  // shutdown (or a halt), saying which. A job whose command, arguments, environment or cwd
  // holds a NUL byte (which exec would cut) is never run: it ends `error`, saying where.
  // The pool does not order jobs: a job with `needs` is refused (std::invalid_argument naming
  // it); submit it once what it needs has succeeded, for example from their done-callbacks.
  Future submit(Job job);
  // Submits every job (none when one of them is refused); the returned object yields results in
  // input order, each as soon as it and all before it are done. As Python's Executor.map,
  // dropping that object or its timeout passing in next() cancels every job that has not
  // started; the ones already running run on (stop() them to end them too).
  // Unlike Python's (whose generator, never started, cancels nothing), results dropped at once
  // cancel at once: keep them, or take their futures().
  class MapResults;
  [[nodiscard]] MapResults map(std::vector<Job> jobs,
                               std::optional<Duration> timeout = std::nullopt);

  // Starts nothing new once the queue is empty; with `cancel_pending`, cancels what has not
  // started. With `wait`, returns after every worker has exited; except on the pool's own thread
  // (in a callback), which cannot wait for itself: there it returns at once.
  void shutdown(bool wait = true, bool cancel_pending = false);
  // Cancels what has not started and stops running jobs with the stop sequence (or, with
  // `kill_now`, SIGKILL at once); their results have status `cancelled`. Returns at once; safe
  // from any thread, and may be called again to escalate.
  void terminate(bool kill_now = false);
  // Stops one job: a pending one is cancelled (as Future::cancel); a running one gets the
  // pool's stop sequence (PoolOptions::stop) and its Result ends `cancelled`, with what it
  // printed until then and an error saying it was stopped (its future is finished, as after
  // terminate(): cancelled() stays for what never started); it is never retried, and its worker
  // goes on with other jobs. Returns at once: true when the job was not done yet (one that was
  // about to end may still end on its own, as its result says), false when it was done (or never
  // submitted to this pool and pending nowhere). Safe from any thread, callbacks included.
  bool stop(const Future& job);
  // Why the pool could not start any worker (or failed), once that is known.
  std::optional<std::string> broken() const;
  // What halt_when decided, once it said kSoon or kNow.
  Halt halted() const;
  // The jobs whose process is running now, oldest start first: its worker said it started it,
  // and it has not ended. Not the jobs waiting for a worker, sent to one and not started yet,
  // held back there (max_load, min_memory_available) or waiting out a retry delay. A snapshot,
  // safe from any thread.
  std::vector<RunningJob> running() const;
  int workers() const;

 private:
  bool on_own_thread() const;  // called from the manager's thread (a callback)

  std::shared_ptr<PoolShared> shared_;  // what submitters and the manager share
  // The poll loop and everything it owns; its thread holds it (and shared_) too, so it can
  // outlive the pool when the pool is released on that thread.
  std::shared_ptr<PoolManager> manager_;
  std::thread thread_;         // runs manager_
  std::thread::id thread_id_;  // thread_'s, kept when it is joined or detached
  std::mutex join_mu_;         // one shutdown(true) joins; the others wait for it
};

class [[nodiscard]] ProcessPool::MapResults {
 public:
  MapResults(std::vector<Future> futures, std::optional<Duration> timeout);
  // Dropping the results cancels the jobs not yet yielded that have not started; a moved-from
  // object cancels nothing.
  ~MapResults();
  MapResults(MapResults&& other) noexcept = default;
  MapResults& operator=(MapResults&& other) noexcept;
  // The next result in input order, or nullopt after the last. Throws TimeoutError once the
  // timeout (counted from the map call; any size, as for Future::result) has passed. The Result
  // is the caller's own (a cheap copy sharing the output's bytes): `auto r = results.next();`
  // stays valid after this object and the pool are gone. Keep the optional: a reference bound
  // to `*results.next()` dangles, as with any optional returned by value. A failure is data;
  // for an exception instead, read futures() with Future::value_or_throw().
  std::optional<Result> next();
  const std::vector<Future>& futures() const& { return futures_; }
  // From a temporary (`as_completed(pool.map(jobs).futures())`): the futures are handed over,
  // and nothing is cancelled when the temporary goes; they are the caller's to wait for.
  std::vector<Future> futures() && { return std::exchange(futures_, {}); }

 private:
  std::vector<Future> futures_;                // in input order
  size_t next_ = 0;                            // index of the next to yield
  std::optional<Clock::time_point> deadline_;  // counted from the map call

  void cancel_from(size_t first);  // futures_[first..]: what has not started never will
};

}  // namespace procpool
