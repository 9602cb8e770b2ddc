// How long a job's command may be, measured on this machine: what -X and -m fill up to.
#pragma once

#include <cstddef>

namespace procpool {

// The longest `sh -c COMMAND` string a worker can exec here. A worker runs a map job as
// /bin/sh -c COMMAND, and COMMAND is one argument, which Linux caps at MAX_ARG_STRLEN (32
// pages: 128 KiB with 4 KiB pages, the terminating NUL included); all arguments and the
// environment together must also fit in sysconf(_SC_ARG_MAX) (a quarter of the stack limit),
// so the environment procpool was started with (which workers inherit) is measured and
// subtracted, with a margin for the variables the worker adds (PROCPOOL_SLOT, ...).
size_t command_length_limit();

// The same from given numbers, for tests: `arg_max` (sysconf(_SC_ARG_MAX)), `page` (the page
// size) and `environment` (the bytes the environment takes: each string, its NUL and its
// pointer).
size_t command_length_limit(long arg_max, long page, size_t environment);

// The bytes the current environment takes in an exec.
size_t environment_size();

}  // namespace procpool
