// `procpool run FILE|-`: run a batch of jobs from a job file and report each as it completes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/hosts.h"
#include "cli/map_inputs.h"

namespace procpool {

// The flags of `procpool run`, as typed; run_batch validates them before anything starts.
struct RunOptions {
  enum class Input { kJobFile, kLines, kMap };
  Input input = Input::kJobFile;       // what `file` (or map_words) holds
  std::string file = "-";              // job file or --lines file, "-" for stdin
  std::vector<std::string> map_words;  // procpool map: TEMPLATE... [::: ARGS] [:::: FILES]
  bool null_sep = false;               // -0: inputs separated by NUL, not newline
  MapOptions map;                      // procpool map: -n, -X, --colsep, -a, --shuf, ...
  bool keep_order = false;             // -k
  bool tag = false;                    // --tag
  bool line_buffer = false;            // --line-buffer
  bool dry_run = false;                // --dry-run
  int max_tasks_per_worker = 0;        // recycle workers
  std::string delay;                   // between job starts
  std::string load;                    // --load: start jobs only below this load average
  std::string memfree;                 // --memfree: ... and with this much memory available
  std::string ci = "auto";             // CI log folding: auto | github | gitlab | plain
  bool ci_job_commands = false;        // GitHub: obey the jobs' own workflow commands
  bool progress = false;               // force the status line when stderr is not a terminal
  std::string color = "auto";          // auto | always | never
  std::string jobs;             // -j: N, N% of CPUs, +N/-N, 0 = all at once; empty = one per CPU
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
  std::string junit;            // --junit: JUnit XML report file
  std::string joblog;           // --joblog: GNU parallel's job log ("+FILE" appends)
  std::string journal;          // --journal: one JSON line per finished job, appended
  bool resume = false;          // --resume: skip jobs the journal says succeeded
  bool resume_failed = false;   // --resume-failed: the same (GNU parallel's name)
  std::string results_dir;      // --results: a folder per job with its output
  std::string trace;            // --trace: Chrome trace-event JSON file
  std::string report;           // --report: self-contained HTML report file
  HostOptions hosts;            // --ssh, --slurm: where the workers run
  std::string worker_timeout;   // --worker-timeout: how long a worker may take to start
  std::vector<std::string> timings;  // --timings: past durations (journal or JUnit XML files)
  std::optional<std::string> shard;  // --shard K/N: run only that part of the batch
};

// Runs the batch (`procpool run` or `procpool map`); returns procpool's exit status.
int run_batch(const RunOptions& options);

}  // namespace procpool
