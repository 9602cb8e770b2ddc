// procpool: run batches of commands in parallel on a pool of long-lived workers and report each
// result the moment it completes.
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/exit_status.h"
#include "cli/run_command.h"
#include "worker/worker.h"

namespace {

constexpr const char* kExitStatusHelp =
    "Exit status: 0 every job succeeded; 1 some job failed, timed out, crashed or could not "
    "start; 2 bad usage or input (nothing was run), or no worker could start; 130 after Ctrl-C; "
    "143 after SIGTERM; 141 when the reader of stdout went away.";

void setup_logging(int verbose, bool quiet) {
  auto logger = spdlog::stderr_color_mt("procpool");
  logger->set_pattern("procpool: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(quiet         ? spdlog::level::err
                    : verbose > 0 ? spdlog::level::debug
                                  : spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  // The worker is entered before any CLI parsing: it is started by us, with fixed arguments.
  if (argc >= 2 && std::string(argv[1]) == "worker") {
    auto logger = spdlog::stderr_color_mt("worker");
    logger->set_pattern("procpool worker: %l: %v");
    spdlog::set_default_logger(logger);
    return procpool::worker_main();
  }

  CLI::App app{"procpool: run batches of commands in parallel; report each result as it completes"};
  app.footer(kExitStatusHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", "procpool 0.1.0");

  procpool::RunOptions run;
  auto* run_cmd = app.add_subcommand("run",
                                     "Run the jobs of a job file (JSON array, "
                                     "{\"defaults\",\"jobs\"} object, or JSON Lines)");
  run_cmd->add_option("file", run.file, "job file, or - for stdin (the default)");
  run_cmd->add_option("-j,--jobs", run.jobs,
                      "jobs at once: N, N% of the CPUs, or 0 for one per CPU (the default)");
  run_cmd->add_option("--format", run.format, "output format: text (default) or jsonl")
      ->check(CLI::IsMember({"text", "jsonl"}));
  run_cmd->add_flag("-q,--quiet", run.quiet, "only the jobs' output and errors");
  run_cmd->add_flag("-v,--verbose", run.verbose, "debug detail: worker starts, frames");
  auto* failures = "Failures";
  run_cmd
      ->add_option("--timeout", run.timeout,
                   "default time limit per attempt: 30, 1.5s, 200ms, 2m, 1h (a job's own "
                   "\"timeout\" wins)")
      ->group(failures);
  run_cmd
      ->add_option("--term-seq", run.term_seq,
                   "how a timed-out or stopped job's process group is ended: signals with "
                   "the grace between them (default TERM,200ms,KILL)")
      ->group(failures);
  run_cmd->add_option("--retries", run.retries, "default extra attempts after a failure")
      ->group(failures);
  run_cmd
      ->add_option("--retry-delay", run.retry_delay,
                   "wait before the first retry, doubled for each later one")
      ->group(failures);
  run_cmd
      ->add_option("--retry-on", run.retry_on,
                   "which endings are retried: any of failed,timeout,crashed (default all)")
      ->group(failures);
  run_cmd
      ->add_option("--halt", run.halt,
                   "stop early: never (default), now|soon,fail=N[%], now|soon,success=N[%], "
                   "now|soon,done=N[%]; soon starts nothing new, now also stops running jobs")
      ->group(failures);
  run_cmd->add_flag("--fail-fast", run.fail_fast, "same as --halt now,fail=1")->group(failures);
  run_cmd
      ->add_option("--mem-limit", run.mem_limit,
                   "address-space limit per job (RLIMIT_AS): 512M, 2G")
      ->group(failures);
  run_cmd->add_option("--cpu-limit", run.cpu_limit, "CPU-time limit per job (RLIMIT_CPU): 10s, 5m")
      ->group(failures);
  run_cmd->add_option("--nice", run.nice, "niceness increment for every job (0..19)")
      ->group(failures);
  run_cmd->footer(kExitStatusHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : procpool::kExitUsage;
  }
  setup_logging(run.verbose, run.quiet);
  return procpool::run_batch(run);
}
