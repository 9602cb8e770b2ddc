#include "common/pool.h"

#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include "common/log.h"

#include "common/duration.h"
#include "common/frame.h"

extern char** environ;

namespace procpool {

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

const std::string& local_host_name() {
  static const std::string name = [] {
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    return std::string(host);
  }();
  return name;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) throw_errno("readlink(/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

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

}  // namespace

// A job waiting to be (re)started, with the attempts it has had so far.
struct ProcessPool::Entry {
  Future future;
  int attempts = 0;      // attempts started so far
  bool running = false;  // the future has been marked running (it can no longer be cancelled)
};

// One worker process and everything the manager knows of it.
struct ProcessPool::WorkerProc {
  int slot = 0;                  // 1..N, reused by its replacement ({%} in templates)
  Clock::time_point started;     // when it was started, for the hello deadline
  pid_t pid = -1;                // the local process we started (the worker, ssh or srun)
  Fd to;                         // its stdin: frames to it
  Fd from;                       // its stdout: frames from it
  Fd err;                        // its stderr: the worker's logs, ssh's or srun's complaints
  std::string err_tail;          // stderr held back until hello: quoted if it never comes
  FrameReader reader;            // partial frames from it
  WriteBuffer wbuf;              // frames not yet written to it
  bool hello = false;            // it has introduced itself
  int64_t remote_pid = 0;        // its pid as it reported (differs from pid through ssh)
  std::string host;              // where it runs, as it reported
  std::string slot_host;         // where it runs, as the user named it ("" here)
  bool remote = false;           // job pids are another machine's: never signal them here
  std::optional<Entry> current;  // the job it holds
  int64_t job_pid = -1;          // that job's group leader, once started
  Output output;                 // that job's output so far
  int tasks_done = 0;            // for max_tasks_per_worker
  bool retiring = false;         // its stdin was closed on purpose: exit is expected
  int kill_sent = 0;             // kill frames sent for the current job (2nd one: "now")
};

class ProcessPool::Manager {
 public:
  explicit Manager(ProcessPool& pool) : pool_(pool), slots_(pool.options_.slots.size()) {}
  void run();
  // Last resort after a broken invariant: ends every job and worker so nothing waits forever.
  void abandon(const std::string& why);

 private:
  void start_worker();
  // "worker 1234", "worker 1234 on build2", "worker on build2" (before it said hello).
  std::string describe(const WorkerProc& w) const;
  // Reads what the worker wrote on stderr: passed on once it said hello, held back before.
  void read_stderr(WorkerProc& w);
  int live_slots() const;
  void lose_worker(size_t index, const std::string& why);
  void handle_frame(WorkerProc& w, const json& f);
  void handle_output(WorkerProc& w, const OutputPiece& piece);
  void finish_attempt(WorkerProc& w, const json& end);
  void complete(Entry e, Result r);
  void dispatch();
  // Queues `e` again, after the retry delay (doubled for each attempt after the first).
  void retry(Entry e, const std::string& why);
  bool may_retry(const Entry& e, Status s) const {
    const auto& on = pool_.options_.retry_on;
    return e.attempts <= e.future.job().retries && std::find(on.begin(), on.end(), s) != on.end();
  }
  // Once pending jobs were cancelled (halt "soon", SIGHUP), a failure is not retried either.
  bool shutting_down_after_halt() const { return cancel_pending_; }
  // Writes what is queued for `w`. A worker that stopped reading is not lost yet: the frames it
  // already sent (results!) are still read until its output ends.
  void flush_to(WorkerProc& w, bool closing);
  void take_incoming();
  void terminate_all();
  void fail_everything(const std::string& why);
  void fail_pending(const std::string& why);
  bool finished() const;

  ProcessPool& pool_;
  // Per slot of options_.slots: a slot whose worker cannot start twice in a row (remote: its
  // host is down or unreachable) or five times (local) is lost; the batch goes on without it.
  struct SlotState {
    bool lost = false;
    int failed_starts = 0;  // in a row
  };
  std::vector<SlotState> slots_;
  std::vector<std::unique_ptr<WorkerProc>> workers_;  // live workers
  std::deque<Entry> pending_;                         // waiting for an idle worker
  std::multimap<Clock::time_point, Entry> delayed_;   // retries waiting out --retry-delay
  bool shutting_down_ = false;                        // copied from the pool under its lock
  bool cancel_pending_ = false;
  bool terminating_ = false;
  bool kill_now_ = false;
  bool ever_hello_ = false;         // some worker has started properly
  std::string last_start_failure_;  // why the last of them died
  Clock::time_point last_start_{};  // when the last job was dispatched
};

int ProcessPool::Manager::live_slots() const {
  return static_cast<int>(
      std::count_if(slots_.begin(), slots_.end(), [](const SlotState& s) { return !s.lost; }));
}

std::string ProcessPool::Manager::describe(const WorkerProc& w) const {
  std::string who = w.remote_pid ? fmt::format("worker {}", w.remote_pid)
                    : w.remote   ? std::string("worker")
                                 : fmt::format("worker {}", w.pid);
  return w.remote ? who + " on " + (w.host.empty() ? w.slot_host : w.host) : who;
}

void ProcessPool::Manager::read_stderr(WorkerProc& w) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(w.err.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0 || errno != EAGAIN) w.err.reset();
      return;
    }
    if (w.hello) {
      write_all(STDERR_FILENO, std::string_view(buf, static_cast<size_t>(n)));
    } else {
      constexpr size_t kKeep = 2048;
      w.err_tail.append(buf, static_cast<size_t>(n));
      if (w.err_tail.size() > kKeep) w.err_tail.erase(0, w.err_tail.size() - kKeep);
    }
  }
}

void ProcessPool::Manager::start_worker() {
  auto w = std::make_unique<WorkerProc>();
  // A free slot that is not lost, so slots stay 1..N across replacements: the lowest of those
  // that failed to start least often, so a failing start moves on to the next slot (and host).
  for (int slot = 1; slot <= static_cast<int>(slots_.size()); ++slot) {
    if (slots_[slot - 1].lost) continue;
    bool taken = false;
    for (const auto& other : workers_) taken = taken || other->slot == slot;
    if (taken) continue;
    if (w->slot == 0 || slots_[slot - 1].failed_starts < slots_[w->slot - 1].failed_starts) {
      w->slot = slot;
    }
  }
  if (w->slot == 0) return;
  const WorkerSlot& where = pool_.options_.slots[w->slot - 1];
  w->slot_host = where.host;
  w->remote = where.remote;
  w->output = Output(pool_.options_.spill_bytes);
  Pipe to = make_pipe();
  Pipe from = make_pipe();
  Pipe err = make_pipe();
  std::vector<std::string> cmd = where.command;
  std::vector<char*> argv;
  for (auto& a : cmd) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, to.read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, from.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // nothing we inherited leaks on
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  // Its own process group: a Ctrl-C at the terminal reaches only us, and we decide.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  int rc = posix_spawnp(&w->pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    fail_everything(fmt::format("cannot start a worker ('{}'): {}", cmd[0], std::strerror(rc)));
    return;
  }
  w->to = std::move(to.write);
  w->from = std::move(from.read);
  w->err = std::move(err.read);
  w->started = Clock::now();
  set_nonblocking(w->to.get());
  set_nonblocking(w->from.get());
  set_nonblocking(w->err.get());
  log::debug("started worker {} ({})", w->pid, fmt::join(cmd, " "));
  workers_.push_back(std::move(w));
}

void ProcessPool::Manager::complete(Entry e, Result r) {
  r.attempts = e.attempts;
  e.future.set_result(std::move(r));
}

void ProcessPool::Manager::lose_worker(size_t index, const std::string& why) {
  std::unique_ptr<WorkerProc> w = std::move(workers_[index]);
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
  int status = 0;
  // Its whole group: a no-op when it already exited; certain when it only hung up; and an ssh
  // takes its ProxyCommand along. (Its jobs lead groups of their own.) The unreaped leader
  // keeps the group id ours until the waitpid below.
  ::kill(-w->pid, SIGKILL);
  while (::waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (w->err) read_stderr(*w);
  std::string what = describe(*w) + " " + (why.empty() ? describe_wait_status(status) : why);
  SlotState& slot = slots_[w->slot - 1];
  if (!w->hello && w->retiring) {
    // Stopped on purpose before it ever started (the batch ended first): not a failure.
  } else if (!w->hello) {
    // What ssh or srun said is usually the whole story (host unreachable, no such binary).
    std::string said = w->err_tail;
    while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
    if (why.empty()) what += " before it started";
    if (!said.empty()) what += "; it said: " + said;
    last_start_failure_ = what;
    log::warn("{}", what);
    // A remote slot twice in a row: its host is down. A local one five times: its binary is
    // gone or broken; the pool must not respawn it forever.
    if (++slot.failed_starts >= (w->remote ? 2 : 5)) {
      slot.lost = true;
      log::error(
          "giving up on worker slot {}{}: it could not start {} times in a row; the batch "
          "goes on with {} other slot(s)",
          w->slot, w->remote ? " on " + w->slot_host : "", slot.failed_starts, live_slots());
    }
  } else {
    slot.failed_starts = 0;
    if (!w->retiring || w->current) log::warn("{}", what);
  }
  if (w->current) {
    // The job's group outlives its worker: kill it, and reap whatever of it was re-parented to
    // us (we may be a subreaper); ECHILD at once when none was. A remote job's pid is not ours:
    // its worker, seeing its stdin close, ends it there.
    if (w->job_pid > 0 && !w->remote) {
      ::kill(-static_cast<pid_t>(w->job_pid), SIGKILL);
      while (::waitpid(-static_cast<pid_t>(w->job_pid), nullptr, 0) > 0 || errno == EINTR) {
      }
    }
    Entry e = std::move(*w->current);
    bool started = w->job_pid > 0;
    if (!started && !terminating_) {
      --e.attempts;  // it never ran: not an attempt
      pending_.push_front(std::move(e));
    } else if (!terminating_ && may_retry(e, Status::kCrashed)) {
      retry(std::move(e), "was lost with its worker");
    } else {
      Result r;
      r.status = terminating_ ? Status::kCancelled : Status::kCrashed;
      if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
      r.error = what + " while running this job";
      r.worker_pid = w->remote_pid;
      r.host = w->host;
      r.output = std::move(w->output);
      complete(std::move(e), std::move(r));
    }
  }
  // Broken only once every slot has tried: one unreachable host that fails at once must not
  // end a batch whose other hosts are still connecting.
  bool all_tried = std::all_of(slots_.begin(), slots_.end(),
                               [](const SlotState& s) { return s.lost || s.failed_starts > 0; });
  if (!ever_hello_ && all_tried && !pool_.broken()) {
    fail_everything("could not start any worker: " + last_start_failure_);
  } else if (live_slots() == 0 && !pool_.broken()) {
    fail_everything("every worker slot was lost; the last: " + last_start_failure_);
  } else if (auto broken = pool_.broken()) {
    // Broken before this worker ended: the first job it was handed has nowhere else to go.
    fail_pending(*broken);
  }
}

void ProcessPool::Manager::handle_output(WorkerProc& w, const OutputPiece& piece) {
  if (!w.current) throw ProtocolError("output frame with no job running");
  auto stream = piece.stream == 2 ? Stream::kStderr : Stream::kStdout;
  if (pool_.options_.on_output) {
    pool_.options_.on_output(w.current->future.job(), stream, piece.bytes);
  }
  w.output.append(stream, piece.bytes);
}

void ProcessPool::Manager::handle_frame(WorkerProc& w, const json& f) {
  std::string type = field<std::string>(f, "t");
  if (log::enabled(log::Level::kDebug)) {
    log::debug("worker {} sent {}", w.remote_pid ? w.remote_pid : w.pid, f.dump());
  }
  if (type == "end") {
    finish_attempt(w, f);
  } else if (type == "start") {
    w.job_pid = field<int64_t>(f, "pid");
  } else if (type == "hello") {
    int version = field<int>(f, "v");
    w.remote_pid = field<int64_t>(f, "pid");
    w.host = field<std::string>(f, "host");
    if (version != kProtocolVersion) {
      throw ProtocolError(fmt::format(
          "worker on {} speaks protocol version {}, this procpool speaks {}: run the same "
          "procpool version on both sides",
          w.host, version, kProtocolVersion));
    }
    w.hello = true;
    ever_hello_ = true;
    slots_[w.slot - 1].failed_starts = 0;
    // What it said while starting was held back in case it failed; it did not, so pass it on.
    if (!w.err_tail.empty()) write_all(STDERR_FILENO, w.err_tail);
    w.err_tail.clear();
    log::debug("worker {} on {} is ready", w.remote_pid, w.host);
  } else {
    throw ProtocolError("unknown frame type '" + type + "'");
  }
}

void ProcessPool::Manager::finish_attempt(WorkerProc& w, const json& f) {
  if (!w.current) throw ProtocolError("end frame with no job running");
  Entry e = std::move(*w.current);
  w.current.reset();
  w.kill_sent = 0;
  w.job_pid = -1;
  ++w.tasks_done;

  Result r;
  r.worker_pid = w.remote_pid;
  r.host = w.host;
  r.output = std::move(w.output);
  w.output = Output(pool_.options_.spill_bytes);
  r.started_us = f.value("t0", int64_t{0});
  r.ended_us = f.value("t1", int64_t{0});
  r.duration_s = f.value("dur", (r.ended_us - r.started_us) / 1e6);
  r.user_s = f.value("ut", 0.0);
  r.system_s = f.value("st", 0.0);
  r.max_rss_kb = f.value("rss", int64_t{0});
  if (f.contains("code")) r.exit_code = field<int>(f, "code");
  if (f.contains("sig")) r.signal = field<int>(f, "sig");
  switch (parse_end_how(field<std::string>(f, "how"))) {
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
      r.status = Status::kCancelled;
      r.error = "stopped before it finished";
      break;
    case EndHow::kError:
      r.status = Status::kError;
      r.error = f.value("err", std::string("could not start"));
      break;
  }
  name_limit_hit(e.future.job().limits, r);
  if (!terminating_ && !shutting_down_after_halt() && may_retry(e, r.status)) {
    retry(std::move(e), status_name(r.status));
  } else {
    complete(std::move(e), std::move(r));
  }
  if (pool_.options_.max_tasks_per_worker > 0 &&
      w.tasks_done >= pool_.options_.max_tasks_per_worker) {
    w.retiring = true;
    w.to.reset();  // EOF: the worker exits and is replaced
  }
}

void ProcessPool::Manager::take_incoming() {
  std::vector<Future> incoming;
  {
    std::lock_guard lock(pool_.mu_);
    incoming.swap(pool_.incoming_);
    shutting_down_ = pool_.shutdown_;
    cancel_pending_ = pool_.cancel_pending_;
    terminating_ = pool_.terminate_;
    kill_now_ = pool_.kill_now_;
  }
  for (auto& f : incoming) pending_.push_back(Entry{std::move(f), 0});
  if (cancel_pending_ || terminating_) {
    for (auto& [when, e] : delayed_) pending_.push_back(std::move(e));
    delayed_.clear();
    for (auto& e : pending_) {
      if (!e.running) {
        e.future.cancel();
      } else {
        // A retry in waiting: the future is already running, so it ends as cancelled data.
        Result r;
        r.status = Status::kCancelled;
        r.error = "cancelled before its retry";
        complete(std::move(e), std::move(r));
      }
    }
    pending_.clear();
  }
  if (terminating_) terminate_all();
}

void ProcessPool::Manager::terminate_all() {
  int wanted = kill_now_ ? 2 : 1;
  for (auto& w : workers_) {
    if (w->current && w->kill_sent < wanted && w->to) {
      append_frame(w->wbuf.data(),
                   {{"t", "kill"}, {"id", w->current->future.job().id}, {"now", kill_now_}});
      w->kill_sent = wanted;
    }
  }
}

void ProcessPool::Manager::retry(Entry e, const std::string& why) {
  const Job& job = e.future.job();
  Millis delay = pool_.options_.retry_delay;
  for (int i = 1; i < e.attempts && delay < Millis(3'600'000); ++i) delay *= 2;
  log::info("job '{}' {} (attempt {} of {}); retrying{}", job.name, why, e.attempts,
            job.retries + 1, delay.count() ? " in " + format_duration(delay) : "");
  if (delay.count() == 0) {
    pending_.push_front(std::move(e));
  } else {
    delayed_.emplace(Clock::now() + delay, std::move(e));
  }
}

void ProcessPool::Manager::dispatch() {
  // Retries whose delay is over go first, in the order they became due.
  auto now = Clock::now();
  std::vector<Entry> due;
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    due.push_back(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
  for (auto it = due.rbegin(); it != due.rend(); ++it) pending_.push_front(std::move(*it));
  Millis delay = pool_.options_.start_delay;
  for (auto& w : workers_) {
    // A local worker is this very binary: its first job goes with its start, saving a round
    // trip (a worker that then fails to start hands the job back untouched). A remote one
    // must first say which protocol it speaks; and under --delay the job would start when the
    // worker is up, not when it was sent, so the spacing is counted from its hello.
    bool first_with_start = !w->remote && delay.count() == 0;
    if ((!w->hello && !first_with_start) || w->current || w->retiring || !w->to) continue;
    if (delay.count() && now < last_start_ + delay) break;
    while (!pending_.empty()) {
      Entry e = std::move(pending_.front());
      pending_.pop_front();
      if (!e.running && !e.future.set_running_or_notify_cancel()) continue;
      e.running = true;
      ++e.attempts;
      json run = make_run_frame(e.future.job(), pool_.options_.stop);
      run["slot"] = w->slot;
      last_start_ = now;
      if (log::enabled(log::Level::kDebug)) {
        log::debug("worker {} gets {}", w->remote_pid, run.dump());
      }
      append_frame(w->wbuf.data(), run);
      w->current = std::move(e);
      break;
    }
  }
}

void ProcessPool::Manager::flush_to(WorkerProc& w, bool closing) {
  if (!w.to) return;
  if (!w.wbuf.flush(w.to.get())) {
    w.to.reset();
    w.wbuf = WriteBuffer();
  } else if (closing && w.wbuf.empty()) {
    w.to.reset();
  }
}

void ProcessPool::Manager::abandon(const std::string& why) {
  for (auto& w : workers_) {
    ::kill(-w->pid, SIGKILL);
    ::waitpid(w->pid, nullptr, 0);
    if (w->job_pid > 0 && !w->remote) ::kill(-static_cast<pid_t>(w->job_pid), SIGKILL);
    if (w->current) {
      Result r;
      r.status = Status::kError;
      r.error = why;
      complete(std::move(*w->current), std::move(r));
    }
  }
  workers_.clear();
  fail_everything(why);
}

void ProcessPool::Manager::fail_everything(const std::string& why) {
  log::error("{}", why);
  {
    std::lock_guard lock(pool_.mu_);
    if (!pool_.broken_) pool_.broken_ = why;
    for (auto& f : pool_.incoming_) pending_.push_back(Entry{std::move(f), 0});
    pool_.incoming_.clear();
    pool_.shutdown_ = true;
  }
  shutting_down_ = true;
  fail_pending(why);
}

void ProcessPool::Manager::fail_pending(const std::string& why) {
  for (auto& e : pending_) {
    if (!e.running && !e.future.set_running_or_notify_cancel()) continue;
    Result r;
    r.status = Status::kError;
    r.error = why;
    complete(std::move(e), std::move(r));
  }
  pending_.clear();
}

bool ProcessPool::Manager::finished() const {
  if (!shutting_down_ || !pending_.empty() || !delayed_.empty()) return false;
  for (const auto& w : workers_) {
    if (w->current) return false;
  }
  return true;
}

void ProcessPool::Manager::run() {
  bool closing = false;  // workers' stdins closed for the final shutdown
  for (;;) {
    take_incoming();
    if (!pool_.broken()) {
      // Start workers as the work needs them, up to one per slot: a batch of one job starts
      // one worker, not -j of them (each costs an exec, or an ssh connection).
      auto waiting_for_work = std::count_if(workers_.begin(), workers_.end(), [](const auto& w) {
        return !w->current && !w->retiring;
      });
      while (static_cast<int64_t>(pending_.size()) > waiting_for_work &&
             static_cast<int>(workers_.size()) < live_slots() && !pool_.broken()) {
        size_t before = workers_.size();
        start_worker();
        if (workers_.size() == before) break;
        ++waiting_for_work;
      }
    }
    dispatch();
    // Write what dispatch queued now: waiting for the next poll to report the pipe writable
    // would cost every job a poll round (the pipe almost always has room).
    for (auto& w : workers_) {
      if (!w->wbuf.empty()) flush_to(*w, closing);
    }
    if (finished() && !closing) {
      closing = true;
      for (auto& w : workers_) {
        w->retiring = true;
        if (w->wbuf.empty()) w->to.reset();
        // One still starting (an ssh still connecting) is not waited for.
        if (!w->hello) ::kill(-w->pid, SIGKILL);
      }
    }
    if (closing && workers_.empty()) return;

    std::vector<pollfd> fds;
    fds.push_back({pool_.wake_read_.get(), POLLIN, 0});
    for (auto& w : workers_) {
      fds.push_back({w->from.get(), POLLIN, 0});
      fds.push_back({w->wbuf.empty() || !w->to ? -1 : w->to.get(), POLLOUT, 0});
      fds.push_back({w->err ? w->err.get() : -1, POLLIN, 0});
    }
    std::optional<Clock::time_point> wake_at;
    if (!delayed_.empty()) wake_at = delayed_.begin()->first;
    for (const auto& w : workers_) {
      auto deadline = w->started + pool_.options_.start_timeout;
      if (!w->hello && (!wake_at || deadline < *wake_at)) wake_at = deadline;
    }
    if (pool_.options_.start_delay.count() && !pending_.empty()) {
      auto next_start = last_start_ + pool_.options_.start_delay;
      if (!wake_at || next_start < *wake_at) wake_at = next_start;
    }
    int timeout_ms = -1;
    if (wake_at) {
      auto left = std::chrono::ceil<Millis>(*wake_at - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 3'600'000));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents) {
      // Drain first, then re-arm: re-arming first would let a submitter write a byte that the
      // drain swallows while the flag stays set, and every later wake() would be lost. A
      // submission between the drain and the store is still seen by take_incoming() next.
      char buf[256];
      while (::read(pool_.wake_read_.get(), buf, sizeof buf) > 0) {
      }
      pool_.wake_pending_.store(false);
    }
    // Walk backwards: lose_worker erases from workers_.
    for (size_t i = workers_.size(); i-- > 0;) {
      WorkerProc& w = *workers_[i];
      const pollfd& in = fds[1 + 3 * i];
      const pollfd& out = fds[2 + 3 * i];
      if (fds[3 + 3 * i].revents) read_stderr(w);
      std::string lost;
      try {
        if (out.revents) flush_to(w, closing);
        if (in.revents) {
          char buf[65536];
          ssize_t n = ::read(w.from.get(), buf, sizeof buf);
          if (n > 0) {
            w.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
            while (auto f = w.reader.next_frame()) {
              if (f->output) {
                handle_output(w, *f->output);
              } else {
                handle_frame(w, f->body);
              }
            }
          } else if (n == 0) {
            lost = w.reader.mid_frame() ? "died in the middle of a frame" : "";
            if (lost.empty()) lost = "-";  // plain EOF: described by its exit status below
          } else if (errno != EINTR && errno != EAGAIN) {
            lost = std::string("could not be read: ") + std::strerror(errno);
          }
        }
      } catch (const ProtocolError& e) {
        lost = std::string("sent a malformed frame (") + e.what() + ")";
      }
      if (lost.empty() && !w.hello && Clock::now() >= w.started + pool_.options_.start_timeout) {
        lost = "did not start within " + format_duration(pool_.options_.start_timeout);
      }
      if (!lost.empty()) {
        lose_worker(i, lost == "-" ? "" : lost);
      } else {
        // Try at once rather than waiting a poll round: the pipe almost always has room.
        flush_to(w, closing);
      }
    }
  }
}

ProcessPool::ProcessPool(PoolOptions options) : options_(std::move(options)) {
  if (options_.workers <= 0) options_.workers = available_cpus();
  if (options_.worker_command.empty()) options_.worker_command = {self_exe(), "worker"};
  if (options_.slots.empty()) {
    options_.slots.assign(static_cast<size_t>(options_.workers),
                          WorkerSlot{options_.worker_command, "", false});
  }
  options_.workers = static_cast<int>(options_.slots.size());
  // Writing to a worker that died must be an EPIPE we handle, not a signal that kills us.
  ::signal(SIGPIPE, SIG_IGN);
  Pipe wake = make_pipe();
  set_nonblocking(wake.read.get());
  set_nonblocking(wake.write.get());
  wake_read_ = std::move(wake.read);
  wake_write_ = std::move(wake.write);
  manager_ = std::make_unique<Manager>(*this);
  thread_ = std::thread([this] {
    try {
      manager_->run();
    } catch (const std::exception& e) {
      // A broken invariant: nothing may hang waiting for a future that can no longer finish.
      std::string why = std::string("process pool manager failed: ") + e.what();
      try {
        manager_->abandon(why);
      } catch (const std::exception& again) {
        log::critical("{}; then, while cleaning up: {}", why, again.what());
      }
    }
  });
}

ProcessPool::~ProcessPool() {
  shutdown(true);
}

void ProcessPool::wake() {
  if (!wake_pending_.exchange(true)) {
    char one = 1;
    while (::write(wake_write_.get(), &one, 1) < 0 && errno == EINTR) {
    }
  }
}

Future ProcessPool::submit(Job job) {
  std::optional<Future> f;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) {
      throw std::runtime_error(broken_ ? "cannot submit: " + *broken_
                                       : "cannot submit after shutdown");
    }
    if (job.id == 0) job.id = next_id_;
    next_id_ = std::max(next_id_, job.id + 1);
    if (job.name.empty()) job.name = job.command_text();
    f.emplace(std::move(job));
    incoming_.push_back(*f);
  }
  wake();
  return *f;
}

ProcessPool::MapResults ProcessPool::map(std::vector<Job> jobs, std::optional<Duration> timeout) {
  std::vector<Future> futures;
  futures.reserve(jobs.size());
  for (auto& j : jobs) futures.push_back(submit(std::move(j)));
  return MapResults(std::move(futures), timeout);
}

void ProcessPool::shutdown(bool wait, bool cancel_pending) {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    cancel_pending_ = cancel_pending_ || cancel_pending;
  }
  wake();
  if (wait && thread_.joinable()) thread_.join();
}

void ProcessPool::terminate(bool kill_now) {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    terminate_ = true;
    kill_now_ = kill_now_ || kill_now;
  }
  wake();
}

std::optional<std::string> ProcessPool::broken() const {
  std::lock_guard lock(mu_);
  return broken_;
}

ProcessPool::MapResults::MapResults(std::vector<Future> futures, std::optional<Duration> timeout)
    : futures_(std::move(futures)) {
  if (timeout) deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

const Result* ProcessPool::MapResults::next() {
  if (next_ >= futures_.size()) return nullptr;
  std::optional<Duration> left;
  if (deadline_) left = std::max(Duration(0), Duration(*deadline_ - Clock::now()));
  return &futures_[next_++].result(left);
}

}  // namespace procpool
