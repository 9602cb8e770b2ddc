// `procpool run FILE|-`: run a batch of jobs from a job file and report each as it completes.
#pragma once

#include <string>

namespace procpool {

// The flags of `procpool run`, as typed; run_batch validates them before anything starts.
struct RunOptions {
  std::string file = "-";       // job file, "-" for stdin
  std::string jobs;             // -j: N, N% of CPUs, 0 = one per CPU; empty = one per CPU
  std::string format = "text";  // text | jsonl
  bool quiet = false;           // -q
  int verbose = 0;              // -v
  std::string timeout;          // default per-job timeout
  std::string term_seq;         // how to stop a job: TERM,200ms,KILL
  int retries = 0;              // default retries per job
  std::string retry_delay;      // before the first retry, doubled after
  std::string retry_on;         // which endings are retried
  std::string halt = "never";   // GNU parallel's --halt grammar
  bool fail_fast = false;       // --halt now,fail=1
  std::string mem_limit;        // RLIMIT_AS per job
  std::string cpu_limit;        // RLIMIT_CPU per job
  std::string nice;             // niceness of every job
};

// Runs the batch; returns procpool's exit status.
int run_batch(const RunOptions& options);

}  // namespace procpool
