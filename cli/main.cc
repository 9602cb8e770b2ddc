// procpool: run batches of commands in parallel on a pool of long-lived workers and report each
// result the moment it completes.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/exit_status.h"
#include "cli/map_flags.h"
#include "cli/run_command.h"
#include "cli/signals.h"
#include "cli/template.h"
#include "cli/unknown_option.h"
#include "common/fd.h"
#include "common/job_file.h"
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

// procpool's help on CLI11's layout: option names without CLI11's own syntax (the "{}" of a
// flag that takes a value after '=' only), and each command's usage line written out, as CLI11's
// cannot say what map takes (a template, then its inputs).
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::string usage) : usage_(std::move(usage)) { column_width(34); }
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    std::string text = CLI::Formatter::make_help(app, std::move(name), mode);
    // One blank line between the groups, not CLI11's two.
    for (size_t at; (at = text.find("\n\n\n")) != std::string::npos;) text.erase(at, 1);
    return text;
  }
  std::string make_usage(const CLI::App*, std::string) const override { return usage_ + "\n"; }
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    if (positional) return CLI::Formatter::make_option_name(opt, positional);
    std::string names;
    for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ",-") + s;
    for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ",--") + l;
    return names;
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string opts = CLI::Formatter::make_option_opts(opt);
    if (opts.rfind(" [=", 0) == 0) opts.erase(0, 1);  // --slurm[=SRUN-ARGS]: after '=' only
    return opts;
  }

 private:
  std::string usage_;
};

constexpr const char* kDescription =
    "procpool: run batches of commands in parallel; report each result as it completes";
constexpr const char* kRunUsage = "procpool run [OPTIONS] [FILE]";
constexpr const char* kMapUsage = "procpool map [OPTIONS] TEMPLATE [::: ARG...] [:::: FILE...]";
constexpr const char* kHelpUsage = "procpool help [COMMAND]";

std::string usage_lines() {
  return fmt::format("Usage: {}\n       {}\n       {}", kRunUsage, kMapUsage, kHelpUsage);
}

void set_usage(CLI::App* cmd, const std::string& usage) {
  cmd->formatter(std::make_shared<HelpFormatter>(usage));
}

// "Examples:" and the commands, each followed by what it does, in one column.
std::string examples(const std::vector<std::pair<std::string, std::string>>& lines) {
  size_t width = 0;
  for (const auto& [command, what] : lines) width = std::max(width, command.size());
  std::string out = "Examples:\n";
  for (const auto& [command, what] : lines) {
    out += fmt::format("  {:<{}}  {}\n", command, width, what);
  }
  return out;
}

// The commands, one line each, and where to read more: for the top-level help and for the
// mistakes that end up there.
std::string command_list(const CLI::App& app) {
  std::string out = "Commands:\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    out += fmt::format("  {:<5} {}\n", sub->get_name(), sub->get_description());
  }
  return out + "procpool help COMMAND (or procpool COMMAND --help): its options and examples\n";
}

// Flags shared by `run` and `map`. Every option names its value for what it is (N, DURATION,
// FILE...), never CLI11's TEXT or INT, and belongs to a group of the help.
void add_common_options(CLI::App* cmd, procpool::RunOptions& run) {
  auto* output = "Output";
  cmd->add_option("--format", run.format, "output format: text (default) or jsonl")
      ->type_name("text|jsonl")
      ->check(CLI::IsMember({"text", "jsonl"}).description(""))  // the type name says it
      ->group(output);
  cmd->add_flag("-q,--quiet", run.quiet, "only the jobs' output and errors")->group(output);
  cmd->add_flag("-v,--verbose", run.verbose, "debug detail: worker starts, frames")->group(output);
  cmd->add_flag("--dry-run", run.dry_run, "print the commands in start order; run nothing")
      ->group(output);
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
      ->type_name("auto|github|gitlab|plain")
      ->group(output);
  cmd->add_flag("--ci-job-commands", run.ci_job_commands,
                "let the CI obey its markup in the jobs' output (GitHub workflow commands: a "
                "linter's ::error:: lines become annotations; GitLab sections); by default it "
                "is shown, not obeyed")
      ->group(output);
  cmd->add_flag("--progress", run.progress,
                "a periodic status line even when stderr is not a terminal or TERM is dumb (at "
                "a terminal it is always shown)")
      ->group(output);
  cmd->add_option("--color", run.color,
                  "colour headers: auto (the default: NO_COLOR, FORCE_COLOR, "
                  "CLICOLOR_FORCE and CLICOLOR are honoured), always, never")
      ->type_name("auto|always|never")
      ->group(output);
  auto* scheduling = "Scheduling";
  cmd->add_option("-j,--jobs", run.jobs,
                  "jobs at once: N, N% of the CPUs, +N/-N CPUs more or fewer, or 0 for as many as "
                  "possible (default: one per CPU)")
      ->type_name("N")
      ->group(scheduling);
  cmd->add_option("--max-tasks-per-worker", run.max_tasks_per_worker,
                  "replace a worker after it ran this many jobs (0: never)")
      ->type_name("N")
      ->group(scheduling);
  cmd->add_option("--delay", run.delay, "wait at least this long between job starts")
      ->type_name("DURATION")
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
      ->type_name("DURATION|N%")
      ->group(failures);
  cmd->add_option("--term-seq", run.term_seq,
                  "how a timed-out or stopped job's process group is ended: signals with the "
                  "grace between them (default TERM,200ms,KILL)")
      ->type_name("SIG,DURATION,...")
      ->group(failures);
  cmd->add_option("--retries", run.retries, "default extra attempts after a failure")
      ->type_name("N")
      ->group(failures);
  cmd->add_option("--retry-delay", run.retry_delay,
                  "wait before the first retry, doubled for each later one")
      ->type_name("DURATION")
      ->group(failures);
  cmd->add_option("--retry-on", run.retry_on,
                  "which endings are retried: any of failed,timeout,crashed (default all)")
      ->type_name("ENDING,...")
      ->group(failures);
  cmd->add_option("--halt", run.halt,
                  "stop early: never (default), now|soon,fail=N[%], now|soon,success=N[%], "
                  "now|soon,done=N[%]; soon starts nothing new, now also stops running jobs")
      ->type_name("WHEN,WHAT=N[%]")
      ->group(failures);
  cmd->add_flag("--fail-fast", run.fail_fast, "same as --halt now,fail=1")->group(failures);
  cmd->add_option("--mem-limit", run.mem_limit, "address-space limit per job (RLIMIT_AS): 512M, 2G")
      ->type_name("SIZE")
      ->group(failures);
  cmd->add_option("--cpu-limit", run.cpu_limit, "CPU-time limit per job (RLIMIT_CPU): 10s, 5m")
      ->type_name("DURATION")
      ->group(failures);
  cmd->add_option("--nice", run.nice, "niceness increment for every job (0..19)")
      ->type_name("N")
      ->group(failures);
  auto* ci_files = "CI files";
  cmd->add_option("--junit", run.junit,
                  "write a JUnit XML report to FILE (one testcase per job) for CI test views")
      ->type_name("FILE")
      ->group(ci_files);
  cmd->add_option("--joblog", run.joblog,
                  "GNU parallel's job log: a tab-separated line per job as it finishes (+FILE "
                  "appends)")
      ->type_name("FILE")
      ->group(ci_files);
  cmd->add_option("--journal", run.journal,
                  "append a JSON line per finished job to FILE, as it finishes; what --resume "
                  "reads")
      ->type_name("FILE")
      ->group(ci_files);
  cmd->add_flag("--resume", run.resume,
                "with --journal: skip the jobs that already succeeded; run the rest (failed, "
                "interrupted, new)")
      ->group(ci_files);
  cmd->add_flag("--resume-failed", run.resume_failed,
                "the same as --resume (GNU parallel's name: rerun failed jobs, run the rest)")
      ->group(ci_files);
  cmd->add_option("--results", run.results_dir,
                  "keep each job's stdout, stderr and meta.json in DIR/<id>-<name>/")
      ->type_name("DIR")
      ->group(ci_files);
  cmd->add_option("--trace", run.trace,
                  "write a Chrome trace (JSON) of the batch to FILE, one lane per worker; open it "
                  "in ui.perfetto.dev or chrome://tracing")
      ->type_name("FILE")
      ->group(ci_files);
  cmd->add_option("--report", run.report,
                  "write a self-contained HTML report to FILE: summary, timeline, every job's "
                  "output, failures first")
      ->type_name("FILE.html")
      ->group(ci_files);
  auto* remote = "Remote";
  cmd->add_option("--ssh", run.hosts.ssh,
                  "run workers on HOST through ssh: HOST, N/HOST (N slots; plain HOST gets -j "
                  "slots), ':' for this machine; repeatable")
      ->type_name("HOST")
      ->allow_extra_args(false)  // one host per --ssh: the job file after it stays the file
      ->group(remote);
  cmd->add_option("--ssh-file", run.hosts.ssh_file, "the --ssh hosts, one a line (# comments)")
      ->type_name("FILE")
      ->group(remote);
  cmd->add_option("--ssh-cmd", run.hosts.ssh_cmd,
                  "the command used instead of plain ssh, for example 'ssh -F my_config -p 2222'")
      ->type_name("CMD")
      ->group(remote);
  cmd->add_option("--remote-procpool", run.hosts.remote_procpool,
                  "procpool's path on the other hosts (default: the same path as here)")
      ->type_name("PATH")
      ->group(remote);
  // A flag that may carry a value after '=' only: `--slurm jobs.json` keeps its job file.
  cmd->add_flag("--slurm{}", run.hosts.srun_args,
                "run each of the -j worker slots as a Slurm task: srun --ntasks=1 "
                "--unbuffered --quiet [SRUN-ARGS] procpool worker; srun's own arguments go "
                "after '=': --slurm='--partition=debug --time=10'")
      ->type_name("[=SRUN-ARGS]")
      ->group(remote);
  cmd->add_option("--worker-timeout", run.worker_timeout,
                  "how long a worker may take to start (default 30s): an ssh that hangs")
      ->type_name("DURATION")
      ->group(remote);
}

// A word that names a file, or is named like a job file: `procpool jobs.json` means run.
bool names_a_file(const std::string& word) {
  std::error_code ec;
  auto status = std::filesystem::status(word, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
    return true;
  }
  return word.ends_with(".json") || word.ends_with(".jsonl");
}

// Whether the file `path` holds shell commands, one a line, rather than a job file: read from
// its start (a regular file only: a pipe's bytes would be gone).
bool holds_command_lines(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find('\0') == std::string::npos && procpool::looks_like_command_lines(head);
}

// `words`, each quoted for a shell where it needs it.
std::string quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + procpool::shell_quote(w);
  return out;
}

int unknown_command(const CLI::App& app, const std::string& word) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  fmt::print(stderr, "{}\n{}", procpool::unknown_command_message(word, names), command_list(app));
  return procpool::kExitUsage;
}

// What the first word says before CLI11 parses the line: `procpool` alone, `procpool help
// [COMMAND]`, and a first word that is no command (a typo, a job file or a template given
// without its command). Returns the exit status when that is all, or nullopt to parse: a
// command, or procpool's own --help or --version.
std::optional<int> first_word(const CLI::App& app, const std::vector<std::string>& words) {
  if (words.empty()) {
    fmt::print(stderr, "{}\n{}\n{}", kDescription, usage_lines(), command_list(app));
    return procpool::kExitUsage;
  }
  const std::string& first = words[0];
  if (first == "-h" || first == "--help" || first == "--version") return std::nullopt;
  auto command = [&app](const std::string& name) -> const CLI::App* {
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == name && name != "help") return sub;
    }
    return nullptr;
  };
  if (first == "help") {
    std::string topic = words.size() > 1 ? words[1] : "";
    if (topic.empty() || topic == "help" || topic == "-h" || topic == "--help") {
      fmt::print("{}", app.help());
      return procpool::kExitOk;
    }
    if (const CLI::App* sub = command(topic)) {
      fmt::print("{}", sub->help("procpool"));
      return procpool::kExitOk;
    }
    return unknown_command(app, topic);
  }
  if (command(first)) return std::nullopt;
  if (procpool::looks_like_option(first)) {
    fmt::print(stderr,
               "procpool: the command comes first, then its options: procpool run {} ... or "
               "procpool map {} ...\n{}",
               first, first, command_list(app));
    return procpool::kExitUsage;
  }
  // Not run silently: a word that happens to name a file (a typo'd command, a directory's
  // README) must not start a batch. What to type is one copy away.
  if (names_a_file(first)) {
    fmt::print(stderr, "procpool: '{}' is not a command; to run it: procpool run {}{}\n", first,
               holds_command_lines(first) ? "--lines " : "", quoted(words));
    return procpool::kExitUsage;
  }
  for (const auto& w : words) {
    if (w == ":::" || w == "::::") {  // GNU parallel's line, without map
      fmt::print(stderr,
                 "procpool: '{}' is not a command; to run the template once per input: "
                 "procpool map {}\n",
                 first, quoted(words));
      return procpool::kExitUsage;
    }
  }
  return unknown_command(app, first);
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

  // Only the command named (to run, or to show the help of) gets its options: CLI11 checks
  // each new option against all before it, and building both commands' options was 0.3 ms of a
  // one-job batch. Never destroyed, for the same reason: the process ends with it.
  std::string_view named = argc > 1 ? argv[1] : "";
  if (named == "help" && argc > 2) named = argv[2];
  static CLI::App* const kept = new CLI::App{kDescription, "procpool"};  // reachable: no leak
  CLI::App& app = *kept;
  app.set_help_flag("-h,--help", "show this help and exit");
  app.footer(std::string("procpool help COMMAND (or procpool COMMAND --help): its options and "
                         "examples.\n\n") +
             kExitStatusHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", "procpool 0.1.0", "print procpool's version and exit");
  set_usage(&app, usage_lines());

  procpool::RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "run the jobs of a JSON job file (an array, {\"defaults\", \"jobs\"}, or JSON Lines), "
      "or with --lines one shell command per line");
  set_usage(run_cmd, std::string("Usage: ") + kRunUsage);
  run_cmd
      ->add_option("FILE", run.file, "the job file, or with --lines the commands; - or none: stdin")
      ->type_name("");
  bool lines = false;
  run_cmd->add_flag("--lines", lines, "FILE holds one shell command per line (streamed)")
      ->group("Inputs");
  if (named == "run") add_common_options(run_cmd, run);
  run_cmd->allow_extras();  // what it does not take is judged by parse_command_line
  run_cmd->footer(
      "FILE: a JSON array of jobs, [{\"name\": \"test\", \"cmd\": \"make test\"}, ...]; an "
      "object, {\"defaults\": {...}, \"jobs\": [...]}; or JSON Lines, one job object a line. A "
      "job's keys: name, cmd (a string for the shell, or an array of words), env, cwd, timeout, "
      "retries, needs (names of jobs it waits for).\n\n" +
      examples({
          {"procpool run jobs.json", "every job, as many at once as there are CPUs"},
          {"procpool run -j 4 -k --junit junit.xml jobs.json",
           "4 at once, output in file order, a JUnit report for the CI"},
          {"procpool run --timeout 5m --retries 2 jobs.json",
           "5 minutes an attempt, 2 more attempts after a failure"},
          {"procpool run --lines cmds.txt", "each line of cmds.txt is a shell command"},
          {"ls *.c | sed 's/^/cc -c /' | procpool run --lines", "commands from stdin"},
      }) +
      "\n" + kExitStatusHelp);

  auto* map_cmd = app.add_subcommand(
      "map", "run a command TEMPLATE once per input: ::: arguments, :::: files, or stdin lines");
  set_usage(map_cmd, std::string("Usage: ") + kMapUsage);
  map_cmd->add_flag("-0,--null", run.null_sep, "inputs are separated by NUL, not newline")
      ->group("Inputs");
  if (named == "map") {
    procpool::add_map_flags(map_cmd, run.map);  // -n -N -X -m -L, --colsep, --csv, -a, --shuf...
    add_common_options(map_cmd, run);
  }
  // Everything from the template on belongs to it and its inputs, as with GNU parallel and
  // xargs: in `procpool map gzip -9 ::: -x.log`, -9 and -x.log are not procpool's flags. So
  // the template is not a CLI11 positional (which would let flags after it be parsed) but the
  // first unrecognised word, after which CLI11 stops.
  map_cmd->prefix_command();
  map_cmd->footer(
      std::string("TEMPLATE: the command, with {} {.} {/} {//} {/.} {#} {%} {1} {2}...; then "
                  "::: arguments or :::: files (several sources: every combination); without "
                  "them, stdin lines. procpool's options go before the template: every word "
                  "from the template on belongs to the command and its inputs; -- ends the "
                  "options, for a template that starts with -.\n\n") +
      examples({
          {"procpool map 'gzip {}' ::: *.log", "gzip each .log file, one per CPU at once"},
          {"find . -name '*.jpg' | procpool map 'convert {} {.}.png'",
           "an input per stdin line; {.}: without its extension"},
          {"procpool map -j 8 'curl -sO {}' :::: urls.txt", "each line of urls.txt, 8 at once"},
          {"procpool map 'echo {1} {2}' ::: a b ::: 1 2", "every combination: a 1, a 2, b 1, b 2"},
          {"procpool map --dry-run 'mv {} {.}.bak' ::: *.txt", "print the commands; run nothing"},
      }) +
      "\n" + kExitStatusHelp);

  auto* help_cmd = app.add_subcommand("help", "this help, or a command's: procpool help run");
  set_usage(help_cmd, std::string("Usage: ") + kHelpUsage);
  for (auto* cmd : {run_cmd, map_cmd, help_cmd}) cmd->group("Commands");
  // `procpool`, `procpool help ...`, and a first word that is no command.
  if (auto status = first_word(app, std::vector<std::string>(argv + 1, argv + argc))) {
    return *status;
  }

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
