// `procpool worker`: reads task frames on stdin, runs each job, streams output and results back
// as frames on stdout. Speaks only over those two descriptors, so the same loop serves a local
// pipe, ssh and srun. It runs one job at a time and is a child subreaper, so what is still under
// it once a job's main process has ended (daemons that left the job's group) is that job's: it
// gets the job's stop sequence (SIGKILL at once when the job was itself stopped) and is reaped
// before the job's result is sent. A program's own main enters the same loop through the public
// hook, procpool::worker_main() (common/worker_main.h).
#pragma once

#include <string>
#include <vector>

namespace procpool {

// Runs until stdin closes (then stops any running job and exits). Returns the exit status.
// `args` are the words after `procpool worker`: `--cwd DIR` runs jobs that name no working
// directory in DIR (remote workers get the coordinator's, for shared file systems).
int worker_main(const std::vector<std::string>& args);

}  // namespace procpool
