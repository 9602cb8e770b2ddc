// The library's tests build their pools and jobs the same way: the built procpool as the worker,
// a bounded patience for anything that works.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <procpool/pool.h>

namespace procpool::testing {

// Long enough for anything that works; a hang fails the test instead of blocking it forever.
inline constexpr Duration kPatience{20.0};

inline PoolOptions pool_options(int workers, std::vector<std::string> worker_command = {
                                                 PROCPOOL_BIN, "worker"}) {
  PoolOptions options;
  options.workers = workers;
  options.worker_command = std::move(worker_command);
  return options;
}

inline Job shell_job(const std::string& name, const std::string& cmd) {
  Job j;
  j.name = name;
  j.shell = cmd;
  return j;
}

}  // namespace procpool::testing
