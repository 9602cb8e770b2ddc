// Runs a program (usually procpool) in the background so a test can act on it mid-run: send it
// signals, kill its workers, close its readers. Its output is drained by a thread as it comes,
// so the program never blocks on a full pipe, and the test can wait for a line on stderr as an
// event. Header-only, like process_checks.h.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "tests/support/e2e.h"

extern char** environ;

namespace procpool::testing {

// How a background program ended.
struct BackgroundResult {
  int exit_status = -1;  // exit code, or 128 + signal; -1 when it had to be killed
  bool hung = false;     // it outlived the wait limit and was SIGKILLed by the test
  std::string out;       // its stdout (empty when stdout went to a file)
  std::string err;       // its stderr
  long max_rss_kb = 0;   // ru_maxrss from wait4: it and every descendant it reaped
  std::chrono::duration<double> elapsed{};  // from start to exit
};

// Where a background program's standard streams go.
struct BackgroundOptions {
  std::string stdout_path;       // write stdout to this file instead of capturing it
  bool keep_stdin_open = false;  // stdin is a pipe nobody writes to or closes (else /dev/null)
};

class Background {
 public:
  using Options = BackgroundOptions;

  Background(const std::vector<std::string>& args, Options options = {}) {
    Pipe err = make_pipe();
    std::optional<Pipe> out;
    std::optional<Pipe> in;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (options.keep_stdin_open) {
      in = make_pipe();
      posix_spawn_file_actions_adddup2(&fa, in->read.get(), 0);
    } else {
      posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    }
    if (options.stdout_path.empty()) {
      out = make_pipe();
      posix_spawn_file_actions_adddup2(&fa, out->write.get(), 1);
    } else {
      posix_spawn_file_actions_addopen(&fa, 1, options.stdout_path.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    posix_spawn_file_actions_adddup2(&fa, err.write.get(), 2);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    started_ = std::chrono::steady_clock::now();
    int rc = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    if (in) stdin_write_ = std::move(in->write);
    err.write.reset();
    if (out) {
      out->write.reset();
      out_read_ = std::move(out->read);
    }
    err_read_ = std::move(err.read);
    reader_ = std::thread([this] { drain(); });
  }

  // Runs procpool with `args`.
  static Background procpool(const std::vector<std::string>& args, Options options = {}) {
    std::vector<std::string> argv{procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Background(argv, std::move(options));
  }

  Background(Background&& other) = delete;
  Background& operator=(const Background&) = delete;

  ~Background() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    stop_reading_ = true;
    if (reader_.joinable()) reader_.join();
  }

  pid_t pid() const { return pid_; }

  // Sends `signo` to the program itself (its workers live in their own process groups).
  void signal(int signo) const { ::kill(pid_, signo); }

  // Writes `text` to its stdin (keep_stdin_open), which stays open afterwards: an input that has
  // said something and may say more, as a pipe from a slow producer or a terminal does.
  void write_stdin(std::string_view text) { write_all(stdin_write_.get(), text); }
  // Closes its stdin (keep_stdin_open): the input has ended, as a finished producer's pipe does.
  void close_stdin() { stdin_write_.reset(); }

  // Waits (bounded) until its stderr so far contains `text`; true when it does.
  bool wait_for_stderr(const std::string& text,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      return err_.find(text) != std::string::npos || err_done_;
    }) && err_.find(text) != std::string::npos;
  }

  // Everything on stderr so far.
  std::string stderr_so_far() {
    std::lock_guard lock(mu_);
    return err_;
  }

  // Waits for it to exit, at most `limit`; past that it is SIGKILLed and `hung` is set. The
  // output is whatever arrived before its pipes closed (or a short while after it exited: a
  // leftover process holding them must not hang the test).
  BackgroundResult wait(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    BackgroundResult r;
    auto deadline = started_ + limit;
    int status = 0;
    rusage ru{};
    for (;;) {
      pid_t got = ::wait4(pid_, &status, WNOHANG, &ru);
      if (got == pid_) break;
      if (got < 0 && errno != EINTR) throw std::runtime_error("wait4 failed");
      if (std::chrono::steady_clock::now() >= deadline) {
        r.hung = true;
        ::kill(pid_, SIGKILL);
        while (::wait4(pid_, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    reaped_ = true;
    r.elapsed = std::chrono::steady_clock::now() - started_;
    r.exit_status = r.hung ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.max_rss_kb = ru.ru_maxrss;
    stdin_write_.reset();
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(5), [&] { return out_done_ && err_done_; });
    }
    stop_reading_ = true;
    if (reader_.joinable()) reader_.join();
    std::lock_guard lock(mu_);
    r.out = out_;
    r.err = err_;
    return r;
  }

 private:
  void drain() {
    Fd out = std::move(out_read_);
    Fd err = std::move(err_read_);
    {
      std::lock_guard lock(mu_);
      out_done_ = !out;
    }
    while ((out || err) && !stop_reading_) {
      pollfd fds[2] = {{out ? out.get() : -1, POLLIN, 0}, {err ? err.get() : -1, POLLIN, 0}};
      if (::poll(fds, 2, 50) < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (!fds[i].revents) continue;
        Fd& fd = i == 0 ? out : err;
        char buf[65536];
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        std::lock_guard lock(mu_);
        if (n > 0) {
          (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
        } else {
          fd.reset();
          (i == 0 ? out_done_ : err_done_) = true;
        }
        cv_.notify_all();
      }
    }
    std::lock_guard lock(mu_);
    out_done_ = err_done_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::chrono::steady_clock::time_point started_;
  Fd stdin_write_;  // held open (never written) when keep_stdin_open
  Fd out_read_;     // handed to the reader thread
  Fd err_read_;     // handed to the reader thread
  std::thread reader_;
  std::atomic<bool> stop_reading_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;        // guarded by mu_
  std::string err_;        // guarded by mu_
  bool out_done_ = false;  // guarded by mu_: stdout reached EOF (or is a file)
  bool err_done_ = false;  // guarded by mu_: stderr reached EOF
};

}  // namespace procpool::testing
