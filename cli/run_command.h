// `procpool run FILE|-`: run a batch of jobs from a job file and report each as it completes.
#pragma once

#include <string>

namespace procpool {

struct RunOptions {
  std::string file = "-";       // job file, "-" for stdin
  int jobs = 0;                 // worker count; 0 = one per CPU
  std::string format = "text";  // text | jsonl
  bool quiet = false;           // -q
  int verbose = 0;              // -v
};

// Runs the batch; returns procpool's exit status.
int run_batch(const RunOptions& options);

}  // namespace procpool
