// procpool: run batches of commands in parallel on a pool of long-lived workers and report each
// result the moment it completes.
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/exit_status.h"
#include "cli/map_flags.h"
#include "cli/run_command.h"
#include "cli/signals.h"
#include "cli/unknown_option.h"
#include "common/fd.h"
#include "common/log.h"
#include "worker/worker.h"

namespace {

constexpr const char* kExitStatusHelp =
    "Exit status: 0 every job succeeded; 1 some job failed, timed out, crashed or could not "
    "start; 2 bad usage or input (nothing was run), or no worker could start; 130 after Ctrl-C; "
    "143 after SIGTERM; 141 when the reader of stdout went away.";

void setup_logging(int verbose, bool quiet) {
  using procpool::log::Level;
  procpool::log::setup("procpool", quiet         ? Level::kError
                                   : verbose > 0 ? Level::kDebug
                                                 : Level::kInfo);
}

// Flags shared by `run` and `map`.
void add_common_options(CLI::App* cmd, procpool::RunOptions& run) {
  cmd->add_option("-j,--jobs", run.jobs,
                  "jobs at once: N, N% of the CPUs, +N/-N CPUs more or fewer, or 0 for as many as "
                  "possible (default: one per CPU)");
  cmd->add_option("--format", run.format, "output format: text (default) or jsonl")
      ->check(CLI::IsMember({"text", "jsonl"}));
  cmd->add_flag("-q,--quiet", run.quiet, "only the jobs' output and errors");
  cmd->add_flag("-v,--verbose", run.verbose, "debug detail: worker starts, frames");
  cmd->add_flag("--dry-run", run.dry_run, "print the commands in start order; run nothing");
  auto* output = "Output";
  cmd->add_flag("-k,--keep-order", run.keep_order,
                "report in input order (jobs still run in parallel)")
      ->group(output);
  cmd->add_flag("--tag", run.tag, "start every output line with the job's name and a tab")
      ->group(output);
  cmd->add_flag("--line-buffer,--lb", run.line_buffer,
                "print output lines as they arrive (whole lines), not one block per job; "
                "with -k, the oldest job's as they arrive and each later job's in its turn")
      ->group(output);
  cmd->add_option("--ci", run.ci,
                  "fold each job's block in the CI log: auto (GitHub or GitLab when their "
                  "variables say so; the default), github, gitlab, plain")
      ->group(output);
  cmd->add_flag("--ci-job-commands", run.ci_job_commands,
                "let the CI obey its markup in the jobs' output (GitHub workflow commands: a "
                "linter's ::error:: lines become annotations; GitLab sections); by default it "
                "is shown, not obeyed")
      ->group(output);
  cmd->add_flag("--progress", run.progress,
                "a periodic status line even when stderr is not a terminal (on a terminal it "
                "is always shown)")
      ->group(output);
  cmd->add_option("--color", run.color, "colour headers: auto (the default), always, never")
      ->group(output);
  auto* scheduling = "Scheduling";
  cmd->add_option("--max-tasks-per-worker", run.max_tasks_per_worker,
                  "replace a worker after it ran this many jobs (0: never)")
      ->group(scheduling);
  cmd->add_option("--delay", run.delay, "wait at least this long between job starts")
      ->group(scheduling);
  cmd->add_option("--load", run.load,
                  "start a job only while the 1-minute load average of the host it runs on is "
                  "below N: 4, 2.5, N% of its CPUs (100%: one per CPU), +N or -N CPUs")
      ->type_name("N")
      ->group(scheduling);
  cmd->add_option("--memfree", run.memfree,
                  "start a job only while the host it runs on has SIZE of memory available "
                  "(MemAvailable): 512M, 2G (K M G T: powers of 1024; k m g t: of 1000); running "
                  "jobs are never killed for it")
      ->type_name("SIZE")
      ->group(scheduling);
  cmd->add_option("--timings", run.timings,
                  "past durations from FILE: a procpool journal or a JUnit XML report; known "
                  "jobs start longest first, and --shard balances by them; repeatable")
      ->type_name("FILE")
      ->allow_extra_args(false)
      ->group(scheduling);
  cmd->add_option("--shard", run.shard,
                  "run only shard K of N (K/N, from 1): the same split on every machine, "
                  "balanced by --timings, a job and its needs in one shard")
      ->type_name("K/N")
      ->group(scheduling);
  auto* failures = "Failures";
  cmd->add_option("--timeout", run.timeout,
                  "default time limit per attempt: 30, 1.5s, 200ms, 2m, 1h2m3s, 1d; or N% of "
                  "the median run time of the jobs that succeeded so far (200%) (a job's own "
                  "\"timeout\" wins)")
      ->group(failures);
  cmd->add_option("--term-seq", run.term_seq,
                  "how a timed-out or stopped job's process group is ended: signals with the "
                  "grace between them (default TERM,200ms,KILL)")
      ->group(failures);
  cmd->add_option("--retries", run.retries, "default extra attempts after a failure")
      ->group(failures);
  cmd->add_option("--retry-delay", run.retry_delay,
                  "wait before the first retry, doubled for each later one")
      ->group(failures);
  cmd->add_option("--retry-on", run.retry_on,
                  "which endings are retried: any of failed,timeout,crashed (default all)")
      ->group(failures);
  cmd->add_option("--halt", run.halt,
                  "stop early: never (default), now|soon,fail=N[%], now|soon,success=N[%], "
                  "now|soon,done=N[%]; soon starts nothing new, now also stops running jobs")
      ->group(failures);
  cmd->add_flag("--fail-fast", run.fail_fast, "same as --halt now,fail=1")->group(failures);
  cmd->add_option("--mem-limit", run.mem_limit, "address-space limit per job (RLIMIT_AS): 512M, 2G")
      ->group(failures);
  cmd->add_option("--cpu-limit", run.cpu_limit, "CPU-time limit per job (RLIMIT_CPU): 10s, 5m")
      ->group(failures);
  cmd->add_option("--nice", run.nice, "niceness increment for every job (0..19)")->group(failures);
  auto* ci_outputs = "CI outputs";
  cmd->add_option("--junit", run.junit,
                  "write a JUnit XML report to FILE (one testcase per job) for CI test views")
      ->type_name("FILE")
      ->group(ci_outputs);
  cmd->add_option("--joblog", run.joblog,
                  "GNU parallel's job log: a tab-separated line per job as it finishes (+FILE "
                  "appends)")
      ->type_name("FILE")
      ->group(ci_outputs);
  cmd->add_option("--journal", run.journal,
                  "append a JSON line per finished job to FILE, as it finishes; what --resume "
                  "reads")
      ->type_name("FILE")
      ->group(ci_outputs);
  cmd->add_flag("--resume", run.resume,
                "with --journal: skip the jobs that already succeeded; run the rest (failed, "
                "interrupted, new)")
      ->group(ci_outputs);
  cmd->add_flag("--resume-failed", run.resume_failed,
                "the same as --resume (GNU parallel's name: rerun failed jobs, run the rest)")
      ->group(ci_outputs);
  cmd->add_option("--results", run.results_dir,
                  "keep each job's stdout, stderr and meta.json in DIR/<id>-<name>/")
      ->type_name("DIR")
      ->group(ci_outputs);
  auto* reports = "Reports";
  cmd->add_option("--trace", run.trace,
                  "write a Chrome trace (JSON) of the batch to FILE, one lane per worker; open it "
                  "in ui.perfetto.dev or chrome://tracing")
      ->type_name("FILE")
      ->group(reports);
  cmd->add_option("--report", run.report,
                  "write a self-contained HTML report to FILE: summary, timeline, every job's "
                  "output, failures first")
      ->type_name("FILE.html")
      ->group(reports);
  auto* hosts = "More than one machine";
  cmd->add_option("--ssh", run.hosts.ssh,
                  "run workers on HOST through ssh: HOST, N/HOST (N slots; plain HOST gets -j "
                  "slots), ':' for this machine; repeatable")
      ->type_name("HOST")
      ->allow_extra_args(false)  // one host per --ssh: the job file after it stays the file
      ->group(hosts);
  cmd->add_option("--ssh-file", run.hosts.ssh_file, "the --ssh hosts, one a line (# comments)")
      ->type_name("FILE")
      ->group(hosts);
  cmd->add_option("--ssh-cmd", run.hosts.ssh_cmd,
                  "the command used instead of plain ssh, for example 'ssh -F my_config -p 2222'")
      ->type_name("CMD")
      ->group(hosts);
  cmd->add_option("--remote-procpool", run.hosts.remote_procpool,
                  "procpool's path on the other hosts (default: the same path as here)")
      ->type_name("PATH")
      ->group(hosts);
  // A flag that may carry a value after '=' only: `--slurm jobs.json` keeps its job file.
  cmd->add_flag("--slurm{}", run.hosts.srun_args,
                "run each of the -j worker slots as a Slurm task: srun --ntasks=1 "
                "--unbuffered --quiet [SRUN-ARGS] procpool worker; srun's own arguments go "
                "after '=': --slurm='--partition=debug --time=10'")
      ->type_name("[=SRUN-ARGS]")
      ->group(hosts);
  cmd->add_option("--worker-timeout", run.worker_timeout,
                  "how long a worker may take to start (default 30s): an ssh that hangs")
      ->group(hosts);
  cmd->footer(kExitStatusHelp);
}

}  // namespace

int main(int argc, char** argv) {
  // Started with stdout or stderr closed, the first file procpool opens (a journal, a JUnit
  // file) would become it, and jobs' output would land in it.
  if (!procpool::open_missing_standard_descriptors()) return 2;
  // The worker is entered before any CLI parsing: it is started by us, with fixed arguments.
  if (argc >= 2 && std::string(argv[1]) == "worker") {
    procpool::log::setup("procpool worker", procpool::log::Level::kInfo);
    return procpool::worker_main(std::vector<std::string>(argv + 2, argv + argc));
  }

  CLI::App app{"procpool: run batches of commands in parallel; report each result as it completes"};
  app.footer(kExitStatusHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", "procpool 0.1.0");

  procpool::RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Run a job file (JSON array, {\"defaults\",\"jobs\"} object, or JSON Lines), or "
      "with --lines one shell command per line");
  run_cmd->add_option("file", run.file, "job file, or - for stdin (the default)");
  bool lines = false;
  run_cmd->add_flag("--lines", lines, "FILE holds one shell command per line (streamed)");
  add_common_options(run_cmd, run);
  run_cmd->allow_extras();  // what it does not take is judged by parse_command_line

  auto* map_cmd = app.add_subcommand(
      "map",
      "Run TEMPLATE once per input: procpool map 'gzip {}' ::: a.log b.log; inputs from "
      "::: arguments, :::: files, or stdin lines.\nUsage: procpool map [OPTIONS] TEMPLATE "
      "[::: ARG...] [:::: FILE...] (options go before the template: every word from the "
      "template on belongs to the command and its inputs; -- ends the options, for a template "
      "that starts with -)");
  map_cmd->add_flag("-0,--null", run.null_sep, "inputs are separated by NUL, not newline");
  procpool::add_map_flags(map_cmd, run.map);  // -n -N -X -m -L, --colsep, --csv, -a, --shuf...
  add_common_options(map_cmd, run);
  // Everything from the template on belongs to it and its inputs, as with GNU parallel and
  // xargs: in `procpool map gzip -9 ::: -x.log`, -9 and -x.log are not procpool's flags. So
  // the template is not a CLI11 positional (which would let flags after it be parsed) but the
  // first unrecognised word, after which CLI11 stops.
  map_cmd->prefix_command();
  map_cmd->footer(std::string("TEMPLATE: the command, with {} {.} {/} {//} {/.} {#} {%} {1} "
                              "{2}...; then ::: arguments or :::: files (several sources: every "
                              "combination); without them, stdin lines.\n") +
                  kExitStatusHelp);

  procpool::CommandLine line;
  try {
    line = procpool::parse_command_line(app, *map_cmd, argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : procpool::kExitUsage;
  }
  if (line.error) {
    fmt::print(stderr, "{}\nRun with --help for more information.\n", *line.error);
    return procpool::kExitUsage;
  }
  for (auto* cmd : {run_cmd, map_cmd}) {
    if (cmd->parsed()) run.hosts.slurm = cmd->count("--slurm") > 0;
  }
  if (map_cmd->parsed()) {
    run.input = procpool::RunOptions::Input::kMap;
    run.map_words = std::move(line.map_words);
    if (run.map.tagstring) run.tag = true;  // GNU parallel: --tagstring implies --tag
    if (run.map_words.empty()) {
      fmt::print(stderr,
                 "procpool map: the template is missing: give the command to run for each input, "
                 "for example: procpool map 'gzip {{}}' "
                 "::: a.log b.log\nRun with --help for more information.\n");
      return procpool::kExitUsage;
    }
  } else if (lines) {
    run.input = procpool::RunOptions::Input::kLines;
  }
  setup_logging(run.verbose, run.quiet);
  int status = procpool::kExitUsage;
  try {
    status = procpool::run_batch(run);
  } catch (const std::bad_alloc&) {
    // Never an abort with a core dump: say it, and exit as for an input procpool cannot take.
    procpool::log::error("out of memory; nothing more could be done (is ulimit -v too low?)");
  }
  // Stopped by Ctrl-C or SIGTERM: everything is reported and cleaned up, and procpool now dies
  // of that signal, so a shell loop around it stops too (as it does for xargs).
  if (status == procpool::kExitSigint) procpool::SignalEvents::die_of(SIGINT);
  if (status == procpool::kExitSigterm) procpool::SignalEvents::die_of(SIGTERM);
  return status;
}
