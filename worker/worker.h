// `procpool worker`: reads task frames on stdin, runs each job, streams output and results back
// as frames on stdout. Speaks only over those two descriptors, so the same loop serves a local
// pipe, ssh and srun.
#pragma once

namespace procpool {

// Runs until stdin closes (then stops any running job and exits). Returns the exit status.
int worker_main();

}  // namespace procpool
