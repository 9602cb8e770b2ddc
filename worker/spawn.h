// Starting one job's command: its own process group, stdin from /dev/null, stdout and stderr
// into fresh pipes, an empty signal mask and default dispositions, nothing else inherited.
#pragma once

#include <sys/types.h>

#include <stdexcept>

#include "common/fd.h"
#include "common/messages.h"

namespace procpool {

// The command could not be started; the message says why in words a person can act on.
struct SpawnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Spawned {
  pid_t pid = -1;  // leader of the job's process group (pgid == pid)
  Fd out;          // read end of the job's stdout (non-blocking)
  Fd err;          // read end of the job's stderr (non-blocking)
};

Spawned spawn_task(const Task& task);

}  // namespace procpool
