#include <procpool/this_machine.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd.h"

namespace procpool {

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

const std::string& local_host_name() {
  static const std::string name = [] {
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    return std::string(host);
  }();
  return name;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) throw_errno("readlink(/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace procpool
