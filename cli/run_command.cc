#include "cli/run_command.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <memory>
#include <new>
#include <set>

#include <procpool/pool.h>
#include <procpool/this_machine.h>
#include "cli/batch.h"
#include "cli/ci_outputs.h"
#include "cli/ci_style.h"
#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/halt_watch.h"
#include "cli/html_report.h"
#include "cli/jsonl_printer.h"
#include "cli/line_writer.h"
#include "cli/map_source.h"
#include "cli/progress.h"
#include "cli/shard.h"
#include "cli/signals.h"
#include "cli/sources.h"
#include "cli/step_summary.h"
#include "cli/template.h"
#include "cli/text_printer.h"
#include "cli/timings.h"
#include "cli/trace.h"
#include "common/duration.h"
#include "common/fd.h"
#include "common/job_file.h"
#include "common/log.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

// Everything the flags say, checked: a UsageError here means nothing has started.
struct Plan {
  PoolOptions pool;
  JobDefaults defaults;
  HaltPolicy halt;
};

Plan make_plan(const RunOptions& o) {
  Plan p;
  p.pool.workers = o.jobs.empty() ? available_cpus() : parse_jobs(o.jobs, available_cpus());
  p.pool.worker_command = {self_exe(), "worker"};  // this binary is the worker, wherever it is
  // -j is also the slot count of each host named without N/ (as in GNU parallel).
  p.pool.slots = worker_slots(o.hosts, p.pool.workers, std::filesystem::current_path());
  if (!p.pool.slots.empty()) p.pool.workers = static_cast<int>(p.pool.slots.size());
  if (!o.worker_timeout.empty()) {
    p.pool.start_timeout = parse_duration_flag("--worker-timeout", o.worker_timeout, false);
  }
  if (!o.timeout.empty() && o.timeout.back() == '%') {
    p.pool.relative_timeout = parse_timeout_percent(o.timeout);  // jobs' own timeouts still win
  } else if (!o.timeout.empty()) {
    // 0 is no limit, as in GNU parallel (scripts pass --timeout "$T" with T=0 to mean none).
    Millis limit = parse_duration_flag("--timeout", o.timeout, true);
    if (limit.count() > 0) p.defaults.timeout = limit;
  }
  if (!o.term_seq.empty()) p.pool.stop = parse_term_seq(o.term_seq);
  if (o.retries < 0 || o.retries > 1000) {
    throw UsageError(
        fmt::format("--retries {}: expected a whole number from 0 to 1000", o.retries));
  }
  p.defaults.retries = o.retries;
  if (!o.retry_delay.empty()) {
    p.pool.retry_delay = parse_duration_flag("--retry-delay", o.retry_delay, true);
  }
  if (!o.retry_on.empty()) p.pool.retry_on = parse_retry_on(o.retry_on);
  p.halt = o.fail_fast ? parse_halt("now,fail=1") : parse_halt(o.halt);
  // Jobs sent ahead to busy workers: under a halt on failures, one starts only after a success
  // on its worker; a halt on successes or on any end could be reached by any job, so none is.
  using When = HaltPolicy::When;
  p.pool.send_ahead = p.halt.when == When::kNever                ? SendAhead::kAfterAnyEnd
                      : p.halt.count == HaltPolicy::Count::kFail ? SendAhead::kAfterSuccess
                                                                 : SendAhead::kNever;
  Limits& limits = p.defaults.limits;
  if (!o.mem_limit.empty()) limits.memory_bytes = parse_size("--mem-limit", o.mem_limit);
  if (!o.cpu_limit.empty()) limits.cpu = parse_duration_flag("--cpu-limit", o.cpu_limit, false);
  if (!o.nice.empty()) {
    try {
      size_t used = 0;
      int n = std::stoi(o.nice, &used);
      if (used != o.nice.size() || n < -20 || n > 19) throw std::invalid_argument("range");
      limits.nice = n;
    } catch (const std::exception&) {
      throw UsageError("--nice " + o.nice +
                       ": expected a whole number from -20 to 19 (the "
                       "increment added to each job's niceness)");
    }
  }
  if (o.max_tasks_per_worker < 0) {
    throw UsageError(
        fmt::format("--max-tasks-per-worker {}: expected a whole number >= 0 (0: "
                    "never recycle)",
                    o.max_tasks_per_worker));
  }
  p.pool.max_tasks_per_worker = o.max_tasks_per_worker;
  if (!o.delay.empty()) p.pool.start_delay = parse_duration_flag("--delay", o.delay, true);
  if (!o.load.empty()) p.pool.max_load = parse_load(o.load);
  if (!o.memfree.empty()) {
    // GNU parallel's unit prefixes (K M G T P: powers of 1024; k m g t p: of 1000); 0 asks for
    // nothing, as there.
    if (uint64_t bytes = parse_count("--memfree", o.memfree)) p.pool.min_memory_available = bytes;
  }
  if (o.line_buffer && o.format == "jsonl") {
    throw UsageError("--line-buffer goes with text output, not --format jsonl");
  }
  return p;
}

// `workers`: -X and -m spread input that fits one command over them.
std::unique_ptr<JobSource> open_source(const RunOptions& o, const JobDefaults& defaults,
                                       int workers) {
  switch (o.input) {
    case RunOptions::Input::kLines:
      return lines_source(o.file, defaults);
    case RunOptions::Input::kMap:
      return map_source(o.map_words, o.map, o.null_sep, workers, defaults);
    case RunOptions::Input::kJobFile:
      break;
  }
  tell_terminal_reader(o.file,
                       "reading the job file from the terminal (stdin); end with Ctrl-D, or give "
                       "a file: procpool run FILE");
  std::string text = read_input(o.file);
  try {
    return job_file_source(
        parse_job_file(text, o.file == "-" ? std::string("<stdin>") : o.file, defaults));
  } catch (const InputError& e) {
    if (!looks_like_command_lines(text)) throw;
    // A file of shell lines given as a job file: say how to run it.
    throw InputError(fmt::format("{}; it looks like one shell command per line: {}", e.what(),
                                 o.file == "-" ? std::string("procpool run --lines")
                                               : "procpool run --lines " + shell_quote(o.file)));
  }
}

// --shard and longest first: both plan from the whole batch, so it is read before anything
// starts, into a job file source in the order planned (ids stay input order: -k, --halt and the
// files still see input order). A batch with no known durations is left as it streams.
struct Arranged {
  std::unique_ptr<JobSource> source;
  std::unordered_map<uint64_t, size_t> start_rank;  // by id; empty: input order
};

Arranged arrange(const RunOptions& o, std::unique_ptr<JobSource> source) {
  // The split must come out the same on every machine of the matrix, so it uses only the
  // --timings files every machine is given, never a machine's own journal.
  Timings shared;
  for (const auto& f : o.timings) shared.load_file(f);
  Timings history = shared;
  if (!o.journal.empty()) history.load_journal_if_present(o.journal);
  std::optional<ShardSpec> shard;
  if (o.shard) shard = parse_shard(*o.shard);  // also when empty: `--shard "$UNSET"` is a mistake
  // A job file is in memory already; a streamed input is read whole only when --timings asks
  // for a plan (a journal alone, as every --resume has, keeps a long --lines file streaming).
  bool whole = shard || o.input == RunOptions::Input::kJobFile ||
               (!o.timings.empty() && source->drainable());
  bool order = !history.empty() && whole;
  if (!shard && !order) return {std::move(source), {}};
  std::vector<Job> jobs;
  while (auto job = source->next()) jobs.push_back(std::move(*job));
  if (shard) {
    size_t total = jobs.size();
    std::string split = split_fingerprint(jobs, shard->count, shared);
    jobs = select_shard(std::move(jobs), *shard, shared);
    log::info("--shard {}/{}: {} of {} jobs, split {} (every shard of a batch shows the same)",
              shard->index, shard->count, jobs.size(), total, split);
  }
  Arranged out;
  if (order) {
    order_longest_first(jobs, history);
    for (size_t i = 0; i < jobs.size(); ++i) out.start_rank[jobs[i].id] = i;
  }
  out.source = job_file_source(std::move(jobs));
  return out;
}

// What --dry-run prints for a job: the command a shell would run, on one line, its control
// characters shown as escapes (a multi-line script shows its newlines as \n): a command from
// an untrusted job file or input can neither forge a line nor drive the terminal.
// {%} is the slot the job would get if every job took as long: (id - 1) mod workers, plus 1.
std::string dry_run_line(const Job& job, int workers) {
  if (job.argv.empty()) {
    return visible(job.shell_in_slot(static_cast<int>((job.id - 1) % std::max(workers, 1)) + 1));
  }
  std::string line;
  for (const auto& a : job.argv) line += (line.empty() ? "" : " ") + shell_quote(a);
  return visible(line);
}

// --dry-run: the commands in the order they would start (a job after everything it needs);
// with --tag each after its job's name and a tab, as GNU parallel prints them.
int dry_run(JobSource& source, bool tag, int workers) {
  auto line = [tag, workers](const Job& job) {
    return (tag ? visible(job.name) + "\t" : std::string()) + dry_run_line(job, workers) + "\n";
  };
  std::vector<Job> jobs;
  std::set<std::string> done;
  while (auto job = source.next()) {
    if (job->needs.empty() && jobs.empty()) {
      // Nothing is waiting yet: print as they come (streamed inputs, in bounded memory).
      if (!write_all(STDOUT_FILENO, line(*job))) return kExitPipe;
      done.insert(job->name);
      continue;
    }
    jobs.push_back(std::move(*job));
  }
  // The job file was checked for cycles and unknown names, so every pass prints at least one.
  std::vector<bool> printed(jobs.size(), false);
  for (size_t left = jobs.size(); left > 0;) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (printed[i]) continue;
      bool ready = true;
      for (const auto& n : jobs[i].needs) ready = ready && done.count(n);
      if (!ready) continue;
      if (!write_all(STDOUT_FILENO, line(jobs[i]))) return kExitPipe;
      printed[i] = true;
      done.insert(jobs[i].name);
      --left;
    }
  }
  return kExitOk;
}

// " (ulimit -v is 300 MiB)" when an address-space limit is set, else "".
std::string memory_limit_note() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return "";
  return fmt::format(" (ulimit -v is {} MiB)", rl.rlim_cur >> 20);
}

// The recorders the flags ask for, their files already open; `step_summary` says whether
// GitHub's step summary is one of them. Throws UsageError.
std::vector<std::unique_ptr<Recorder>> make_recorders(const RunOptions& o, CiStyle ci_style,
                                                      AlreadyDone& already_done,
                                                      bool& step_summary) {
  std::vector<std::unique_ptr<Recorder>> out;
  add_ci_recorders(o, out, already_done);  // --junit, --joblog, --journal/--resume, --results
  if (auto summary = make_step_summary(ci_style, batch_name(o))) {
    out.push_back(std::move(summary));
    step_summary = true;
  }
  if (!o.trace.empty()) out.push_back(std::make_unique<TraceRecorder>(o.trace));
  if (!o.report.empty()) out.push_back(std::make_unique<HtmlReport>(o.report));
  return out;
}

}  // namespace

int run_batch(const RunOptions& options) {
  Plan plan;
  CiStyle ci_style = CiStyle::kPlain;
  bool color = false;
  std::unique_ptr<JobSource> source;
  Recorders recorders;                              // --junit, --joblog, ...
  AlreadyDone already_done;                         // --resume: the journal's verdict
  std::unordered_map<uint64_t, size_t> start_rank;  // longest first
  bool step_summary = false;                        // GITHUB_STEP_SUMMARY gets one
  std::optional<SignalEvents> signals;              // from here on, taken by the loop
  try {
    plan = make_plan(options);
    Arranged arranged = arrange(options, open_source(options, plan.defaults, plan.pool.workers));
    source = std::move(arranged.source);
    start_rank = std::move(arranged.start_rank);
    if (options.dry_run) return dry_run(*source, options.tag, plan.pool.workers);
    ci_style = parse_ci_style(options.ci);
    color = use_color(options.color);
    // Before the files are made (a Ctrl-C must not leave them half-written) and before any
    // thread starts.
    signals.emplace();
    // Last: it creates files.
    recorders = Recorders(make_recorders(options, ci_style, already_done, step_summary));
  } catch (const UsageError& e) {
    log::error("{}", e.what());
    return kExitUsage;
  } catch (const InputError& e) {
    log::error("{}", e.what());
    return kExitUsage;
  } catch (const std::system_error& e) {
    log::error("cannot start: {}", e.what());
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    log::error(
        "not enough memory to read the jobs{}: raise the limit, split the job file, or "
        "stream commands with --lines (nothing was run)",
        memory_limit_note());
    return kExitUsage;
  }
  auto started = Clock::now();

  // The status line: text output only (jsonl owns stdout, and its readers are programs), and
  // never together with CI folding or live lines, which own the log's layout.
  std::unique_ptr<Progress> progress;
  if (options.format == "text" && ci_style == CiStyle::kPlain && !options.line_buffer &&
      !options.quiet) {
    Progress::Mode mode = progress_mode(options.progress);
    if (mode != Progress::Mode::kOff) {
      progress = std::make_unique<Progress>(mode, source->size());
    }
  }
  std::unique_ptr<LiveLines> live;
  if (options.line_buffer) {
    live = std::make_unique<LiveLines>(options.tag, ci_style, options.ci_job_commands,
                                       options.keep_order);
    plan.pool.on_output = [&live](const Job& job, Stream s, std::string_view bytes) {
      live->add(job, s, bytes);
    };
  }
  std::unique_ptr<Printer> printer;
  if (options.format == "jsonl") {
    printer = std::make_unique<JsonlPrinter>();
  } else {
    TextOptions text{options.quiet, options.tag, live.get()};
    text.ci = ci_style;
    text.color = color;
    text.progress = progress.get();
    text.job_commands = options.ci_job_commands;
    // -q prints no summary, but still every job that did not succeed.
    if (options.quiet) text.annotations_where = "the log";
    if (step_summary) text.annotations_where = "the step summary";
    printer = std::make_unique<TextPrinter>(text);
  }

  // Jobs' orphans whose worker died come back to us to be reaped, not to a PID 1 that may never.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // A log line from any thread clears the status line first, and never lands inside a block.
  if (progress) {
    log::set_guard([p = progress.get()](const std::function<void()>& emit) {
      std::lock_guard lock(output_mutex());
      p->clear();
      emit();
    });
  }
  HaltWatch halt(plan.halt, source->size());
  plan.pool.halt_when = [&halt, &live](const Future& f) {
    Halt h = halt.on_result(f);
    if (h == Halt::kNow && live) live->halted();  // -k: before the jobs it stops end
    return h;
  };

  bool retry_delays = plan.pool.retry_delay.count() > 0;
  ProcessPool pool(std::move(plan.pool));
  if (progress) progress->watch([&pool] { return pool.running(); });
  BatchSettings settings;
  settings.halt_text = options.fail_fast ? "--fail-fast" : "--halt " + options.halt;
  settings.keep_order = options.keep_order;
  settings.already_done = std::move(already_done);
  settings.start_rank = std::move(start_rank);
  // Jobs backing off before a retry free their workers but stay the pool's: rather than idle
  // workers, give up placing late-released jobs exactly (the first order still holds).
  if (retry_delays) settings.planned_in_pool = SIZE_MAX;
  // Streamed inputs may be endless: read only a bounded way ahead of what has been reported.
  if (options.input != RunOptions::Input::kJobFile) {
    auto workers = static_cast<size_t>(pool.workers());
    // Jobs that carry their input (--pipe): those running and a few more a worker, no more.
    auto ahead = source->read_ahead();
    settings.window = ahead ? workers * (1 + *ahead) : std::max<size_t>(1024, 16 * workers);
  }
  BatchEvents events{&*signals, progress.get(), live.get(), &halt};
  Batch batch(pool, *printer, recorders, settings, events);
  BatchOutcome outcome = batch.run(*source);
  if (progress) progress->stop();
  pool.shutdown(/*wait=*/true);
  log::set_guard(nullptr);

  outcome.summary.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  recorders.finish(outcome.summary);
  if (!outcome.reader_left && !printer->summary(outcome.summary)) outcome.reader_left = true;
  if (!outcome.input_error.empty()) {
    log::error("{} (jobs read before it ran; the rest was not read)", outcome.input_error);
    return kExitUsage;
  }
  if (int sig = outcome.stopped_by) return sig == SIGINT ? kExitSigint : kExitSigterm;
  if (outcome.reader_left) return kExitPipe;
  if (pool.broken()) return kExitUsage;
  // A file that could not be written completely must not let CI go green.
  if (recorders.failed()) return kExitJobFailed;
  if (outcome.halted_on_success) return kExitOk;
  return outcome.summary.all_ok() ? kExitOk : kExitJobFailed;
}

}  // namespace procpool
