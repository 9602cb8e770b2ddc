// Facts about this machine and process that the pool and the worker both need.
#pragma once

#include <string>

namespace procpool {

// CPUs this process may run on (the affinity mask, not just the machine's count).
int available_cpus();
// The path of the running binary, which is also the worker (`procpool worker`).
std::string self_exe();
// This machine's host name, as workers report theirs.
const std::string& local_host_name();

}  // namespace procpool
