// Starting one job's command: its own process group, stdin from /dev/null (or its input), stdout
// and stderr
// into fresh pipes, an empty signal mask and default dispositions, nothing else inherited.
#pragma once

#include <sys/types.h>

#include <stdexcept>

#include "common/fd.h"
#include "common/messages.h"

namespace procpool {

// The command could not be started; the message says why in words a person can act on.
struct SpawnError : std::runtime_error {
  SpawnError(const std::string& what, int err = 0) : std::runtime_error(what), error(err) {}
  int error;  // the errno behind it, 0 when none
  // The system could not make a process now (the process limit, memory): worth trying again.
  bool transient() const;
};

struct Spawned {
  pid_t pid = -1;  // leader of the job's process group (pgid == pid)
  Fd out;          // read end of the job's stdout (non-blocking)
  Fd err;          // read end of the job's stderr (non-blocking)
};

// `stdin_fd`: what the command reads as stdin; -1: /dev/null.
Spawned spawn_task(const Task& task, int stdin_fd = -1);

}  // namespace procpool
