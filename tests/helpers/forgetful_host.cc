// A program that links the library and makes itself its pool's worker, but forgets the worker
// hook: its main never checks for "procpool-worker" to call procpool::worker_main(). Started as
// its own worker, it runs its main again and starts a pool of its own, and so on: the library
// must stop that at the first level with a clear error (tests/worker_lookup_test.cc).
//
// Each start appends "PID\n" to the file $FORGETFUL_COUNT, so the test can count the processes.
// A safety net of its own ($FORGETFUL_DEPTH, at most 4 levels) ends the recursion even when the
// library does not, so a library without the guard fails the test instead of filling the machine.
// Prints "job ended: STATUS: ERROR" for its one job; exits 1 when the pool refuses to start.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <procpool/pool.h>

int main() {
  if (const char* count = std::getenv("FORGETFUL_COUNT")) {
    int fd = ::open(count, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    std::string line = std::to_string(::getpid()) + "\n";
    if (fd >= 0 && ::write(fd, line.data(), line.size()) < 0) return 8;
    if (fd >= 0) ::close(fd);
  }
  const char* depth_text = std::getenv("FORGETFUL_DEPTH");
  int depth = depth_text ? std::atoi(depth_text) : 0;
  if (depth >= 4) return 9;
  ::setenv("FORGETFUL_DEPTH", std::to_string(depth + 1).c_str(), 1);

  try {
    procpool::PoolOptions options;
    options.workers = 2;
    options.worker_command = {procpool::self_exe(), "procpool-worker"};
    procpool::ProcessPool pool(options);
    procpool::Job job;
    job.shell = "true";
    procpool::Future f = pool.submit(job);
    const procpool::Result& r = f.result();
    std::printf("job ended: %s: %s\n", procpool::status_name(r.status), r.error.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forgetful_host: %s\n", e.what());
    return 1;
  }
}
