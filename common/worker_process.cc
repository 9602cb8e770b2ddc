#include "common/worker_process.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string_view>
#include <system_error>
#include <thread>

#include "common/spawn.h"
#include "common/worker_command.h"

extern char** environ;

namespace procpool {

WorkerProcess::WorkerProcess(const std::vector<std::string>& command) {
  Pipe to = make_pipe();
  Pipe from = make_pipe();
  Pipe err = make_pipe();
  std::vector<std::string> words = command;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ChildSetup setup;
  setup.stdin_fd = to.read.get();
  setup.stdout_fd = from.write.get();
  setup.stderr_fd = err.write.get();
  setup.search_path = true;  // ssh, srun
  // Marked as a pool's worker: a program that is none (no worker hook) refuses to start a pool
  // of its own, rather than starting pools of itself without end (common/worker_command.h).
  static std::string mark = std::string(kInWorkerVariable) + "=1";
  std::string_view name(mark.data(), mark.size() - 1);  // "PROCPOOL_IN_WORKER="
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    if (!std::string_view(*e).starts_with(name)) envp.push_back(*e);
  }
  envp.push_back(mark.data());
  envp.push_back(nullptr);
  int rc = spawn_child(&pid_, argv[0], argv.data(), envp.data(), setup);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + words[0]);
  to_ = std::move(to.write);
  from_ = std::move(from.read);
  err_ = std::move(err.read);
  exit_fd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  set_nonblocking(to_.get());
  set_nonblocking(from_.get());
  set_nonblocking(err_.get());
}

WorkerProcess::~WorkerProcess() {
  if (reaped_ || pid_ < 0) return;
  kill();
  // The pool destroys a worker once it has exited; this is for the rest (a pool torn down in a
  // hurry). A process killed with SIGKILL exits at once unless it sleeps in the kernel (D state on
  // a hung NFS mount): that one is left after a while rather than hanging whoever destroys us.
  for (int i = 0; i < 200 && !try_reap(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void WorkerProcess::kill() {
  // The unreaped leader keeps the group id ours, so this can never reach someone else's group.
  if (!reaped_) ::kill(-pid_, SIGKILL);
}

bool WorkerProcess::try_reap() {
  if (reaped_) return true;
  pid_t got;
  while ((got = ::waitpid(pid_, &wait_status_, WNOHANG)) < 0 && errno == EINTR) {
  }
  // ECHILD: reaped by someone else (a host program's SIGCHLD handler); it is gone either way.
  if (got == pid_ || (got < 0 && errno == ECHILD)) reaped_ = true;
  return reaped_;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> kids;
  for (pid_t kid; in >> kid;) kids.push_back(kid);
  return kids;
}

}  // namespace procpool
