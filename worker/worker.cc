#include "worker/worker.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>

#include <procpool/this_machine.h>
#include <procpool/worker_main.h>
#include "common/duration.h"
#include "common/fd.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/messages.h"
#include "common/worker_command.h"
#include "worker/spawn.h"
#include "worker/start_gate.h"

namespace procpool {

namespace {

// After a job's main process exits, how long a background child may keep its pipes open
// before we stop waiting for more output (and kill the group).
constexpr Millis kPipeGrace{200};
// Stop reading jobs' pipes while this much is queued for the coordinator: the job then blocks
// on its own write, so a slow reader never makes the worker's memory grow.
constexpr size_t kHighWater = 4u << 20;
constexpr size_t kReadChunk = 64u << 10;
// Once a job's leftovers have had the last step of its stop sequence (SIGKILL), how often to look
// again for ones that came back to us meanwhile, and how long to wait for all of them to die (a
// process in D state cannot) before the job is reported anyway.
constexpr Millis kStrayRecheck{10};
constexpr Millis kStrayGiveUp{1000};
// While the host does not allow the next task to start (--load, --memfree), how often to look
// at it again (GNU parallel looks at the load about once a second).
constexpr Millis kGateRecheck{500};

int64_t wall_us() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

double seconds(const timeval& tv) {
  return tv.tv_sec + tv.tv_usec / 1e6;
}

// One attempt of one job, from spawn to its `end` frame.
struct Running {
  Task task;                                       // what was asked
  pid_t pid = -1;                                  // group leader; -1 when spawning failed
  Fd out, err;                                     // the job's output pipes, closed at EOF
  Clock::time_point started;                       // monotonic start
  int64_t started_wall = 0;                        // wall-clock start
  std::optional<Clock::time_point> deadline;       // timeout, if any
  bool exited = false;                             // the leader has been reaped
  int wait_status = 0;                             // its status from wait4
  rusage usage{};                                  // its resource use
  std::optional<Clock::time_point> pipes_give_up;  // end of the pipe grace after exit
  std::optional<EndHow> stopped_for;               // timeout or killed, once stopping began
  size_t next_stop = 0;                            // next step of task.stop to take
  std::optional<Clock::time_point> next_stop_at;   // when to take it
  // After the leader ended: what is still under the worker is the job's and is being stopped
  // (the stop sequence above, now aimed at those processes) before `result` is reported.
  std::optional<Ended> result;                     // set once sweeping began
  int stray_signal = 0;                            // the step in force, for late arrivals
  std::vector<pid_t> signalled;                    // ... who got it already (unreaped children)
  std::optional<Clock::time_point> sweep_give_up;  // report anyway past this
};

// Our children, as the kernel lists them per thread (a read, not a walk through every process
// on the machine). Every one is unreaped, and we are its only reaper: until we reap it its pid
// cannot name anyone else, even if it has just died.
std::vector<pid_t> children_of_this_process() {
  std::vector<pid_t> kids;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return kids;
  while (dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    for (pid_t pid; in >> pid;) kids.push_back(pid);
  }
  ::closedir(tasks);
  return kids;
}

// Reaps what has exited among our children; true while any is left (running or not).
bool have_children() {
  for (;;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid == 0) return true;
    if (pid < 0 && errno != EINTR) return false;  // ECHILD
  }
}

class Worker {
 public:
  explicit Worker(std::string default_cwd) : default_cwd_(std::move(default_cwd)) {}
  int run();

 private:
  void handle_frame(std::string_view body);
  // Starts the first queued task.
  void start_next();
  // Whether the host allows the first queued task to start now (its --load, --memfree); when it
  // does not, says so to the coordinator once per task and sets gate_recheck_.
  bool may_start();
  void report_spawn_failure(const Running& r, const std::string& why, EndHow how = EndHow::kError);
  // Sends how a job that was started (or failed to) ended, remembering it for Task::ahead.
  void report(const Ended& end);
  // Hands a queued task back unstarted (EndHow::kReturned).
  void return_unstarted(std::deque<Task>::iterator it);
  // Forgets every queued task (the coordinator is gone or told us to go).
  void drop_queue() {
    queue_.clear();
    inputs_.clear();
  }
  // Adds a piece of a job's stdin (a stream-0 frame, sent before its task) to what it will read.
  void take_input(const OutputPiece& piece);
  // Reads once from a job pipe and forwards what came; returns the bytes read (0 at EOF/EAGAIN).
  ssize_t read_job_pipe(Fd& fd, Stream s);
  void reap();
  void begin_stop(EndHow why);
  void take_stop_step();
  void on_timers();
  void maybe_finish();
  void kill_group_and_reap(pid_t pgid);
  // Starts stopping what the ended job left under us; sends `end` at once when nothing is.
  void sweep_or_report(Ended end);
  // Sends the step in force to every leftover that has not had it yet (and to its group).
  void signal_strays();
  // Reaps what has exited; true while a child is left that the sweep has not given up on.
  bool have_strays();
  void report_swept();
  void kill_strays();
  template <typename Message>
  void send(const Message& m) {
    append_message(wbuf_.data(), m);
  }
  std::optional<Clock::time_point> next_timer() const;

  Fd sigfd_;                // SIGCHLD, SIGTERM, SIGHUP, SIGINT as readable events
  FrameReader reader_;      // frames from the coordinator
  WriteBuffer wbuf_;        // frames to the coordinator
  std::deque<Task> queue_;  // tasks received and not yet started
  // The stdin of queued tasks that have one, by job id: a file in memory the job reads (as GNU
  // parallel's --pipe jobs read a pipe), so a job that reads slowly or not at all never stalls
  // this loop. `error` says why it could not be held; the job then fails with it.
  struct Input {
    Fd file;
    std::string error;
  };
  std::map<uint64_t, Input> inputs_;
  std::optional<Running> job_;   // the job running now
  bool input_closed_ = false;    // the coordinator closed our stdin (or is gone)
  int slot_ = 0;                 // our slot as last told, exported as PROCPOOL_SLOT
  pid_t own_pgid_ = 0;           // our process group: never signalled as a stray's
  pid_t own_sid_ = 0;            // our session: a stray's group in it is signalled only if it leads
  std::vector<pid_t> given_up_;  // strays that outlived a sweep (stuck, or not ours to signal)
  std::string default_cwd_;      // where jobs without a cwd run ("": where we were started)
  StartGate gate_{StartGate::proc_root()};  // this host's load and memory, for tasks
  uint64_t held_ = 0;                       // the queued task we said is held (0: none)
  // How the last job we started ended, for a task sent ahead of it (Task::ahead).
  bool last_ok_ = true;
  bool last_refused_ = false;
  std::optional<Clock::time_point> gate_recheck_;  // when to look at the host again for it
};

void Worker::handle_frame(std::string_view body) {
  ToWorker message = decode_to_worker(body);
  if (auto* task = std::get_if<Task>(&message)) {
    if (task->cwd.empty()) task->cwd = default_cwd_;
    if (task->slot > 0 && task->slot != slot_) {
      // In our own environment, so jobs inherit it without a per-job environment copy.
      slot_ = task->slot;
      ::setenv("PROCPOOL_SLOT", std::to_string(slot_).c_str(), 1);
    }
    queue_.push_back(std::move(*task));
    return;
  }
  if (auto* back = std::get_if<Withdraw>(&message)) {
    // Not started yet: handed back. Started already (or ended): the coordinator hears so.
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->id == back->id) {
        return_unstarted(it);
        return;
      }
    }
    return;
  }
  const Kill& kill = std::get<Kill>(message);
  if (job_ && job_->task.id == kill.id) {
    if (kill.now) {
      // A second Ctrl-C: no more grace, whatever step the stop sequence had reached.
      job_->task.stop = {{SIGKILL, Millis(0)}};
      job_->stopped_for.reset();
    }
    begin_stop(EndHow::kKilled);
    return;
  }
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->id == kill.id) {
      queue_.erase(it);
      inputs_.erase(kill.id);
      Ended end;
      end.id = kill.id;
      end.how = EndHow::kKilled;
      send(end);
      return;
    }
  }
}

void Worker::take_input(const OutputPiece& piece) {
  if (piece.stream != 0) throw ProtocolError("output frame from the coordinator");
  Input& in = inputs_[piece.id];
  if (!in.error.empty()) return;
  if (!in.file) {
    // In memory, like the frame it came in; a file in /tmp where memfd_create is missing.
    in.file.reset(::memfd_create("procpool-stdin", MFD_CLOEXEC));
    if (!in.file) in.file.reset(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!in.file) {
      in.error = std::strerror(errno);
      return;
    }
  }
  std::string_view left = piece.bytes;
  while (!left.empty()) {
    ssize_t n = ::write(in.file.get(), left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      in.error = n < 0 ? std::strerror(errno) : "a write made no progress";
      in.file.reset();
      return;
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
}

void Worker::return_unstarted(std::deque<Task>::iterator it) {
  Ended end;
  end.id = it->id;
  end.how = EndHow::kReturned;
  inputs_.erase(it->id);
  queue_.erase(it);
  send(end);
}

void Worker::report(const Ended& end) {
  last_ok_ = end.how == EndHow::kExited && end.code == 0;
  last_refused_ = end.how == EndHow::kRefused;
  send(end);
}

void Worker::start_next() {
  // Sent ahead of the job that just ended, and that end is not one it may follow: handed back,
  // for the coordinator to decide (a halt, a pause at the process limit).
  Ahead ahead = queue_.front().ahead;
  if ((ahead == Ahead::kAfterOk && !last_ok_) || (ahead == Ahead::kAfterEnd && last_refused_)) {
    return_unstarted(queue_.begin());
    return;
  }
  auto now = Clock::now();
  Running r;
  r.task = std::move(queue_.front());
  queue_.pop_front();
  r.started = now;
  r.started_wall = wall_us();
  // Taken out now: whatever happens to this attempt, the next one is sent its input afresh.
  std::optional<Input> input;
  if (auto it = inputs_.find(r.task.id); it != inputs_.end()) {
    input = std::move(it->second);
    inputs_.erase(it);
  }
  try {
    if (input && !input->error.empty()) throw SpawnError("cannot hold its stdin: " + input->error);
    if (input && ::lseek(input->file.get(), 0, SEEK_SET) < 0) throw_errno("lseek (its stdin)");
    Spawned s = spawn_task(r.task, input ? input->file.get() : -1);
    r.pid = s.pid;
    r.out = std::move(s.out);
    r.err = std::move(s.err);
  } catch (const SpawnError& e) {
    if (e.transient()) {
      // Handed back: another worker may get a process first, and only the coordinator sees
      // whether any does (a limit shared by all of them is not this worker's to judge).
      report_spawn_failure(r, e.what(), EndHow::kRefused);
      return;
    }
    report_spawn_failure(r, e.what());
    return;
  } catch (const std::exception& e) {
    // Whatever else went wrong costs this job, not the worker and the jobs after it.
    report_spawn_failure(r, std::string("cannot start it: ") + e.what());
    return;
  }
  if (r.task.timeout) r.deadline = r.started + *r.task.timeout;
  send(Started{r.task.id, r.pid});
  job_ = std::move(r);
}

bool Worker::may_start() {
  const Task& next = queue_.front();
  if (!next.max_load && !next.min_memory_available) return true;
  auto now = Clock::now();
  if (held_ == next.id && gate_recheck_ && now < *gate_recheck_) return false;
  GateVerdict verdict = gate_.check(next);
  if (!verdict.unknown.empty()) send(Gate{next.id, false, verdict.unknown});
  if (verdict.held.empty()) {
    held_ = 0;
    gate_recheck_.reset();
    return true;
  }
  if (held_ != next.id) send(Gate{next.id, true, verdict.held});
  held_ = next.id;
  gate_recheck_ = now + kGateRecheck;
  return false;
}

void Worker::report_spawn_failure(const Running& r, const std::string& why, EndHow how) {
  Ended end;
  end.id = r.task.id;
  end.how = how;
  end.err = why;
  end.t0 = r.started_wall;
  end.t1 = wall_us();
  report(end);
}

ssize_t Worker::read_job_pipe(Fd& fd, Stream s) {
  char buf[kReadChunk];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    throw_errno("read (job output)");
  }
  if (n == 0) {
    fd.reset();
    return 0;
  }
  append_output_frame(wbuf_.data(), job_->task.id, static_cast<int>(s),
                      std::string_view(buf, static_cast<size_t>(n)));
  return n;
}

void Worker::reap() {
  // Several at a time: a short read says none is left, without another read to hear EAGAIN.
  signalfd_siginfo infos[8];
  for (;;) {
    ssize_t n = ::read(sigfd_.get(), infos, sizeof infos);
    if (n <= 0) break;
    for (size_t i = 0; i < static_cast<size_t>(n) / sizeof infos[0]; ++i) {
      if (infos[i].ssi_signo != SIGCHLD) {
        // Told to go away: stop the job as if the coordinator had hung up.
        input_closed_ = true;
        drop_queue();
        if (job_ && !job_->stopped_for) begin_stop(EndHow::kKilled);
      }
    }
    if (static_cast<size_t>(n) < sizeof infos) break;
  }
  for (;;) {
    int status;
    rusage ru;
    pid_t pid = ::wait4(-1, &status, WNOHANG, &ru);
    if (pid <= 0) return;  // 0: none left to reap now; -1 (ECHILD): no children at all
    // Anything but our job's leader is an orphan re-parented to us as subreaper: just reaped.
    if (job_ && !job_->exited && pid == job_->pid) {
      job_->exited = true;
      job_->wait_status = status;
      job_->usage = ru;
      job_->pipes_give_up = Clock::now() + kPipeGrace;
    }
  }
}

void Worker::begin_stop(EndHow why) {
  if (job_->result) {
    // The job has ended and is only waiting for its leftovers: no more grace for them.
    job_->task.stop = {{SIGKILL, Millis(0)}};
    job_->next_stop = 0;
    take_stop_step();
    return;
  }
  if (job_->stopped_for) return;
  job_->stopped_for = why;
  job_->next_stop = 0;
  take_stop_step();
}

void Worker::take_stop_step() {
  const auto& steps = job_->task.stop;
  if (job_->result) {
    // Sweeping: each step goes to the leftovers, and after the last one whatever still arrives
    // (the children of the ones just killed) gets SIGKILL until none is left.
    auto now = Clock::now();
    Millis wait = kStrayRecheck;
    job_->stray_signal = SIGKILL;
    if (job_->next_stop < steps.size()) {
      const StopStep& step = steps[job_->next_stop++];
      job_->stray_signal = step.signal;
      if (job_->next_stop < steps.size()) wait = step.grace;
    }
    if (job_->next_stop >= steps.size() && !job_->sweep_give_up) {
      job_->sweep_give_up = now + kStrayGiveUp;
    }
    job_->signalled.clear();
    signal_strays();
    job_->next_stop_at = now + wait;
    return;
  }
  if (job_->next_stop >= steps.size()) {
    job_->next_stop_at.reset();
    return;
  }
  const StopStep& step = steps[job_->next_stop++];
  ::kill(-job_->pid, step.signal);  // the whole group: grandchildren too
  if (job_->next_stop < steps.size()) {
    job_->next_stop_at = Clock::now() + step.grace;
  } else {
    job_->next_stop_at.reset();
  }
}

std::optional<Clock::time_point> Worker::next_timer() const {
  std::optional<Clock::time_point> t;
  if (!job_) return queue_.empty() || input_closed_ ? std::nullopt : gate_recheck_;
  // While the coordinator lags, the pipe grace waits for it (poll wakes on POLLOUT instead).
  auto give_up = wbuf_.pending() < kHighWater ? job_->pipes_give_up : std::nullopt;
  for (const auto& c : {job_->stopped_for ? std::nullopt : job_->deadline, job_->next_stop_at,
                        give_up, job_->sweep_give_up}) {
    if (c && (!t || *c < *t)) t = c;
  }
  return t;
}

void Worker::on_timers() {
  if (!job_) return;
  auto now = Clock::now();
  if (!job_->stopped_for && job_->deadline && now >= *job_->deadline) {
    begin_stop(EndHow::kTimeout);
  }
  if (job_->next_stop_at && now >= *job_->next_stop_at) take_stop_step();
  if (job_->sweep_give_up && now >= *job_->sweep_give_up && have_strays()) {
    // Left out of every later sweep, so they cost the jobs after this one nothing; killed
    // again when the worker exits.
    size_t stuck = 0, foreign = 0;
    for (pid_t pid : children_of_this_process()) {
      if (std::find(given_up_.begin(), given_up_.end(), pid) != given_up_.end()) continue;
      given_up_.push_back(pid);
      (::kill(pid, 0) != 0 && errno == EPERM ? foreign : stuck) += 1;
    }
    if (foreign) {
      log::warn(
          "job {}: {} process(es) it left behind may not be signalled by this user (started "
          "with sudo or setuid?); reporting it anyway",
          job_->task.id, foreign);
    }
    if (stuck) {
      log::warn(
          "job {}: {} process(es) it left behind did not die after SIGKILL (stuck in the "
          "kernel?); reporting it anyway",
          job_->task.id, stuck);
    }
    report_swept();
  }
}

void Worker::maybe_finish() {
  if (!job_ || !job_->exited) return;
  if (job_->result) {
    if (!have_strays()) {
      report_swept();
    } else {
      signal_strays();  // the children of those that died meanwhile
    }
    return;
  }
  bool pipes_open = job_->out.valid() || job_->err.valid();
  if (pipes_open) {
    if (Clock::now() < *job_->pipes_give_up) return;
    // Let the coordinator catch up first, then take what is still buffered in the pipes: all
    // that the main process wrote before it exited is there. A grandchild still writing gets a
    // bounded share, then the group is killed below.
    if (wbuf_.pending() >= kHighWater) return;
    for (int i = 0; i < 16 && job_->out && read_job_pipe(job_->out, Stream::kStdout) > 0; ++i) {
    }
    for (int i = 0; i < 16 && job_->err && read_job_pipe(job_->err, Stream::kStderr) > 0; ++i) {
    }
  }
  Running& r = *job_;
  // Whatever is left of the group (background children, a grandchild holding the pipe) goes.
  kill_group_and_reap(r.pid);
  Ended end;
  end.id = r.task.id;
  end.t0 = r.started_wall;
  end.t1 = wall_us();
  end.dur = std::chrono::duration<double>(Clock::now() - r.started).count();
  end.ut = seconds(r.usage.ru_utime);
  end.st = seconds(r.usage.ru_stime);
  end.rss = r.usage.ru_maxrss;
  if (WIFEXITED(r.wait_status)) {
    end.how = EndHow::kExited;
    end.code = WEXITSTATUS(r.wait_status);
  } else {
    end.how = EndHow::kSignaled;
    end.sig = WTERMSIG(r.wait_status);
  }
  if (r.stopped_for) end.how = *r.stopped_for;
  sweep_or_report(std::move(end));
}

void Worker::kill_group_and_reap(pid_t pgid) {
  // No member left (the usual case): nothing to wait for either.
  if (::kill(-pgid, SIGKILL) != 0 && errno == ESRCH) return;
  // As subreaper we inherit each member as its parent dies, before that parent can be reaped,
  // so waiting on the group until ECHILD collects the whole family, however deep. The leader
  // itself was already reaped; its pid cannot be reused while members keep the group alive.
  while (::waitpid(-pgid, nullptr, 0) > 0 || errno == EINTR) {
  }
}

void Worker::sweep_or_report(Ended end) {
  // A worker runs one job at a time, so whatever is still under us now belongs to the job that
  // just ended: processes that left its group (setsid daemons, setpgid) and were re-parented to
  // us as their parents died. The usual case, none, costs one waitpid.
  if (!have_strays()) {
    report(end);
    job_.reset();
    return;
  }
  Running& r = *job_;
  r.result = std::move(end);  // its times stay the job's own: the sweep is not counted
  // What they write now is not the job's output.
  r.out.reset();
  r.err.reset();
  r.pipes_give_up.reset();
  r.deadline.reset();
  // A job that was stopped has had its stop sequence; its leftovers get no second one.
  if (r.stopped_for) r.task.stop = {{SIGKILL, Millis(0)}};
  r.next_stop = 0;
  take_stop_step();
}

bool Worker::have_strays() {
  for (;;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) {
      std::erase(given_up_, pid);  // reaped at last: its pid may name someone else from now on
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) return false;  // ECHILD: the usual case, one syscall
    break;
  }
  if (given_up_.empty()) return true;
  for (pid_t pid : children_of_this_process()) {
    if (std::find(given_up_.begin(), given_up_.end(), pid) == given_up_.end()) return true;
  }
  return false;
}

void Worker::signal_strays() {
  Running& r = *job_;
  for (pid_t pid : children_of_this_process()) {
    if (std::find(r.signalled.begin(), r.signalled.end(), pid) != r.signalled.end()) continue;
    if (std::find(given_up_.begin(), given_up_.end(), pid) != given_up_.end()) continue;
    r.signalled.push_back(pid);
    // Its group too, when every member of it is the job's: a group it leads (its id is that
    // of our unreaped child, so it cannot be reused), or any group of a session the job made.
    // Never a group of our own session that the stray merely joined (ours, the coordinator's).
    pid_t pgid = ::getpgid(pid);
    pid_t sid = ::getsid(pid);
    bool whole_group =
        pgid > 0 && pgid != own_pgid_ && (pgid == pid || (sid > 0 && sid != own_sid_));
    ::kill(pid, r.stray_signal);
    if (whole_group) ::kill(-pgid, r.stray_signal);
    if (r.stray_signal != SIGKILL && r.stray_signal != SIGCONT) {
      // A stopped process would only act on the signal once continued.
      ::kill(pid, SIGCONT);
      if (whole_group) ::kill(-pgid, SIGCONT);
    }
  }
}

void Worker::report_swept() {
  report(*job_->result);
  job_.reset();
}

void Worker::kill_strays() {
  // At exit, whatever is still under us (a job's leftovers that would not die in time) goes.
  // Each one killed may hand us its own children, so look again until none is left.
  for (int round = 0; round < 100 && have_children(); ++round) {
    for (pid_t pid : children_of_this_process()) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
}

int Worker::run() {
  // Orphans of our jobs come back to us, so they can be killed and reaped (PID 1 may not).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  own_pgid_ = ::getpgrp();
  own_sid_ = ::getsid(0);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGHUP, SIGINT}) sigaddset(&mask, s);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) throw_errno("sigprocmask");
  sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) throw_errno("signalfd");
  set_nonblocking(STDIN_FILENO);
  set_nonblocking(STDOUT_FILENO);

  const std::string& host = local_host_name();
  send(Hello{kProtocolVersion, ::getpid(), host});

  for (;;) {
    if (!job_ && !queue_.empty() && !input_closed_ && may_start()) start_next();
    if (input_closed_ && !job_ && wbuf_.empty()) {
      kill_strays();
      return 0;
    }

    pollfd fds[5];
    int n = 0;
    auto add = [&](int fd, short events) {
      fds[n] = {fd, events, 0};
      return n++;
    };
    int sig_i = add(sigfd_.get(), POLLIN);
    int in_i = input_closed_ ? -1 : add(STDIN_FILENO, POLLIN);
    int out_i = wbuf_.empty() ? -1 : add(STDOUT_FILENO, POLLOUT);
    bool room = wbuf_.pending() < kHighWater;
    int jo_i = job_ && job_->out && room ? add(job_->out.get(), POLLIN) : -1;
    int je_i = job_ && job_->err && room ? add(job_->err.get(), POLLIN) : -1;

    int timeout_ms = -1;
    if (auto t = next_timer()) {
      auto left = std::chrono::ceil<Millis>(*t - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left));
    }
    if (::poll(fds, n, timeout_ms) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }

    if (fds[sig_i].revents) reap();
    // Hung up with nothing left in it: closed without the read that would only say EOF.
    auto take = [&](int i, Fd& fd, Stream s) {
      if (i < 0 || !fds[i].revents) return;
      if (fds[i].revents == POLLHUP) {
        fd.reset();
      } else {
        read_job_pipe(fd, s);
      }
    };
    if (job_) {
      take(jo_i, job_->out, Stream::kStdout);
      take(je_i, job_->err, Stream::kStderr);
    }
    if (in_i >= 0 && fds[in_i].revents) {
      char buf[kReadChunk];
      ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
      if (got > 0) {
        reader_.feed(std::string_view(buf, static_cast<size_t>(got)));
        while (auto f = reader_.next_frame()) {
          if (f->output) {
            take_input(*f->output);
          } else {
            handle_frame(f->body);
          }
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        // The coordinator is gone (sshd sends no signal when the client dies): stop everything.
        input_closed_ = true;
        drop_queue();
        if (job_) begin_stop(EndHow::kKilled);
      }
    }
    on_timers();
    maybe_finish();
    // The next task (sent ahead) starts before the end of the last is written: both go in one
    // write, one wake-up of the coordinator; and through ssh or srun no small write waits
    // behind one the other side has not acknowledged (Nagle's algorithm, up to 40 ms each).
    if (!job_ && !queue_.empty() && !input_closed_ && may_start()) start_next();
    if (out_i >= 0 || !wbuf_.empty()) {
      if (!wbuf_.flush(STDOUT_FILENO)) {
        // Nobody to report to: stop the job and leave without writing more.
        input_closed_ = true;
        drop_queue();
        wbuf_ = WriteBuffer();
        if (job_) begin_stop(EndHow::kKilled);
      }
    }
  }
}

}  // namespace

int worker_main(const std::vector<std::string>& args) {
  // Running as a worker, as the pool that started us expects: our jobs are not workers, and
  // may start pools of their own.
  ::unsetenv(kInWorkerVariable);
  std::string default_cwd;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--cwd" && i + 1 < args.size()) {
      default_cwd = args[++i];
    } else {
      log::error("unknown worker argument '{}' (accepted: --cwd DIR)", args[i]);
      return 2;
    }
  }
  try {
    return Worker(std::move(default_cwd)).run();
  } catch (const std::exception& e) {
    log::error("worker {}: {}", ::getpid(), e.what());
    return 3;
  }
}

int worker_main() {
  log::setup("procpool worker", log::Level::kInfo);
  return worker_main(std::vector<std::string>());
}

}  // namespace procpool
