#include "cli/run_command.h"

#include <sys/prctl.h>

#include <csignal>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/exit_status.h"
#include "cli/jsonl_printer.h"
#include "cli/signals.h"
#include "cli/text_printer.h"
#include "common/as_completed.h"
#include "common/job_file.h"
#include "common/pool.h"

namespace procpool {

int run_batch(const RunOptions& options) {
  std::vector<Job> jobs;
  try {
    jobs = parse_job_file(read_input(options.file),
                          options.file == "-" ? std::string("<stdin>") : options.file);
  } catch (const InputError& e) {
    spdlog::error("{}", e.what());
    return kExitUsage;
  }
  auto started = Clock::now();

  std::unique_ptr<Printer> printer;
  if (options.format == "jsonl") {
    printer = std::make_unique<JsonlPrinter>();
  } else {
    printer = std::make_unique<TextPrinter>(options.quiet);
  }

  // Jobs' orphans whose worker died come back to us to be reaped, not to a PID 1 that may never.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ProcessPool* pool_for_signals = nullptr;
  std::atomic<bool> pool_ready{false};
  SignalWatcher signals([&](int signo, int count) {
    if (!pool_ready.load()) return;
    if (signo == SIGHUP) {
      spdlog::warn("SIGHUP: starting no new jobs; letting running ones finish");
      pool_for_signals->shutdown(/*wait=*/false, /*cancel_pending=*/true);
      return;
    }
    if (count == 1) spdlog::warn("{}: stopping all jobs", signo == SIGINT ? "interrupted" : "SIGTERM");
    pool_for_signals->terminate();
  });

  PoolOptions pool_options;
  pool_options.workers = options.jobs;
  ProcessPool pool(std::move(pool_options));
  pool_for_signals = &pool;
  pool_ready = true;

  std::vector<Future> futures;
  futures.reserve(jobs.size());
  for (auto& job : jobs) futures.push_back(pool.submit(std::move(job)));
  pool.shutdown(/*wait=*/false);

  Summary summary;
  bool reader_left = false;
  for (const Future& f : as_completed(futures)) {
    summary.add(f.result().status);
    if (!reader_left && !printer->job(f)) {
      // Whoever read our output is gone (`| head -1`): stop quietly, leave nothing running.
      reader_left = true;
      pool.terminate();
    }
  }
  pool.shutdown(/*wait=*/true);
  pool_ready = false;
  summary.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (!reader_left && !printer->summary(summary)) reader_left = true;

  if (int sig = signals.stopped_by()) return sig == SIGINT ? kExitSigint : kExitSigterm;
  if (reader_left) return kExitPipe;
  if (pool.broken()) return kExitUsage;
  return summary.all_ok() ? kExitOk : kExitJobFailed;
}

}  // namespace procpool
