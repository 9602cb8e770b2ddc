// `procpool worker`: reads task frames on stdin, runs each job, streams output and results back
// as frames on stdout. Speaks only over those two descriptors, so the same loop serves a local
// pipe, ssh and srun.
#pragma once

#include <string>
#include <vector>

namespace procpool {

// Runs until stdin closes (then stops any running job and exits). Returns the exit status.
// `args` are the words after `procpool worker`: `--cwd DIR` runs jobs that name no working
// directory in DIR (remote workers get the coordinator's, for shared file systems).
int worker_main(const std::vector<std::string>& args);

}  // namespace procpool
