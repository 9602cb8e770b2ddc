// The completion queue in a standalone Asio event loop (Debian's libasio-dev, header-only):
// the queue's descriptor is waited on with asio::posix::stream_descriptor::async_wait, beside a
// steady_timer and an async read of standard input, all in one io_context on this thread. As
// poll_loop.cc: every job is reported through the loop, the timer ticks while jobs run, what is
// given on stdin is read during the batch (the jobs wait for a file the loop creates once it has
// seen a tick and the end of its input, so that is by construction, not by timing). Exits
// non-zero, saying why on stderr, when any of it did not hold.
//
//   echo hello | PATH=build:$PATH build/tests/examples/asio_loop
#include <stdlib.h>
#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <system_error>

#include <procpool/completion_queue.h>
#include <procpool/pool.h>

namespace {

constexpr int kJobs = 6;
constexpr auto kTick = std::chrono::milliseconds(20);
constexpr int kGiveUpTicks = 3'000;  // a minute: the input never ended, or jobs hang

int failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "asio_loop: FAILED: %s\n", what.c_str());
  ++failures;
}

// Asio's descriptor objects close what they hold: each is given its own copy.
int dup_or_throw(int fd) {
  int copy = ::dup(fd);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup");
  return copy;
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/procpool-asio-loop.XXXXXX";
  if (!::mkdtemp(dir_template)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
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

  asio::io_context io;
  asio::posix::stream_descriptor completions(io, dup_or_throw(done.fd()));
  asio::posix::stream_descriptor input(io, dup_or_throw(STDIN_FILENO));
  asio::steady_timer timer(io);

  int ticks = 0, ticks_while_pending = 0;
  std::string text;
  bool input_during_batch = false, input_ended = false, gate_open = false;
  std::set<std::string> reported;
  int not_ok = 0;
  char buf[4096];

  auto all_reported = [&] { return done.pending() + done.size() == 0; };
  auto open_gate = [&] {
    if (!gate_open) std::ofstream(gate).put('\n');
    gate_open = true;
  };
  auto after_event = [&] {
    if (ticks_while_pending > 0 && input_ended) open_gate();
    if (ticks > kGiveUpTicks && !gate_open) {
      check(false, "no end of input (or no tick) after a minute");
      open_gate();
    }
    if (ticks > 2 * kGiveUpTicks) io.stop();            // and the jobs still not all reported
    if (all_reported() && input_ended) timer.cancel();  // nothing left to wait for: run() returns
  };

  std::function<void()> wait_for_completions = [&] {
    completions.async_wait(asio::posix::stream_descriptor::wait_read, [&](std::error_code ec) {
      if (ec) return check(false, "async_wait on the queue: " + ec.message());
      int taken = 0;
      while (auto f = done.try_pop()) {  // all of them: the descriptor stays readable until then
        ++taken;
        const procpool::Result& r = f->result();
        if (!r.ok()) ++not_ok;
        reported.insert(r.output.text(procpool::Stream::kStdout));
      }
      check(taken > 0, "the queue's descriptor was readable with nothing in the queue");
      if (!all_reported()) wait_for_completions();
      after_event();
    });
  };
  std::function<void()> tick = [&] {
    timer.expires_after(kTick);
    timer.async_wait([&](std::error_code ec) {
      if (ec) return;  // cancelled: the batch is over
      ++ticks;
      if (done.pending() > 0) ++ticks_while_pending;
      tick();
      after_event();
    });
  };
  std::function<void()> read_input = [&] {
    input.async_read_some(asio::buffer(buf), [&](std::error_code ec, size_t n) {
      if (!ec) {
        text.append(buf, n);
        if (done.pending() > 0) input_during_batch = true;
        read_input();
      } else {
        input_ended = true;  // asio::error::eof, or the input cannot be read
      }
      after_event();
    });
  };

  wait_for_completions();
  tick();
  read_input();
  io.run();
  open_gate();  // whatever happened, the jobs may end: the pool's destructor waits for them

  check(reported == expected, "the loop did not report each job's output once");
  check(not_ok == 0, std::to_string(not_ok) + " jobs did not succeed");
  check(ticks_while_pending > 0, "the timer never ticked while jobs were pending");
  check(!text.empty(), "nothing was read from stdin (run it as: echo hello | asio_loop)");
  check(text.empty() || input_during_batch, "stdin was read only after the jobs had ended");

  std::printf("%zu jobs reported, %d ticks, stdin: %s", reported.size(), ticks, text.c_str());
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
