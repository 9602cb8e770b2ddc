// A program that uses the library as any host program would: it runs a pool and prints what it
// makes of the results on its stdout, which must hold nothing else (tests/library_host_test.cc).
//
//   library_host logs default|handler|off   a pool whose worker cannot start (/bin/false), so the
//                                           library logs: to stderr, to a handler of ours that
//                                           writes "handler: LEVEL: LINE" on stderr, or nowhere
//   library_host which                      a pool with no worker command: prints the command the
//                                           library chose (from its debug log) and the job's end
//   library_host hook                       a pool whose worker is this program, through the hook
//   library_host procpool-worker            the hook itself: procpool::worker_main()
// Prints "job ended: STATUS" for each job; exits 3 when the pool refuses to start, saying why.
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <procpool/logging.h>
#include <procpool/pool.h>
#include <procpool/worker_main.h>

namespace {

const char* level_name(procpool::LogLevel level) {
  switch (level) {
    case procpool::LogLevel::kDebug:
      return "debug";
    case procpool::LogLevel::kInfo:
      return "info";
    case procpool::LogLevel::kWarn:
      return "warn";
    case procpool::LogLevel::kError:
      return "error";
    case procpool::LogLevel::kCritical:
      return "critical";
    case procpool::LogLevel::kOff:
      break;
  }
  return "off";
}

void run_one(procpool::PoolOptions options, procpool::Job job) {
  procpool::ProcessPool pool(std::move(options));
  procpool::Future f = pool.submit(std::move(job));
  std::string status = procpool::status_name(f.result().status);
  std::string out = f.result().output.text(procpool::Stream::kStdout);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  std::printf("job ended: %s%s%s\n", status.c_str(), out.empty() ? "" : ": ", out.c_str());
  std::fflush(stdout);
}

procpool::Job shell(std::string command) {
  procpool::Job job;
  job.shell = std::move(command);
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "procpool-worker") return procpool::worker_main();
  std::string mode = argc > 1 ? argv[1] : "";
  std::string how = argc > 2 ? argv[2] : "";
  try {
    if (mode == "logs") {
      if (how == "handler") {
        procpool::set_log_handler([](procpool::LogLevel level, std::string_view line) {
          std::fprintf(stderr, "handler: %s: %.*s\n", level_name(level),
                       static_cast<int>(line.size()), line.data());
        });
      } else if (how == "off") {
        procpool::set_log_level(procpool::LogLevel::kOff);
      }
      procpool::PoolOptions options;
      options.workers = 1;
      options.worker_command = {"/bin/false"};
      run_one(options, shell("true"));
      if (how == "handler") {
        // Back to stderr: the next pool's lines are the library's own again.
        procpool::set_log_handler(nullptr);
        std::fprintf(stderr, "handler removed\n");
        run_one(options, shell("true"));
      }
    } else if (mode == "which") {
      static std::mutex mu;
      static std::vector<std::string> started;
      procpool::set_log_level(procpool::LogLevel::kDebug);
      procpool::set_log_handler([](procpool::LogLevel, std::string_view line) {
        std::lock_guard lock(mu);
        if (line.starts_with("started worker ")) started.emplace_back(line);
      });
      procpool::PoolOptions options;
      options.workers = 1;
      run_one(options, shell("echo hi"));
      std::lock_guard lock(mu);
      for (const auto& line : started) std::printf("%s\n", line.c_str());
    } else if (mode == "hook") {
      procpool::PoolOptions options;
      options.workers = 2;
      options.worker_command = {procpool::self_exe(), "procpool-worker"};
      run_one(options, shell("echo from a job, PROCPOOL_IN_WORKER=${PROCPOOL_IN_WORKER-unset}"));
    } else {
      std::fprintf(stderr, "library_host: unknown mode '%s'\n", mode.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "library_host: %s\n", e.what());
    return 3;
  }
  return 0;
}
