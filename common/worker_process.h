// One process the pool started to be a worker: `procpool worker` itself, or the ssh or srun that
// runs it elsewhere. Passive, as ninja's Subprocess: it owns the pid and the three pipes, and the
// pool's loop decides what to do with them. Destroying it kills what is left of it and reaps it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"

namespace procpool {

class WorkerProcess {
 public:
  // Starts `command` (its first word looked up in PATH) in a process group of its own, with
  // fresh non-blocking pipes on its stdin, stdout and stderr. Throws std::system_error: EMFILE or
  // ENFILE making the pipes, or what posix_spawn said (EAGAIN at the process limit, ENOENT for a
  // program that does not exist).
  explicit WorkerProcess(const std::vector<std::string>& command);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  Fd& to() { return to_; }      // its stdin: frames to it (reset to tell it to finish)
  Fd& from() { return from_; }  // its stdout: frames from it
  Fd& err() { return err_; }    // its stderr: its logs, or what ssh or srun complain of
  // Readable once it has exited (a pidfd), so its exit is seen at once rather than by polling
  // for it; -1 where the kernel has no pidfd_open (before 5.3).
  int exit_fd() const { return exit_fd_.get(); }

  // SIGKILL to its whole process group (an ssh takes its ProxyCommand along). Its jobs lead groups
  // of their own and are not touched. Harmless once it has exited.
  void kill();
  // Reaps it if it has exited, without waiting. True once it is reaped.
  bool try_reap();
  bool reaped() const { return reaped_; }
  int wait_status() const { return wait_status_; }  // valid once reaped

 private:
  pid_t pid_ = -1;
  Fd to_, from_, err_;
  Fd exit_fd_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// The pids of `pid`'s children, from /proc (empty when it has none or is gone).
std::vector<pid_t> children_of(pid_t pid);

}  // namespace procpool
