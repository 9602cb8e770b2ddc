// Starting a child process the way procpool starts every process: in a process group of its
// own, with an empty signal mask and default dispositions (whatever this process blocked or
// ignored), descriptors 0, 1 and 2 as given and nothing else inherited. One helper, so the pool's
// workers and the worker's jobs are set up alike, and every set-up call is checked.
#pragma once

#include <sys/types.h>

namespace procpool {

struct ChildSetup {
  int stdin_fd = -1;          // becomes its stdin; -1: /dev/null
  int stdout_fd = -1;         // becomes its stdout
  int stderr_fd = -1;         // becomes its stderr
  const char* cwd = nullptr;  // its working directory; nullptr: ours
  bool search_path = false;   // look `program` up in our PATH (posix_spawnp)
};

// posix_spawn. Returns 0 with `*pid` set, or the errno starting it failed with (ENOENT, EACCES,
// ENOEXEC, E2BIG, EAGAIN when the process limit is reached, ...). A set-up call that fails is a
// broken invariant: std::system_error naming the call.
int spawn_child(pid_t* pid, const char* program, char* const argv[], char* const envp[],
                const ChildSetup& setup);

// True for the errors that say "not now" rather than "never": the process limit (ulimit -u, a
// cgroup's pids.max) or memory for a new process. Worth waiting for and trying again.
bool spawn_error_is_transient(int err);

}  // namespace procpool
