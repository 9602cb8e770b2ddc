// The completion queue in a plain poll loop, beside a timer (a timerfd) and standard input, as a
// program with its own event loop uses the pool: every job is reported through the loop, the
// timer ticks while jobs run, and what is given on stdin is read during the batch. The jobs wait
// for a file the loop creates only once it has seen a tick and the end of its input, so each of
// those happens while jobs are pending by construction, not by luck of timing. Prints what it
// saw; exits non-zero, saying why on stderr, when any of it did not hold.
//
//   echo hello | PATH=build:$PATH build/tests/examples/poll_loop
#include <poll.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>

#include <procpool/completion_queue.h>
#include <procpool/pool.h>

namespace {

constexpr int kJobs = 6;
constexpr long kTickNs = 20'000'000;      // 20 ms
constexpr uint64_t kGiveUpTicks = 3'000;  // a minute: the input never ended, or jobs hang

int failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "poll_loop: FAILED: %s\n", what.c_str());
  ++failures;
}

[[noreturn]] void fail_call(const char* call) {
  throw std::system_error(errno, std::generic_category(), call);
}

bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/procpool-poll-loop.XXXXXX";
  if (!::mkdtemp(dir_template)) fail_call("mkdtemp");
  const std::filesystem::path dir = dir_template;
  const std::string gate = (dir / "go").string();

  procpool::ProcessPool pool({.workers = 3, .worker_command = {"procpool", "worker"}});
  procpool::CompletionQueue done;
  std::set<std::string> expected;
  for (int i = 1; i <= kJobs; ++i) {
    procpool::Job job;
    job.shell = "until [ -e '" + gate + "' ]; do sleep 0.01; done; echo job " + std::to_string(i);
    done.add(pool.submit(std::move(job)));
    expected.insert("job " + std::to_string(i) + "\n");
  }

  int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer < 0) fail_call("timerfd_create");
  itimerspec every{{0, kTickNs}, {0, kTickNs}};
  if (::timerfd_settime(timer, 0, &every, nullptr) != 0) {
    fail_call("timerfd_settime");
  }

  enum { kDone, kTimer, kStdin };
  pollfd fds[] = {{done.fd(), POLLIN, 0}, {timer, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  uint64_t ticks = 0, ticks_while_pending = 0;
  std::string input;
  bool input_during_batch = false;
  bool gate_open = false;
  std::set<std::string> reported;
  int not_ok = 0;
  auto open_gate = [&] {
    if (!gate_open) std::ofstream(gate).put('\n');
    gate_open = true;
  };

  while (done.pending() + done.size() > 0 || fds[kStdin].fd >= 0) {
    int n = ::poll(fds, 3, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_call("poll");

    if (fds[kDone].revents & POLLIN) {
      int taken = 0;
      while (auto f = done.try_pop()) {
        ++taken;
        const procpool::Result& r = f->result();
        if (!r.ok()) ++not_ok;
        reported.insert(r.output.text(procpool::Stream::kStdout));
      }
      check(taken > 0, "the queue's descriptor was readable with nothing in the queue");
      check(!readable_now(done.fd()), "the queue's descriptor stayed readable once it was empty");
    }
    if (fds[kTimer].revents & POLLIN) {
      uint64_t expirations = 0;
      if (::read(timer, &expirations, sizeof expirations) == sizeof expirations) {
        ticks += expirations;
        if (done.pending() > 0) ticks_while_pending += expirations;
      }
    }
    if (fds[kStdin].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
      if (got > 0) {
        input.append(buf, static_cast<size_t>(got));
        if (done.pending() > 0) input_during_batch = true;
      } else if (got == 0 || errno != EINTR) {
        fds[kStdin].fd = -1;  // the input has ended: poll skips a negative descriptor
      }
    }

    if (ticks_while_pending > 0 && fds[kStdin].fd < 0) open_gate();
    if (ticks > kGiveUpTicks && !gate_open) {
      check(false, "no end of input (or no tick) after a minute");
      open_gate();
    }
  }
  open_gate();  // whatever happened, the jobs may end: the pool's destructor waits for them

  check(reported == expected, "the loop did not report each job's output once");
  check(not_ok == 0, std::to_string(not_ok) + " jobs did not succeed");
  check(ticks_while_pending > 0, "the timer never ticked while jobs were pending");
  check(!input.empty(), "nothing was read from stdin (run it as: echo hello | poll_loop)");
  check(input.empty() || input_during_batch, "stdin was read only after the jobs had ended");
  check(!readable_now(done.fd()), "the queue's descriptor is readable with the queue empty");

  std::printf("%zu jobs reported, %llu ticks, stdin: %s", reported.size(),
              static_cast<unsigned long long>(ticks), input.c_str());
  ::close(timer);
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
