// Which program a pool starts as its worker when PoolOptions::worker_command is empty, and the
// guard that keeps a program that is no worker from starting pools of itself without end.
#pragma once

#include <string>
#include <vector>

namespace procpool {

// Set to "1" in the environment of every worker a pool starts; the worker removes it as it
// starts (so its jobs do not see it). A process that still has it was started as a worker but
// is not running one.
inline constexpr char kInWorkerVariable[] = "PROCPOOL_IN_WORKER";

// `{PROGRAM, "worker"}` for the first procpool binary found: $PROCPOOL_WORKER; else
// installed_worker() when it exists; else `procpool` in one of PATH's directories. Throws
// std::runtime_error naming the three places when none has it.
std::vector<std::string> default_worker_command();
// The procpool binary next to the library's install (its prefix's bin directory, compiled in).
std::string installed_worker();
// Throws std::runtime_error when this process was started as a pool's worker (kInWorkerVariable
// is set) and is about to start a pool instead of running procpool::worker_main(): the worker
// command is a program without the worker hook, which would otherwise start pools of itself.
void refuse_pool_in_a_worker();

}  // namespace procpool
