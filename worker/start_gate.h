// GNU parallel's --load and --memfree as a worker judges them, on its own host, before it starts
// a task that has them (Task::max_load, Task::min_memory_available).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/messages.h"

namespace procpool {

// The 1-minute load average, the first field of /proc/loadavg's text; nullopt when it is not.
std::optional<double> parse_loadavg(std::string_view text);
// Available memory in bytes from /proc/meminfo's text: MemAvailable, or on kernels without it
// (before 3.14) MemFree + Buffers + Cached, as GNU parallel counts; nullopt when it has neither.
std::optional<uint64_t> parse_mem_available(std::string_view text);

// What the host says of a task's start conditions.
struct GateVerdict {
  std::string held;     // why the task may not start yet; "" when it may
  std::string unknown;  // a condition that cannot be judged here, said once per file; "" else
};

class StartGate {
 public:
  // Reads `proc_root`/loadavg and `proc_root`/meminfo: "/proc", or in tests the folder named by
  // $PROCPOOL_PROC_ROOT (see proc_root()).
  explicit StartGate(std::string proc_root) : root_(std::move(proc_root)) {}
  // Reads what `task`'s conditions need (nothing when it has none). A file that cannot be read
  // or understood does not hold the task back.
  GateVerdict check(const Task& task);
  // "/proc", or $PROCPOOL_PROC_ROOT when set: a seam for tests only, which give a worker a
  // fake loadavg and meminfo so --load and --memfree can be held and released on purpose.
  static std::string proc_root();

 private:
  std::string root_;        // where loadavg and meminfo are
  bool told_load_ = false;  // that loadavg cannot be read (once)
  bool told_mem_ = false;   // that meminfo cannot be read (once)
};

}  // namespace procpool
