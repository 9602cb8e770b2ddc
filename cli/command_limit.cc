#include "cli/command_limit.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

extern char** environ;

namespace procpool {

namespace {

// Room for what the worker adds to a job's environment (PROCPOOL_SLOT and the like) and for
// a slightly different environment on another host.
constexpr size_t kMargin = 4096;

}  // namespace

size_t environment_size() {
  size_t n = sizeof(char*);  // the closing null pointer
  for (char** e = environ; e && *e; ++e) n += std::strlen(*e) + 1 + sizeof(char*);
  return n;
}

size_t command_length_limit(long arg_max, long page, size_t environment) {
  // MAX_ARG_STRLEN, less the NUL.
  size_t one_argument = static_cast<size_t>(std::max(page, 4096L)) * 32 - 1;
  // "sh", "-c", the command: their strings and pointers, and argv's closing null pointer.
  size_t argv = sizeof("sh") + sizeof("-c") + 1 + 4 * sizeof(char*);
  size_t total = arg_max > 0 ? static_cast<size_t>(arg_max) : size_t{128} << 10;
  size_t used = environment + argv + kMargin;
  size_t all_arguments = total > used ? total - used : 0;
  return std::min(one_argument, all_arguments);
}

size_t command_length_limit() {
  return command_length_limit(::sysconf(_SC_ARG_MAX), ::sysconf(_SC_PAGESIZE), environment_size());
}

}  // namespace procpool
