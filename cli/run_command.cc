#include "cli/run_command.h"

#include <sys/prctl.h>

#include <csignal>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/exit_status.h"
#include "cli/flags.h"
#include "cli/jsonl_printer.h"
#include "cli/signals.h"
#include "cli/text_printer.h"
#include "common/as_completed.h"
#include "common/duration.h"
#include "common/job_file.h"
#include "common/pool.h"

namespace procpool {

namespace {

// Everything the flags say, checked: a UsageError here means nothing has started.
struct Plan {
  PoolOptions pool;
  JobDefaults defaults;
  Limits limits;
  HaltPolicy halt;
};

Plan make_plan(const RunOptions& o) {
  Plan p;
  p.pool.workers = o.jobs.empty() ? available_cpus() : parse_jobs(o.jobs, available_cpus());
  if (!o.timeout.empty()) p.defaults.timeout = parse_duration_flag("--timeout", o.timeout, false);
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
  if (!o.mem_limit.empty()) p.limits.memory_bytes = parse_size("--mem-limit", o.mem_limit);
  if (!o.cpu_limit.empty()) {
    p.limits.cpu = parse_duration_flag("--cpu-limit", o.cpu_limit, false);
  }
  if (!o.nice.empty()) {
    try {
      size_t used = 0;
      int n = std::stoi(o.nice, &used);
      if (used != o.nice.size() || n < -20 || n > 19) throw std::invalid_argument("range");
      p.limits.nice = n;
    } catch (const std::exception&) {
      throw UsageError("--nice " + o.nice +
                       ": expected a whole number from -20 to 19 (the "
                       "increment added to each job's niceness)");
    }
  }
  return p;
}

}  // namespace

int run_batch(const RunOptions& options) {
  Plan plan;
  std::vector<Job> jobs;
  try {
    plan = make_plan(options);
    jobs =
        parse_job_file(read_input(options.file),
                       options.file == "-" ? std::string("<stdin>") : options.file, plan.defaults);
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  } catch (const InputError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  }
  for (auto& job : jobs) job.limits = plan.limits;
  auto started = Clock::now();

  std::unique_ptr<Printer> printer;
  if (options.format == "jsonl") {
    printer = std::make_unique<JsonlPrinter>();
  } else {
    printer = std::make_unique<TextPrinter>(options.quiet);
  }

  // Jobs' orphans whose worker died come back to us to be reaped, not to a PID 1 that may never.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::atomic<ProcessPool*> live_pool{nullptr};
  SignalWatcher signals([&](int signo, int count) {
    ProcessPool* pool = live_pool.load();
    if (!pool) return;
    if (signo == SIGHUP) {
      spdlog::warn("SIGHUP: starting no new jobs; letting running ones finish");
      pool->shutdown(/*wait=*/false, /*cancel_pending=*/true);
    } else if (count == 1) {
      spdlog::warn("{}: stopping all jobs (again to kill them at once)",
                   signo == SIGINT ? "interrupted" : "SIGTERM");
      pool->terminate();
    } else {
      pool->terminate(/*kill_now=*/true);
    }
  });

  ProcessPool pool(std::move(plan.pool));
  live_pool = &pool;

  std::vector<Future> futures;
  futures.reserve(jobs.size());
  for (auto& job : jobs) futures.push_back(pool.submit(std::move(job)));
  pool.shutdown(/*wait=*/false);

  Summary summary;
  bool reader_left = false;
  bool halted = false;
  bool halted_on_success = false;
  for (const Future& f : as_completed(futures)) {
    summary.add(f.result());
    if (!reader_left && !printer->job(f)) {
      // Whoever read our output is gone (`| head -1`): stop quietly, leave nothing running.
      reader_left = true;
      pool.terminate();
    }
    if (!halted && plan.halt.triggered(summary.failures(), summary.ok, futures.size())) {
      halted = true;
      halted_on_success = plan.halt.count == HaltPolicy::Count::kSuccess;
      bool now = plan.halt.when == HaltPolicy::When::kNow;
      spdlog::warn("halting ({}): {}", options.fail_fast ? "--fail-fast" : "--halt " + options.halt,
                   now ? "stopping running jobs" : "starting no new jobs");
      if (now) {
        pool.terminate();
      } else {
        pool.shutdown(/*wait=*/false, /*cancel_pending=*/true);
      }
    }
  }
  pool.shutdown(/*wait=*/true);
  live_pool = nullptr;
  summary.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (!reader_left && !printer->summary(summary)) reader_left = true;

  if (int sig = signals.stopped_by()) return sig == SIGINT ? kExitSigint : kExitSigterm;
  if (reader_left) return kExitPipe;
  if (pool.broken()) return kExitUsage;
  if (halted_on_success) return kExitOk;
  return summary.all_ok() ? kExitOk : kExitJobFailed;
}

}  // namespace procpool
