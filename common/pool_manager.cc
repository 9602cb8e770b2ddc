#include "common/pool_manager.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/messages.h"
#include "common/spawn.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

// A lost worker killed with SIGKILL is normally reaped within microseconds; its loop looks again
// this often until then.
constexpr int kReapPollMs = 5;
// Descriptors one worker costs the coordinator: its three pipes, its exit_fd, and a spill file
// for its job's output. And how many are kept free for everything else (job files, --results,
// inputs).
constexpr size_t kFdsPerWorker = 5;
constexpr size_t kFdsReserved = 16;
// After the process limit refused a worker, the first and the longest pause before trying again.
constexpr Millis kSpawnFirstPause{50};
constexpr Millis kSpawnLastPause{1000};
// A job the process limit keeps from starting: how long the pool goes on trying while no job
// anywhere gets a process, and each worker's pause between its tries.
constexpr Millis kJobsRefusedFor{5000};
constexpr Millis kJobFirstPause{10};
constexpr Millis kJobLastPause{500};
// How long every job is refused, with no job running anywhere, before a worker makes room.
constexpr Millis kShrinkAfter{1000};
// Jobs are sent ahead (PoolOptions::send_ahead) while recent ones ran shorter than this, or than
// kAheadRoundTrips of the worker's round trips where that is longer (a remote worker; at most
// kAheadBelowAtMost): only there does the round trip between two jobs cost a share worth
// saving. A job sent ahead waits at most twice that behind a longer one before it is taken back.
constexpr Millis kAheadBelow{5};
constexpr int kAheadRoundTrips = 10;
constexpr Millis kAheadBelowAtMost{100};  // however slow a worker's round trips were

// Why `job` cannot run as written: a string exec takes holds a NUL byte, where exec would cut
// it, running something other than the job says. Empty when it can run.
std::string unpassable(const Job& job) {
  // Dispatched per job: the message is built only when there is a NUL to tell of.
  auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  auto nul = [](const std::string& what, const std::string& s) {
    return what + " holds a NUL byte at offset " + std::to_string(s.find('\0')) +
           ", which exec cannot pass: not run, rather than run cut short";
  };
  if (has_nul(job.shell)) return nul("the command", job.shell);
  for (size_t i = 0; i < job.argv.size(); ++i) {
    if (has_nul(job.argv[i])) {
      return nul("argument " + std::to_string(i) + " of the command", job.argv[i]);
    }
  }
  for (const auto& [name, value] : job.env) {
    if (has_nul(name)) return nul("an environment variable's name", name);
    if (has_nul(value)) return nul("the value of environment variable " + name, value);
  }
  if (has_nul(job.cwd)) return nul("the working directory", job.cwd);
  return {};
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by " + signal_name(WTERMSIG(status));
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return "stopped";
}

// A job stopped by one of its limits says so, rather than leaving a bare signal to decode.
void name_limit_hit(const Limits& limits, Result& r) {
  if (r.ok()) return;
  if (limits.cpu && r.signal &&
      (*r.signal == SIGXCPU ||
       (*r.signal == SIGKILL && (r.user_s + r.system_s) * 1000 >= limits.cpu->count() - 50))) {
    r.error = "exceeded its CPU time limit of " + format_duration(*limits.cpu) + " (--cpu-limit)";
  } else if (limits.memory_bytes && r.error.empty()) {
    r.error = fmt::format(
        "ran with a memory limit of {} MiB (--mem-limit): allocations beyond it fail, which "
        "programs report in their own ways",
        *limits.memory_bytes >> 20);
  }
}

// Writes what a worker said on its stderr to ours. A stderr that cannot be written (a terminal
// that hung up, a full disk) must not cost the pool anything.
void pass_on_stderr(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(STDERR_FILENO, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

size_t open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return kFdsReserved;
  size_t n = 0;
  while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

uint64_t descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return rl.rlim_cur;
}

Clock::time_point earliest(std::optional<Clock::time_point> a, Clock::time_point b) {
  return a && *a < b ? *a : b;
}

// What a job sent ahead may start after, as PoolOptions::send_ahead says.
Ahead ahead_kind(const PoolOptions& o) {
  switch (o.send_ahead) {
    case SendAhead::kAuto:
      return o.halt_when ? Ahead::kNo : Ahead::kAfterEnd;
    case SendAhead::kAfterAnyEnd:
      return Ahead::kAfterEnd;
    case SendAhead::kAfterSuccess:
      return Ahead::kAfterOk;
    case SendAhead::kNever:
      break;
  }
  return Ahead::kNo;
}

}  // namespace

// A job waiting to be (re)started, with the attempts it has had so far.
struct PoolManager::Entry {
  Future future;
  int attempts = 0;       // attempts started so far
  bool running = false;   // the future has been marked running (it can no longer be cancelled)
  bool stopped = false;   // ProcessPool::stop asked for it: ends cancelled, never retried
  bool returned = false;  // sent ahead and handed back unstarted (running, yet never ran)
};

struct PoolManager::Worker {
  int slot = 0;                         // 1..N, reused by its replacement ({%} in templates)
  std::string slot_host;                // where it runs, as the user named it ("" here)
  bool remote = false;                  // job pids are another machine's: never signal them
  std::unique_ptr<WorkerProcess> proc;  // the process we started (the worker, ssh or srun)
  Clock::time_point started;            // when, for the hello deadline
  std::string err_tail;                 // stderr held back until hello: quoted if it never comes
  std::string out_head;                 // what it printed before a hello: it is no worker
  FrameReader reader;                   // partial frames from it
  WriteBuffer wbuf;                     // frames not yet written to it
  bool hello = false;                   // it has introduced itself
  int64_t remote_pid = 0;               // its pid as it reported (differs from pid through ssh)
  std::string host;                     // where it runs, as it reported
  int tasks_done = 0;                   // for max_tasks_per_worker
  bool retiring = false;                // its stdin was closed on purpose: exit is expected
  std::optional<Clock::time_point> retire_by;  // killed if it has not exited by then

  // The job it holds, and what the loop knows of it.
  std::optional<Entry> current;
  Clock::time_point sent_at;  // when its run frame was queued
  int64_t sent_wall_us = 0;   // the same, on the wall clock, for results we make
  bool acknowledged = false;  // a start or end frame for it came
  bool held = false;  // its host does not allow it to start yet (a gate frame came): it waits
  bool may_have_run = false;                  // lost unacknowledged: count it as an attempt anyway
  int64_t job_pid = -1;                       // its group leader, once started
  bool listed_running = false;                // in shared_.running: started, not ended
  Output output;                              // its output so far
  int kill_sent = 0;                          // kill frames sent for it (2nd one: "now")
  std::optional<Clock::time_point> backstop;  // the loop ends it itself at this time
  Status backstop_status = Status::kTimeout;  // ... reporting it so
  std::string backstop_why;                   // ... for this reason
  std::vector<pid_t> job_groups;              // process groups of its jobs that we killed, to reap
  // The process limit refused its last job: it gets no other before then.
  std::optional<Clock::time_point> refused_until;
  Millis refused_pause{0};  // the pause after its next refusal
  // PoolOptions::relative_timeout: when its job's start frame came, and why the job was
  // stopped for running past it ("" when it was not).
  Clock::time_point job_started_at;
  std::string over_median;

  // The job sent ahead (PoolOptions::send_ahead) while `current` runs: the worker starts it the
  // moment `current` ends, or hands it back. Never started while it is here.
  std::optional<Entry> ahead;
  bool ahead_recalled = false;     // a Withdraw or a Kill for it is on its way
  bool ahead_killed = false;       // ... a Kill: if it starts anyway, it is stopped
  bool current_was_ahead = false;  // `current` came from `ahead`: its start is no round trip
  Millis round_trip{0};            // from sending a job to its start frame, the last time
};

struct PoolManager::Exiting {
  std::unique_ptr<Worker> worker;  // its process killed, not yet reaped
  std::string why;                 // why it was lost ("" when its exit status says it)
  bool settled = false;            // its slot and its job were dealt with
  Clock::time_point give_up;       // settled without an exit status, and forgotten, after this
};

PoolShared::PoolShared(PoolOptions o) : options(std::move(o)) {
  wake_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd) throw_errno("eventfd (waking the pool's manager)");
  wake_fd.reset(move_above_stdio(wake_fd.release()));
}

void PoolShared::wake() {
  if (!wake_pending.exchange(true)) {
    uint64_t one = 1;
    while (::write(wake_fd.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

PoolManager::PoolManager(PoolShared& shared)
    : shared_(shared),
      options_(shared.options),
      slots_(shared.options.slots.size()),
      ahead_kind_(ahead_kind(shared.options)) {
  uint64_t limit = descriptor_limit();
  uint64_t in_use = open_descriptors() + kFdsReserved;
  uint64_t fit = limit > in_use ? (limit - in_use) / kFdsPerWorker : 0;
  // At least one is tried: if even that fails, the pool says so instead of guessing.
  fd_capacity_ = static_cast<size_t>(std::clamp<uint64_t>(fit, 1, slots_.size()));
}

PoolManager::~PoolManager() = default;

int PoolManager::live_slots() const {
  return static_cast<int>(
      std::count_if(slots_.begin(), slots_.end(), [](const SlotState& s) { return !s.lost; }));
}

std::string PoolManager::describe(const Worker& w) const {
  std::string who = w.remote_pid ? fmt::format("worker {}", w.remote_pid)
                    : w.remote   ? std::string("worker")
                                 : fmt::format("worker {}", w.proc->pid());
  return w.remote ? who + " on " + (w.host.empty() ? w.slot_host : w.host) : who;
}

bool PoolManager::may_retry(const Entry& e, Status s) const {
  // Once pending jobs were cancelled (a halt, SIGHUP, a stop), a failure is not retried either.
  if (terminating_ || cancel_pending_ || e.stopped) return false;
  const auto& on = options_.retry_on;
  return e.attempts <= e.future.job().retries && std::find(on.begin(), on.end(), s) != on.end();
}

// ---- the loop --------------------------------------------------------------------------------

void PoolManager::run() {
  for (;;) {
    admit_incoming();
    grow_workers();
    dispatch();
    // Written now: waiting for the next poll to report the pipe writable would cost every job a
    // poll round (the pipe almost always has room).
    flush_writes();
    close_if_finished();
    if (done()) return;
    poll_events();
    enforce_deadlines();
    reap_exiting();
  }
}

void PoolManager::admit_incoming() {
  std::vector<Future> incoming, to_stop;
  {
    std::lock_guard lock(shared_.mu);
    incoming.swap(shared_.incoming);
    to_stop.swap(shared_.to_stop);
    shutting_down_ = shutting_down_ || shared_.shutdown;
    cancel_pending_ = cancel_pending_ || shared_.cancel_pending;
    terminating_ = terminating_ || shared_.terminate;
    kill_now_ = kill_now_ || shared_.kill_now;
  }
  for (auto& f : incoming) pending_.push_back(Entry{std::move(f)});
  for (const auto& f : to_stop) stop_one(f);
  if (cancel_pending_ || terminating_) cancel_waiting();
  if (terminating_) stop_running();
}

void PoolManager::grow_workers() {
  if (closing_ || broken_) return;
  auto now = Clock::now();
  if (spawn_retry_at_ && now < *spawn_retry_at_) return;
  // Start workers as the work needs them, up to one per slot: a batch of one job starts one
  // worker, not -j of them (each costs an exec, or an ssh connection).
  auto idle = static_cast<size_t>(std::count_if(
      workers_.begin(), workers_.end(), [](const auto& w) { return !w->current && !w->retiring; }));
  while (pending_.size() > idle) {
    size_t limit = std::min({static_cast<size_t>(live_slots()), fd_capacity_, proc_capacity_});
    if (workers_.size() >= limit) {
      if (limit == fd_capacity_ && fd_capacity_ < static_cast<size_t>(live_slots()) &&
          !told_fd_capacity_) {
        told_fd_capacity_ = true;
        log::warn(
            "only enough file descriptors for {} workers (ulimit -n is {}): running {} jobs at "
            "a time instead of {}; raise the limit with ulimit -n to run more",
            fd_capacity_, descriptor_limit(), fd_capacity_, live_slots());
      }
      return;
    }
    if (!start_worker()) return;
    ++idle;
  }
}

void PoolManager::dispatch() {
  // Retries whose delay is over go first, in the order they became due.
  auto now = Clock::now();
  std::vector<Entry> due;
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    due.push_back(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
  for (auto it = due.rbegin(); it != due.rend(); ++it) pending_.push_front(std::move(*it));
  Millis delay = options_.start_delay;
  for (auto& w : workers_) {
    // A local worker is this very binary: its first job goes with its start, saving a round
    // trip (a worker that then fails to start hands the job back untouched). A remote one
    // must first say which protocol it speaks; and under --delay the job would start when the
    // worker is up, not when it was sent, so the spacing is counted from its hello.
    bool first_with_start = !w->remote && delay.count() == 0;
    if ((!w->hello && !first_with_start) || w->current || w->retiring || !w->proc->to()) continue;
    if (w->refused_until && now < *w->refused_until) continue;
    if (delay.count() && now < last_start_ + delay) break;
    // A job waiting ahead behind one that runs long comes back, to start next.
    recall_ahead_for(*w, now);
    if (pending_.empty()) continue;
    if (!send_next(*w, false, now) && shutting_down_) return;
  }
  // The worker whose job started first is likely the first free: it gets the next job, so jobs
  // sent ahead start in input order as far as the order of their workers' ends allows.
  std::vector<Worker*> busy;
  for (auto& w : workers_) {
    if (may_send_ahead(*w, now)) busy.push_back(w.get());
  }
  std::sort(busy.begin(), busy.end(),
            [](const Worker* a, const Worker* b) { return a->job_started_at < b->job_started_at; });
  for (Worker* w : busy) {
    if (pending_.empty()) return;
    if (!send_next(*w, true, now) && shutting_down_) return;
  }
}

bool PoolManager::send_next(Worker& w, bool ahead, Clock::time_point now) {
  while (!pending_.empty()) {
    Entry e = std::move(pending_.front());
    pending_.pop_front();
    if (!e.running && !e.future.set_running_or_notify_cancel()) continue;
    e.running = true;
    if (std::string why = unpassable(e.future.job()); !why.empty()) {
      // Never sent to a worker, whose exec would cut the string; a result like any other,
      // so --halt counts it.
      Result r;
      r.status = Status::kError;
      r.error = std::move(why);
      complete(std::move(e), std::move(r));
      if (shutting_down_) return false;  // it made the pool halt: nothing more starts
      continue;
    }
    std::string frame;
    try {
      const Job& job = e.future.job();
      if (job.input) append_input_frames(frame, job.id, *job.input);
      Task task = Task::of(job, options_.stop, w.slot);
      task.max_load = options_.max_load;  // judged by the worker, on its own host
      task.min_memory_available = options_.min_memory_available;
      if (ahead) task.ahead = ahead_kind_;
      append_message(frame, task);
    } catch (const ProtocolError&) {
      // Checked before it is sent: a frame that large would be refused by the worker, and
      // cost it every other job it holds.
      Result r;
      r.status = Status::kError;
      r.error = fmt::format(
          "its command, environment and working directory take more than the {} MiB a job "
          "may send to its worker: pass large data through a file instead",
          kMaxFrameBytes >> 20);
      complete(std::move(e), std::move(r));
      if (shutting_down_) return false;
      continue;
    }
    ++e.attempts;
    e.returned = false;
    last_start_ = now;
    if (log::enabled(log::Level::kDebug)) {
      log::debug("{} gets {}{}", describe(w), ahead ? "ahead: " : "",
                 describe_message(std::string_view(frame).substr(4)));
    }
    w.wbuf.data() += frame;
    if (ahead) {
      w.ahead = std::move(e);
      w.ahead_recalled = false;
      w.ahead_killed = false;
    } else {
      begin_current(w, std::move(e), now);
      w.current_was_ahead = false;
    }
    return true;
  }
  return false;
}

void PoolManager::begin_current(Worker& w, Entry e, Clock::time_point now) {
  w.sent_at = now;
  w.sent_wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  w.acknowledged = false;
  w.held = false;
  w.may_have_run = false;
  w.job_pid = -1;
  w.kill_sent = 0;
  w.over_median.clear();
  w.backstop.reset();
  arm_timeout_backstop(w, e.future.job(), now);
  w.current = std::move(e);
}

Millis PoolManager::ahead_below(const Worker& w) const {
  return std::clamp<Millis>(w.round_trip * kAheadRoundTrips, kAheadBelow, kAheadBelowAtMost);
}

bool PoolManager::may_send_ahead(const Worker& w, Clock::time_point now) const {
  // What a job sent ahead cannot honour: --delay (spacing counted from the starts), --load and
  // --memfree (judged as each starts), a stop or a halt under way.
  if (ahead_kind_ == Ahead::kNo || options_.start_delay.count() || options_.max_load ||
      options_.min_memory_available || cancel_pending_ || terminating_) {
    return false;
  }
  if (!w.current || !w.acknowledged || w.held || w.ahead || w.kill_sent || w.retiring ||
      !w.proc->to()) {
    return false;
  }
  // Its next job must still fit in max_tasks_per_worker.
  if (options_.max_tasks_per_worker > 0 && w.tasks_done + 2 > options_.max_tasks_per_worker) {
    return false;
  }
  // Only for short jobs: the recent ones were, and this one is not running long.
  if (!recent_run_s_ || *recent_run_s_ >= std::chrono::duration<double>(ahead_below(w)).count()) {
    return false;
  }
  return now - w.job_started_at < 2 * ahead_below(w);
}

void PoolManager::recall_ahead(Worker& w) {
  if (!w.ahead || w.ahead_recalled) return;
  w.ahead_recalled = true;
  if (w.proc->to()) append_message(w.wbuf.data(), Withdraw{w.ahead->future.job().id});
}

void PoolManager::recall_ahead_for(const Worker& idle, Clock::time_point now) {
  // The oldest job waiting behind another that has run twice as long as the recent ones did:
  // it comes back to the pool, and to `idle` (a worker with nothing to do) or the next one free,
  // a round trip later.
  if (!idle.hello && idle.remote) return;
  Worker* from = nullptr;
  for (auto& w : workers_) {
    if (!w->ahead || w->ahead_recalled || !w->acknowledged || !recent_run_s_) continue;
    double ran = std::chrono::duration<double>(now - w->job_started_at).count();
    if (ran <= 2 * *recent_run_s_) continue;
    if (!from || w->ahead->future.job().id < from->ahead->future.job().id) from = w.get();
  }
  if (from) recall_ahead(*from);
}

void PoolManager::arm_timeout_backstop(Worker& w, const Job& job, Clock::time_point from) {
  if (!job.timeout) return;
  w.backstop = from + *job.timeout + stop_sequence_length(options_.stop) + options_.backstop_grace;
  w.backstop_status = Status::kTimeout;
  w.backstop_why = fmt::format(
      "timed out, and its worker did not end it within {} of its timeout (stopped or "
      "stuck?), so procpool did",
      format_duration(stop_sequence_length(options_.stop) + options_.backstop_grace));
}

bool PoolManager::holding_starts(const std::string& host) const {
  return std::any_of(workers_.begin(), workers_.end(),
                     [&](const auto& w) { return w->held && w->host == host; });
}

void PoolManager::flush_writes() {
  for (size_t i = workers_.size(); i-- > 0;) {
    Worker& w = *workers_[i];
    if (!w.proc->to()) continue;
    try {
      if (!w.wbuf.empty() && !w.wbuf.flush(w.proc->to().get())) {
        // It stopped reading. Not lost yet: the frames it already sent (results!) are still
        // read until its output ends.
        w.proc->to().reset();
        w.wbuf = WriteBuffer();
      } else if ((closing_ || w.retiring) && w.wbuf.empty()) {
        w.proc->to().reset();
      }
    } catch (const std::exception& e) {
      lose_worker(i, std::string("could not be written to: ") + e.what());
    }
  }
}

void PoolManager::close_if_finished() {
  if (closing_ || !shutting_down_ || work_left()) return;
  closing_ = true;
  auto by = Clock::now() + options_.backstop_grace;
  for (auto& w : workers_) {
    w->retiring = true;
    w->retire_by = earliest(w->retire_by, by);
    if (w->wbuf.empty()) w->proc->to().reset();
    // One still starting (an ssh still connecting) is not waited for.
    if (!w->hello) w->proc->kill();
  }
}

bool PoolManager::done() const {
  return closing_ && workers_.empty() && exiting_.empty();
}

bool PoolManager::work_left() const {
  if (!pending_.empty() || !delayed_.empty()) return true;
  return std::any_of(workers_.begin(), workers_.end(), [](const auto& w) { return !!w->current; });
}

int PoolManager::poll_timeout() const {
  std::optional<Clock::time_point> wake_at;
  auto consider = [&](std::optional<Clock::time_point> t) {
    if (t && (!wake_at || *t < *wake_at)) wake_at = t;
  };
  if (!delayed_.empty()) consider(delayed_.begin()->first);
  for (const auto& w : workers_) {
    if (!w->hello) consider(w->started + options_.start_timeout);
    if (w->current && !w->acknowledged && !w->held && w->hello) {
      consider(w->sent_at + options_.start_timeout);
    }
    if (w->current) consider(w->backstop);
    consider(median_deadline(*w));
    if (w->ahead && !w->ahead_recalled && w->acknowledged) {
      consider(w->job_started_at + 2 * ahead_below(*w));
    }
    // Only while still ahead: a pause that is over is no reason to wake (a 0 ms timeout would
    // spin while the worker waits for --delay, or retires).
    if (!pending_.empty() && !w->current && !w->retiring && w->refused_until &&
        *w->refused_until > Clock::now()) {
      consider(w->refused_until);
    }
    consider(w->retire_by);
  }
  if (options_.start_delay.count() && !pending_.empty()) {
    consider(last_start_ + options_.start_delay);
  }
  if (!pending_.empty()) consider(spawn_retry_at_);
  for (const auto& x : exiting_) consider(x->give_up);
  int timeout_ms = -1;
  if (wake_at) {
    auto left = std::chrono::ceil<Millis>(*wake_at - Clock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 3'600'000));
  }
  // An exiting worker's exit wakes the poll through its exit_fd; only without one, or with
  // its jobs' groups still to reap, is it looked at on a tick.
  bool tick = std::any_of(exiting_.begin(), exiting_.end(), [](const auto& x) {
    return x->worker->proc->exit_fd() < 0 || x->worker->proc->reaped() ||
           !x->worker->job_groups.empty();
  });
  if (tick && (timeout_ms < 0 || timeout_ms > kReapPollMs)) timeout_ms = kReapPollMs;
  return timeout_ms;
}

void PoolManager::poll_events() {
  std::vector<pollfd> fds;
  fds.reserve(1 + 3 * workers_.size());
  fds.push_back({shared_.wake_fd.get(), POLLIN, 0});
  for (auto& w : workers_) {
    WorkerProcess& p = *w->proc;
    fds.push_back({p.from() ? p.from().get() : -1, POLLIN, 0});
    fds.push_back({w->wbuf.empty() || !p.to() ? -1 : p.to().get(), POLLOUT, 0});
    fds.push_back({p.err() ? p.err().get() : -1, POLLIN, 0});
  }
  for (auto& x : exiting_) {
    if (!x->worker->proc->reaped()) fds.push_back({x->worker->proc->exit_fd(), POLLIN, 0});
  }
  if (::poll(fds.data(), fds.size(), poll_timeout()) < 0) {
    if (errno == EINTR) return;
    throw_errno("poll");
  }
  if (fds[0].revents) {
    // Drain first, then re-arm: re-arming first would let a submitter's wake-up be swallowed by
    // the drain while the flag stays set. A submission between the two is still taken next.
    uint64_t count;
    while (::read(shared_.wake_fd.get(), &count, sizeof count) > 0) {
    }
    shared_.wake_pending.store(false);
  }
  // Backwards: lose_worker erases from workers_.
  for (size_t i = workers_.size(); i-- > 0;) {
    Worker& w = *workers_[i];
    const pollfd& in = fds[1 + 3 * i];
    const pollfd& out = fds[2 + 3 * i];
    const pollfd& err = fds[3 + 3 * i];
    std::string lost;
    try {
      if (err.revents) read_stderr(w);
      if (out.revents && w.proc->to() && !w.wbuf.flush(w.proc->to().get())) {
        w.proc->to().reset();
        w.wbuf = WriteBuffer();
      }
      if (in.revents) {
        char buf[65536];
        ssize_t n = ::read(w.proc->from().get(), buf, sizeof buf);
        if (n > 0) {
          if (!w.hello && w.out_head.size() < 200) {
            w.out_head.append(buf, std::min(static_cast<size_t>(n), 200 - w.out_head.size()));
          }
          w.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
          read_frames(w);
        } else if (n == 0) {
          lost = w.reader.mid_frame() ? "died in the middle of a frame" : "-";
        } else if (errno != EINTR && errno != EAGAIN) {
          lost = std::string("could not be read: ") + std::strerror(errno);
        }
      }
    } catch (const ProtocolError& e) {
      lost = std::string("sent a malformed frame (") + e.what() + ")";
    } catch (const std::exception& e) {
      // Whatever else went wrong with this worker costs it (and its job), not the pool.
      lost = std::string("could not be handled: ") + e.what();
    }
    if (!lost.empty()) lose_worker(i, lost == "-" ? "" : lost);
  }
}

void PoolManager::enforce_deadlines() {
  auto now = Clock::now();
  for (size_t i = workers_.size(); i-- > 0;) {
    Worker& w = *workers_[i];
    // A job sent ahead of one that runs long after all: back to the pool, for whichever worker
    // is free first, so it does not wait out the long one.
    if (w.ahead && !w.ahead_recalled && w.acknowledged &&
        now - w.job_started_at >= 2 * ahead_below(w)) {
      recall_ahead(w);
    }
    if (!w.hello && now >= w.started + options_.start_timeout) {
      lose_worker(i, "did not start within " + format_duration(options_.start_timeout));
    } else if (w.current && !w.acknowledged && !w.held && w.hello &&
               now >= w.sent_at + options_.start_timeout) {
      w.may_have_run = true;
      lose_worker(i, "did not start its job within " + format_duration(options_.start_timeout) +
                         " (stopped or stuck?)");
    } else if (auto past = median_deadline(w); past && now >= *past) {
      // Stopped as its worker stops a job at its own timeout, and reported as one.
      w.over_median = fmt::format(
          "ran longer than {:g}% of the median run time of the jobs that succeeded so far ({})",
          options_.relative_timeout * 100,
          format_duration(Millis(std::llround(*succeeded_.median() * 1e3))));
      send_stop(w, false);
      w.backstop_status = Status::kTimeout;
    } else if (w.current && w.backstop && now >= *w.backstop) {
      end_job_ourselves(i, w.backstop_status, w.backstop_why);
    } else if (!w.current && w.retire_by && now >= *w.retire_by) {
      lose_worker(i, "did not exit when its work was done (stopped or stuck?)");
    }
  }
}

std::optional<Clock::time_point> PoolManager::median_deadline(const Worker& w) const {
  if (options_.relative_timeout <= 0 || !w.current || !w.acknowledged || w.kill_sent > 0 ||
      w.current->future.job().timeout) {
    return std::nullopt;  // a job's own timeout wins
  }
  auto median = succeeded_.median();
  if (!median) return std::nullopt;
  return w.job_started_at + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(*median * options_.relative_timeout));
}

void PoolManager::reap_exiting() {
  auto now = Clock::now();
  for (size_t i = exiting_.size(); i-- > 0;) {
    Exiting& x = *exiting_[i];
    Worker& w = *x.worker;
    bool reaped = w.proc->try_reap();
    if (reaped && !x.settled) settle_loss(x);
    // Its jobs' groups, killed: whatever of them was re-parented to us (we may be a subreaper)
    // is reaped; ECHILD once none is, or when none was ours.
    if (reaped) {
      std::erase_if(w.job_groups, [](pid_t group) {
        pid_t got;
        while ((got = ::waitpid(-group, nullptr, WNOHANG)) > 0 || (got < 0 && errno == EINTR)) {
        }
        return got < 0;
      });
    }
    bool finished = reaped && w.job_groups.empty();
    if (!finished && now >= x.give_up) {
      // Unkillable for now (asleep in the kernel, on a hung NFS mount): left behind, after
      // saying so, rather than holding the pool.
      if (!x.settled) settle_loss(x);
      log::warn("{} did not exit after SIGKILL; left behind", describe(w));
      finished = true;
    }
    if (finished) exiting_.erase(exiting_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

// ---- workers ---------------------------------------------------------------------------------

bool PoolManager::start_worker() {
  // A free slot that is not lost, so slots stay 1..N across replacements: the lowest of those
  // that failed to start least often, so a failing start moves on to the next slot (and host).
  int chosen = 0;
  for (int slot = 1; slot <= static_cast<int>(slots_.size()); ++slot) {
    if (slots_[slot - 1].lost) continue;
    bool taken = std::any_of(workers_.begin(), workers_.end(),
                             [&](const auto& other) { return other->slot == slot; });
    if (taken) continue;
    if (chosen == 0 || slots_[slot - 1].failed_starts < slots_[chosen - 1].failed_starts) {
      chosen = slot;
    }
  }
  if (chosen == 0) return false;
  const WorkerSlot& where = options_.slots[chosen - 1];
  auto w = std::make_unique<Worker>();
  try {
    w->proc = std::make_unique<WorkerProcess>(where.command);
  } catch (const std::system_error& e) {
    int err = e.code().value();
    if (err == EMFILE || err == ENFILE) {
      // Not this slot's fault: the pool is as big as the descriptor limit lets it be.
      fd_capacity_ = workers_.size();
      if (workers_.empty() && exiting_.empty()) {
        fail_everything(fmt::format(
            "could not start any worker: no file descriptors left for its pipes (ulimit -n is "
            "{}); raise the limit with ulimit -n",
            descriptor_limit()));
      }
      return false;
    }
    if (spawn_error_is_transient(err)) {
      // The process limit (ulimit -u, a cgroup's pids.max): jobs ending will free some.
      auto now = Clock::now();
      spawn_pause_ =
          spawn_retry_at_ ? std::min(spawn_pause_ * 2, kSpawnLastPause) : kSpawnFirstPause;
      spawn_retry_at_ = now + spawn_pause_;
      if (!told_spawn_refused_) {
        told_spawn_refused_ = true;
        log::warn("cannot start more workers for now ({}): running {}, trying again", e.what(),
                  workers_.size());
      }
      if (workers_.empty()) {
        if (!no_worker_since_) no_worker_since_ = now;
        if (now - *no_worker_since_ >= options_.start_timeout) {
          fail_everything(fmt::format("could not start any worker for {}: {}",
                                      format_duration(options_.start_timeout), e.what()));
        }
      }
      return false;
    }
    fail_everything(
        fmt::format("cannot start a worker ('{}'): {}", where.command[0], std::strerror(err)));
    return false;
  }
  spawn_retry_at_.reset();
  no_worker_since_.reset();
  w->slot = chosen;
  w->slot_host = where.host;
  w->remote = where.remote;
  w->output = Output(options_.spill_bytes);
  w->started = Clock::now();
  log::debug("started worker {} ({})", w->proc->pid(), fmt::join(where.command, " "));
  workers_.push_back(std::move(w));
  return true;
}

void PoolManager::read_stderr(Worker& w) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(w.proc->err().get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0 || errno != EAGAIN) w.proc->err().reset();
      return;
    }
    if (w.hello) {
      pass_on_stderr(std::string_view(buf, static_cast<size_t>(n)));
    } else {
      constexpr size_t kKeep = 2048;
      w.err_tail.append(buf, static_cast<size_t>(n));
      if (w.err_tail.size() > kKeep) w.err_tail.erase(0, w.err_tail.size() - kKeep);
    }
  }
}

void PoolManager::read_frames(Worker& w) {
  while (auto f = w.reader.next_frame()) {
    if (f->output) {
      if (f->output->stream == 0) throw ProtocolError("stdin frame from a worker");
      handle_output(w, *f->output);
    } else {
      handle_message(w, f->body);
    }
  }
}

void PoolManager::handle_message(Worker& w, std::string_view body) {
  if (log::enabled(log::Level::kDebug)) {
    log::debug("{} sent {}", describe(w), describe_message(body));
  }
  FromWorker message = decode_from_worker(body);
  if (auto* end = std::get_if<Ended>(&message)) {
    finish_attempt(w, *end);
  } else if (auto* start = std::get_if<Started>(&message)) {
    if (!w.current || start->id != w.current->future.job().id) {
      throw ProtocolError(fmt::format("start frame for job {}, which it was not given", start->id));
    }
    w.job_pid = start->pid;
    w.acknowledged = true;
    w.job_started_at = Clock::now();
    // A round trip: not the first job, which went with the worker's start (its exec and
    // start-up, or an ssh's connection, would count), nor one sent ahead or held back.
    if (!w.current_was_ahead && !w.held && w.tasks_done > 0) {
      w.round_trip = std::chrono::duration_cast<Millis>(w.job_started_at - w.sent_at);
    }
    set_running(w, true);
    if (w.held) {
      // Its timeout counts from now, not from when it was sent (a kill has a backstop already).
      w.held = false;
      if (!w.kill_sent) arm_timeout_backstop(w, w.current->future.job(), w.job_started_at);
      if (!holding_starts(w.host)) log::info("job starts resume on {}", w.host);
    }
    jobs_refused_since_.reset();
    w.refused_until.reset();
    w.refused_pause = Millis(0);
  } else if (auto* gate = std::get_if<Gate>(&message)) {
    if (!w.current || gate->id != w.current->future.job().id) {
      throw ProtocolError(fmt::format("gate frame for job {}, which it was not given", gate->id));
    }
    if (!gate->held) {
      // The host cannot tell (no /proc): its jobs start as if it allowed them. Said once a host.
      if (gate_unknown_told_.insert(w.host).second) log::warn("on {}: {}", w.host, gate->why);
    } else if (!w.held) {
      // Waiting on its worker: neither late in starting it nor running, so no deadline yet.
      bool first = !holding_starts(w.host);
      w.held = true;
      if (!w.kill_sent) w.backstop.reset();
      if (first) log::info("holding back job starts on {}: {}", w.host, gate->why);
    }
  } else {
    const Hello& hello = std::get<Hello>(message);
    w.out_head.clear();  // a procpool worker after all, whatever its version
    w.remote_pid = hello.pid;
    w.host = hello.host;
    if (hello.version != kProtocolVersion) {
      throw ProtocolError(fmt::format(
          "worker on {} speaks protocol version {}, this procpool speaks {}: run the same "
          "procpool version on both sides",
          w.host, hello.version, kProtocolVersion));
    }
    w.hello = true;
    ever_hello_ = true;
    slots_[w.slot - 1].failed_starts = 0;
    // What it said while starting was held back in case it failed; it did not, so pass it on.
    pass_on_stderr(w.err_tail);
    w.err_tail.clear();
    log::debug("worker {} on {} is ready", w.remote_pid, w.host);
  }
}

void PoolManager::handle_output(Worker& w, const OutputPiece& piece) {
  if (!w.current || piece.id != w.current->future.job().id) {
    throw ProtocolError(fmt::format("output frame for job {}, which it was not given", piece.id));
  }
  auto stream = piece.stream == 2 ? Stream::kStderr : Stream::kStdout;
  if (options_.on_output) {
    try {
      options_.on_output(w.current->future.job(), stream, piece.bytes);
    } catch (const std::exception& e) {
      log::error("the pool's on_output callback raised: {}", e.what());
    }
  }
  w.output.append(stream, piece.bytes);  // a failure is kept in the Output, reported at the end
}

void PoolManager::set_running(Worker& w, bool running) {
  if (w.listed_running == running || (running && !w.current)) return;
  w.listed_running = running;
  std::lock_guard lock(shared_.mu);
  auto& list = shared_.running;
  if (running) {
    list.emplace_back(&w, RunningJob{w.current->future, w.job_started_at});
  } else {
    std::erase_if(list, [&w](const auto& entry) { return entry.first == &w; });
  }
}

void PoolManager::finish_attempt(Worker& w, const Ended& end) {
  if (w.ahead && end.id == w.ahead->future.job().id) {
    // The job sent ahead, before the one it was sent behind ended: withdrawn, or killed.
    Entry e = std::move(*w.ahead);
    w.ahead.reset();
    if (end.how != EndHow::kReturned && end.how != EndHow::kKilled) {
      throw ProtocolError(fmt::format("job {} ended before it started", end.id));
    }
    place_returned(std::move(e));
    return;
  }
  if (!w.current || end.id != w.current->future.job().id) {
    throw ProtocolError(fmt::format("end frame for job {}, which it was not given", end.id));
  }
  set_running(w, false);
  Entry e = std::move(*w.current);
  w.current.reset();
  w.backstop.reset();
  bool was_held = std::exchange(w.held, false);
  w.job_pid = -1;
  int kill_sent = w.kill_sent;
  std::string over_median = std::move(w.over_median);
  w.output.seal();
  Output output = std::move(w.output);
  w.output = Output(options_.spill_bytes);
  // The worker has started the job sent ahead by now, or is handing it back.
  promote_ahead(w);
  if (end.how == EndHow::kReturned) {
    place_returned(std::move(e));
    return;
  }
  if (end.how == EndHow::kRefused) {
    hand_back_refused(w, std::move(e), end, kill_sent > 0);
    return;
  }
  ++w.tasks_done;
  if (end.dur) {
    // What the recent jobs took, for sending jobs ahead: quick to follow a change.
    recent_run_s_ = recent_run_s_ ? 0.8 * *recent_run_s_ + 0.2 * *end.dur : *end.dur;
  }

  Result r;
  r.worker_pid = w.remote_pid;
  r.host = w.host;
  r.output = std::move(output);
  r.started_us = end.t0;
  r.ended_us = end.t1;
  r.duration_s = end.dur.value_or(static_cast<double>(end.t1 - end.t0) / 1e6);
  r.user_s = end.ut;
  r.system_s = end.st;
  r.max_rss_kb = end.rss;
  r.exit_code = end.code;
  r.signal = end.sig;
  switch (end.how) {
    case EndHow::kExited:
      r.status = r.exit_code == 0 ? Status::kOk : Status::kFailed;
      break;
    case EndHow::kSignaled:
      r.status = Status::kCrashed;
      break;
    case EndHow::kTimeout:
      r.status = Status::kTimeout;
      break;
    case EndHow::kKilled:
      if (!over_median.empty() && !e.stopped) {
        r.status = Status::kTimeout;  // as a timeout of its own would end, retries included
        r.error = over_median;
        break;
      }
      r.status = Status::kCancelled;
      r.halted = halted_now_ && !e.stopped;
      r.error = e.stopped  ? "stopped by ProcessPool::stop before it finished"
                : r.halted ? "stopped by the halt before it finished"
                           : "stopped before it finished";
      if (was_held) {
        // Withdrawn from its worker, where it waited for its host (--load, --memfree).
        r.error = e.stopped  ? "stopped by ProcessPool::stop before it started"
                  : r.halted ? "stopped by the halt before it started"
                             : "cancelled before it started";
        r.error += ": its host was holding back job starts";
      }
      break;
    case EndHow::kError:
    case EndHow::kRefused:   // handed back above
    case EndHow::kReturned:  // placed again above
      r.status = Status::kError;
      r.error = end.err.empty() ? std::string("could not start") : end.err;
      break;
  }
  name_limit_hit(e.future.job().limits, r);
  if (!r.output.failure().empty()) {
    // What it printed could not be kept whole: its result must not pass for complete.
    r.status = Status::kError;
    r.error = fmt::format(
        "its output could not be kept: {}; {} bytes were lost{}", r.output.failure(),
        r.output.dropped(),
        r.exit_code ? fmt::format(" (it exited with status {})", *r.exit_code) : std::string());
  }
  if (may_retry(e, r.status)) {
    retry(std::move(e), status_name(r.status));
  } else {
    complete(std::move(e), std::move(r));
  }
  if (options_.max_tasks_per_worker > 0 && w.tasks_done >= options_.max_tasks_per_worker) {
    w.retiring = true;  // its stdin is closed once written: it exits and is replaced
    w.retire_by = Clock::now() + options_.backstop_grace;
  }
}

void PoolManager::promote_ahead(Worker& w) {
  if (!w.ahead) return;
  Entry e = std::move(*w.ahead);
  w.ahead.reset();
  begin_current(w, std::move(e), Clock::now());
  w.current_was_ahead = true;
  // Cancelled or stopped while it waited: if the worker starts it all the same, it is stopped.
  if (std::exchange(w.ahead_killed, false)) arm_stop_backstop(w, kill_now_);
  w.ahead_recalled = false;
}

void PoolManager::place_returned(Entry e) {
  --e.attempts;  // it never ran
  if (e.stopped || terminating_ || cancel_pending_) {
    Result r;
    r.status = Status::kCancelled;
    r.halted = halted_now_ && !e.stopped;
    // As a job cancelled while pending reads: not started (no error of its own).
    if (e.stopped) r.error = "stopped by ProcessPool::stop before it started";
    complete(std::move(e), std::move(r));
    return;
  }
  // First again, as it was next in line; but behind the retries there (the job before it
  // failed and goes again first, as it would have without a job sent ahead).
  e.returned = true;
  auto first_new = std::find_if(pending_.begin(), pending_.end(),
                                [](const Entry& p) { return p.attempts == 0 || p.returned; });
  pending_.insert(first_new, std::move(e));
}

void PoolManager::hand_back_refused(Worker& w, Entry e, const Ended& end, bool stopping) {
  auto now = Clock::now();
  const std::string& why = end.err;
  w.refused_pause = std::clamp(w.refused_pause * 2, kJobFirstPause, kJobLastPause);
  w.refused_until = now + w.refused_pause;
  // A window is refusals in a row: one long after the last (the limit was lifted meanwhile,
  // the jobs since were quick) starts a new one.
  if (!jobs_refused_since_ || now - last_refused_at_ > kJobsRefusedFor) jobs_refused_since_ = now;
  last_refused_at_ = now;
  Millis refusing = std::chrono::duration_cast<Millis>(now - *jobs_refused_since_);
  if (stopping || terminating_ || cancel_pending_) {
    --e.attempts;  // it never ran
    Result r;
    r.status = Status::kCancelled;
    r.error = "stopped before it started";
    complete(std::move(e), std::move(r));
  } else if (refusing < kJobsRefusedFor) {
    // Its place is kept: the next worker the limit lets start a process takes it.
    if (refusing.count() == 0) log::debug("job {}: {}; trying again", e.future.job().id, why);
    --e.attempts;  // it never ran: its next try is not a retry
    pending_.push_front(std::move(e));
    make_room_for_jobs(w, refusing);
  } else {
    // Once no job has started anywhere for that long, each refused job ends at its first
    // refusal: a limit that stays reached costs the batch the wait once, not once a job. Like
    // any job that could not start, it counts one attempt and keeps the worker's times.
    Result r;
    r.status = Status::kError;
    r.started_us = end.t0;
    r.ended_us = end.t1;
    r.error = fmt::format("{}; no new process could be made for {}", why,
                          format_duration(refusing / 100 * 100));
    r.worker_pid = w.remote_pid;
    r.host = w.host;
    complete(std::move(e), std::move(r));
    w.refused_until.reset();  // the next job gets its one try at once: it ends, or it starts
  }
}

void PoolManager::make_room_for_jobs(Worker& w, Millis refusing) {
  // When no job runs anywhere, nothing will free a process but a worker: the workers took the
  // room their jobs need (-j2 under ulimit -u 4, the coordinator's two threads counting too).
  // One leaves, and the pool stays that much smaller, as with too few descriptors.
  // Until one that left is gone (reaped) and a second has passed, no other leaves: its process
  // may be what the next try needs.
  auto now = Clock::now();
  if (w.remote || refusing < kShrinkAfter || now - last_shrink_ < kShrinkAfter) return;
  size_t staying = 0;
  for (const auto& other : workers_) {
    if (other->current) return;  // a job runs: its end frees a process
    if (other->retiring) return;
    ++staying;
  }
  if (staying < 2) return;
  last_shrink_ = now;
  proc_capacity_ = staying - 1;
  w.retiring = true;  // its stdin is closed once written: it exits, and is not replaced
  w.retire_by = now + options_.backstop_grace;
  if (!told_proc_capacity_) {
    told_proc_capacity_ = true;
    log::warn(
        "the limit on processes leaves no room for the jobs of {} workers: running {} jobs at a "
        "time instead of {}; raise ulimit -u (or the cgroup's pids.max) to run more",
        staying, proc_capacity_, live_slots());
  } else {
    log::debug("the limit on processes: down to {} workers", proc_capacity_);
  }
}

void PoolManager::kill_job_processes(Worker& w) {
  if (w.remote) return;
  std::vector<pid_t> groups;
  if (w.job_pid > 0) groups.push_back(static_cast<pid_t>(w.job_pid));
  // It may have started the job without our hearing of it (stopped right after its spawn): each
  // of its children leads a job's process group.
  for (pid_t child : children_of(w.proc->pid())) {
    if (std::find(groups.begin(), groups.end(), child) == groups.end()) groups.push_back(child);
  }
  for (pid_t group : groups) {
    ::kill(-group, SIGKILL);
    w.job_groups.push_back(group);
  }
}

void PoolManager::end_job_ourselves(size_t index, Status status, const std::string& why) {
  Worker& w = *workers_[index];
  kill_job_processes(w);
  set_running(w, false);
  Entry e = std::move(*w.current);
  w.current.reset();
  w.backstop.reset();
  auto now = Clock::now();
  Result r;
  r.status = status;
  r.error =
      w.remote ? why + "; its connection to " + (w.host.empty() ? w.slot_host : w.host) + " was cut"
               : why;
  if (!w.remote) r.signal = SIGKILL;
  r.worker_pid = w.remote_pid;
  r.host = w.host;
  w.output.seal();
  r.output = std::move(w.output);
  w.output = Output(options_.spill_bytes);
  r.started_us = w.sent_wall_us;
  r.duration_s = std::chrono::duration<double>(now - w.sent_at).count();
  r.ended_us = w.sent_wall_us + static_cast<int64_t>(r.duration_s * 1e6);
  log::warn("job '{}': {}", e.future.job().name, r.error);
  if (status == Status::kTimeout && may_retry(e, status)) {
    retry(std::move(e), "timed out");
  } else {
    complete(std::move(e), std::move(r));
  }
  lose_worker(index, "did not report in time and was killed");
}

void PoolManager::lose_worker(size_t index, const std::string& why) {
  auto x = std::make_unique<Exiting>();
  x->worker = std::move(workers_[index]);
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
  x->why = why;
  Worker& w = *x->worker;
  // Its whole group: a no-op when it already exited; certain when it only hung up; and an ssh
  // takes its ProxyCommand along. Its job's group outlives it: killed too (a remote job's
  // worker ends it there, seeing its stdin close).
  w.proc->kill();
  if (w.current) kill_job_processes(w);
  set_running(w, false);  // its job is killed with it
  x->give_up = Clock::now() + options_.backstop_grace;
  // Normally reaped at once, so its exit status can be named; else within a few polls.
  if (w.proc->try_reap()) settle_loss(*x);
  exiting_.push_back(std::move(x));
}

void PoolManager::settle_loss(Exiting& x) {
  x.settled = true;
  Worker& w = *x.worker;
  if (w.proc->err()) read_stderr(w);
  std::string exit = w.proc->reaped() ? describe_wait_status(w.proc->wait_status())
                                      : std::string("did not exit after SIGKILL");
  std::string what = describe(w) + " " + (x.why.empty() ? exit : x.why);
  SlotState& slot = slots_[w.slot - 1];
  if (!w.hello && w.retiring) {
    // Stopped on purpose before it ever started (the batch ended first): not a failure.
  } else if (!w.hello) {
    // What ssh or srun said is usually the whole story (host unreachable, no such binary).
    std::string said = w.err_tail;
    while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
    if (!w.remote || !w.out_head.empty()) {
      // It ran, and is no procpool worker (a program without the worker hook, the wrong binary,
      // a login banner through ssh): say which command it was and what it did instead.
      std::string printed = w.out_head;
      while (!printed.empty() && std::isspace(static_cast<unsigned char>(printed.back()))) {
        printed.pop_back();
      }
      std::string command = fmt::format("{}", fmt::join(options_.slots[w.slot - 1].command, " "));
      what = fmt::format(
          "the worker command '{}' did not answer as a procpool worker ({})", visible(command),
          printed.empty()
              ? "it " + (x.why.empty() ? exit : x.why)
              : "it printed: " + visible(printed) + (w.out_head.size() >= 200 ? "..." : ""));
    } else if (x.why.empty()) {
      what += " before it started";
    }
    if (!said.empty()) what += "; it said: " + said;
    last_start_failure_ = what;
    log::warn("{}", what);
    // A remote slot twice in a row: its host is down. A local one five times: its binary is
    // gone or broken; the pool must not respawn it forever.
    if (++slot.failed_starts >= (w.remote ? 2 : 5)) {
      slot.lost = true;
      log::error(
          "giving up on worker slot {}{}: it could not start {} times in a row; the batch "
          "goes on with {} other slot(s)",
          w.slot, w.remote ? " on " + w.slot_host : "", slot.failed_starts, live_slots());
    }
  } else {
    slot.failed_starts = 0;
    if (!w.retiring || w.current) log::warn("{}", what);
  }
  if (w.ahead) {
    // Never started: placed again (before the job it was sent behind, which goes first).
    Entry e = std::move(*w.ahead);
    w.ahead.reset();
    place_returned(std::move(e));
  }
  if (w.current) {
    Entry e = std::move(*w.current);
    w.current.reset();
    bool started = w.job_pid > 0 || w.may_have_run;
    if (!started && e.stopped) {
      --e.attempts;  // it never ran: not an attempt
      Result r;
      r.status = Status::kCancelled;
      r.error = "stopped by ProcessPool::stop before it started";
      complete(std::move(e), std::move(r));
    } else if (!started && !terminating_) {
      --e.attempts;  // it never ran: not an attempt
      pending_.push_front(std::move(e));
    } else if (may_retry(e, Status::kCrashed)) {
      retry(std::move(e), "was lost with its worker");
    } else {
      Result r;
      r.status = terminating_ || e.stopped ? Status::kCancelled : Status::kCrashed;
      if (w.proc->reaped() && WIFSIGNALED(w.proc->wait_status())) {
        r.signal = WTERMSIG(w.proc->wait_status());
      }
      r.error = what + " while running this job";
      r.worker_pid = w.remote_pid;
      r.host = w.host;
      w.output.seal();
      r.output = std::move(w.output);
      complete(std::move(e), std::move(r));
    }
  }
  // Broken only once every slot has tried: one unreachable host that fails at once must not
  // end a batch whose other hosts are still connecting.
  bool all_tried = std::all_of(slots_.begin(), slots_.end(),
                               [](const SlotState& s) { return s.lost || s.failed_starts > 0; });
  std::optional<std::string> broken;
  {
    std::lock_guard lock(shared_.mu);
    broken = shared_.broken;
  }
  if (!ever_hello_ && all_tried && !broken) {
    fail_everything("could not start any worker: " + last_start_failure_);
  } else if (live_slots() == 0 && !broken) {
    fail_everything("every worker slot was lost; the last: " + last_start_failure_);
  } else if (broken) {
    // Broken before this worker ended: the first job it was handed has nowhere else to go.
    fail_waiting(*broken);
  }
}

// ---- jobs ------------------------------------------------------------------------------------

void PoolManager::complete(Entry e, Result r) {
  r.attempts = e.attempts;
  if (options_.relative_timeout > 0 && r.ok()) succeeded_.add(r.duration_s);
  Future f = e.future;
  f.set_result(std::move(r));  // done-callbacks run here; their exceptions are logged
  if (!options_.halt_when) return;
  Halt halt = Halt::kNo;
  {
    std::lock_guard lock(shared_.mu);
    if (shared_.halted != Halt::kNo) return;
  }
  try {
    halt = options_.halt_when(f);
  } catch (const std::exception& ex) {
    log::error("the pool's halt_when callback raised: {}", ex.what());
  }
  if (halt == Halt::kNo) return;
  {
    std::lock_guard lock(shared_.mu);
    shared_.halted = halt;
    shared_.shutdown = shared_.cancel_pending = true;
    if (halt == Halt::kNow) shared_.terminate = true;
  }
  // Taken at the top of the next round, before any dispatch: nothing starts after this job.
  shutting_down_ = cancel_pending_ = true;
  if (halt == Halt::kNow) terminating_ = halted_now_ = true;
}

void PoolManager::retry(Entry e, const std::string& why) {
  const Job& job = e.future.job();
  Millis delay = options_.retry_delay;
  for (int i = 1; i < e.attempts && delay < Millis(3'600'000); ++i) delay *= 2;
  log::info("job '{}' {} (attempt {} of {}); retrying{}", job.name, why, e.attempts,
            job.retries + 1, delay.count() ? " in " + format_duration(delay) : "");
  if (delay.count() == 0) {
    pending_.push_front(std::move(e));
  } else {
    delayed_.emplace(Clock::now() + delay, std::move(e));
  }
}

void PoolManager::cancel_waiting() {
  for (auto& [when, e] : delayed_) pending_.push_back(std::move(e));
  delayed_.clear();
  std::deque<Entry> waiting;
  waiting.swap(pending_);
  for (auto& e : waiting) {
    if (!e.running) {
      e.future.cancel();
    } else {
      // A retry in waiting (or a job handed back): the future is already running, so it ends
      // as cancelled data.
      Result r;
      r.status = Status::kCancelled;
      if (!e.returned) r.error = "cancelled before its retry";
      complete(std::move(e), std::move(r));
    }
  }
  // Jobs their hosts hold back (--load, --memfree) have not started either: withdrawn. One
  // that its worker starts just as the withdrawal is on its way is stopped.
  for (auto& w : workers_) {
    if (w->current && w->held) send_stop(*w, false);
    send_stop_ahead(*w, false);  // sent ahead, not started: withdrawn the same way
  }
}

void PoolManager::stop_running() {
  for (auto& w : workers_) {
    if (w->current) send_stop(*w, kill_now_);
    send_stop_ahead(*w, kill_now_);
  }
}

void PoolManager::send_stop(Worker& w, bool now) {
  int wanted = now ? 2 : 1;
  if (w.kill_sent >= wanted) return;
  if (w.proc->to()) append_message(w.wbuf.data(), Kill{w.current->future.job().id, now});
  arm_stop_backstop(w, now);
}

void PoolManager::send_stop_ahead(Worker& w, bool now) {
  if (!w.ahead || w.ahead_killed) return;
  w.ahead_killed = w.ahead_recalled = true;
  if (w.proc->to()) append_message(w.wbuf.data(), Kill{w.ahead->future.job().id, now});
}

void PoolManager::arm_stop_backstop(Worker& w, bool now) {
  w.kill_sent = now ? 2 : 1;
  Millis grace = options_.backstop_grace;
  if (now) {
    // No more grace: the job's group is killed here and now, whatever its worker does.
    if (!w.remote && w.job_pid > 0) ::kill(-static_cast<pid_t>(w.job_pid), SIGKILL);
  } else {
    grace += stop_sequence_length(options_.stop);
  }
  w.backstop = earliest(w.backstop, Clock::now() + grace);
  w.backstop_status = Status::kCancelled;
  w.backstop_why = fmt::format(
      "stopped, and its worker did not end it within {} (stopped or stuck?), so procpool did",
      format_duration(grace));
}

void PoolManager::stop_one(const Future& f) {
  for (auto& w : workers_) {
    if (w->current && w->current->future == f) {
      w->current->stopped = true;
      send_stop(*w, false);
      return;
    }
    if (w->ahead && w->ahead->future == f) {
      w->ahead->stopped = true;
      send_stop_ahead(*w, false);
      return;
    }
  }
  // Lost with its worker, not yet settled: it must end cancelled there, not be run again.
  for (auto& x : exiting_) {
    if (x->worker->current && x->worker->current->future == f) {
      x->worker->current->stopped = true;
      return;
    }
    if (x->worker->ahead && x->worker->ahead->future == f) {
      x->worker->ahead->stopped = true;
      return;
    }
  }
  auto take = [&](Entry& e) {
    if (!e.running) {
      e.future.cancel();  // cancelled by the caller already, unless a race made it running
      return;
    }
    Result r;
    r.status = Status::kCancelled;
    r.error = e.returned ? "stopped by ProcessPool::stop before it started"
                         : "stopped by ProcessPool::stop before its retry";
    complete(std::move(e), std::move(r));
  };
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->future == f) {
      Entry e = std::move(*it);
      pending_.erase(it);
      take(e);
      return;
    }
  }
  for (auto it = delayed_.begin(); it != delayed_.end(); ++it) {
    if (it->second.future == f) {
      Entry e = std::move(it->second);
      delayed_.erase(it);
      take(e);
      return;
    }
  }
}

void PoolManager::fail_everything(const std::string& why) {
  log::error("{}", why);
  broken_ = true;
  {
    std::lock_guard lock(shared_.mu);
    if (!shared_.broken) shared_.broken = why;
    for (auto& f : shared_.incoming) pending_.push_back(Entry{std::move(f)});
    shared_.incoming.clear();
    shared_.shutdown = true;
  }
  shutting_down_ = true;
  fail_waiting(why);
}

void PoolManager::fail_waiting(const std::string& why) {
  for (auto& [when, e] : delayed_) pending_.push_back(std::move(e));
  delayed_.clear();
  std::deque<Entry> waiting;
  waiting.swap(pending_);
  for (auto& e : waiting) {
    if (!e.running && !e.future.set_running_or_notify_cancel()) continue;
    Result r;
    r.status = Status::kError;
    r.error = why;
    complete(std::move(e), std::move(r));
  }
}

void PoolManager::abandon(const std::string& why) noexcept {
  try {
    log::critical("{}", why);
    for (auto& x : exiting_) {
      if (!x->settled) workers_.push_back(std::move(x->worker));
    }
    std::erase_if(exiting_, [](const auto& x) { return !x->worker; });
    for (auto& w : workers_) {
      w->proc->kill();
      kill_job_processes(*w);
      set_running(*w, false);
      for (auto* held : {&w->current, &w->ahead}) {
        if (!*held) continue;
        Result r;
        r.status = Status::kError;
        r.error = why;
        Entry e = std::move(**held);
        held->reset();
        complete(std::move(e), std::move(r));
      }
    }
    fail_everything(why);
    // Reap what was killed, briefly: nothing here may hang the program that owns the pool.
    for (int i = 0; i < 100; ++i) {
      bool all = true;
      for (auto& w : workers_) all = w->proc->try_reap() && all;
      for (auto& x : exiting_) all = x->worker->proc->try_reap() && all;
      if (all) break;
      ::usleep(10'000);
    }
    workers_.clear();
    exiting_.clear();
  } catch (...) {
    // Nothing more can be done; the futures that could be completed were.
  }
}

}  // namespace procpool
