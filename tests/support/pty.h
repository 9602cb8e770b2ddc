// Runs a program (usually procpool) at a real pseudo-terminal, the way a person runs it: the
// program is a session leader whose controlling terminal is the pty, its process group is the
// terminal's foreground group, and its stdin, stdout and stderr are the terminal. The test keeps
// the master side: what it writes there is typed on the keyboard ("\x03" is Ctrl-C, which the
// terminal driver turns into SIGINT for the foreground group, exactly as for a user), and
// everything the program writes is collected by a thread, so the test can wait for text to
// appear as an event. Every wait is bounded. Header-only, like background.h.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace procpool::testing {

// How the program is started besides its argv.
struct PtyOptions {
  std::vector<std::string> set_env;    // "NAME=value", added or replacing
  std::vector<std::string> unset_env;  // names removed from the environment
  // Set to SIG_IGN before exec, as `nohup` does for SIGHUP and a shell's `&` for SIGINT; all
  // other signals start with their default action and unblocked.
  std::vector<int> ignored_signals;
};

// How a program run at a terminal ended.
struct PtyResult {
  bool hung = false;    // it outlived the wait limit and was SIGKILLed by the test
  int wait_status = 0;  // raw waitpid() status (meaningless when hung)
  std::string screen;   // every byte it (and the terminal's echo) wrote to the terminal
  std::chrono::duration<double> elapsed{};  // from the call to wait() to its exit

  bool died_of(int signo) const {
    return !hung && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == signo;
  }
  bool exited_with(int code) const {
    return !hung && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
  }
  // "exit 1", "killed by SIGINT" or "hung", for failure messages.
  std::string how() const {
    if (hung) return "hung (killed by the test)";
    if (WIFEXITED(wait_status)) return "exit " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) {
      const char* name = ::sigabbrev_np(WTERMSIG(wait_status));
      return std::string("killed by SIG") + (name ? name : std::to_string(WTERMSIG(wait_status)));
    }
    return "status " + std::to_string(wait_status);
  }
};

class PtySession {
 public:
  PtySession(const std::vector<std::string>& args, const PtyOptions& options = {}) {
    // Everything the child needs is built before fork: between fork and exec it only makes
    // async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string_view entry(*e);
      std::string_view name = entry.substr(0, entry.find('='));
      bool drop = false;
      for (const auto& u : options.unset_env) drop = drop || name == u;
      for (const auto& s : options.set_env) drop = drop || name == s.substr(0, s.find('='));
      if (!drop) env_strings.emplace_back(entry);
    }
    env_strings.insert(env_strings.end(), options.set_env.begin(), options.set_env.end());
    std::vector<std::string> argv_strings = args;
    std::vector<char*> argv, envp;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    int master = -1, slave = -1;
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 100;
    if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) {
      throw std::runtime_error(std::string("openpty: ") + std::strerror(errno));
    }
    // A terminal as a person's shell leaves it: canonical lines, echo, Ctrl-C is SIGINT and
    // Ctrl-D ends input, "\n" shown as "\r\n".
    termios t{};
    ::tcgetattr(slave, &t);
    t.c_lflag |= ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | IEXTEN;
    t.c_lflag &= ~static_cast<tcflag_t>(NOFLSH | TOSTOP);
    t.c_oflag |= OPOST | ONLCR;
    t.c_cc[VINTR] = 0x03;
    t.c_cc[VEOF] = 0x04;
    ::tcsetattr(slave, TCSANOW, &t);
    // Neither end may leak into programs other threads of the test start meanwhile.
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);

    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(master);
      ::close(slave);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
      // A new session, the pty as its controlling terminal, and this process group in the
      // terminal's foreground: what login_tty() does for a shell.
      ::setsid();
      if (::ioctl(slave, TIOCSCTTY, 0) != 0) ::_exit(126);
      for (int fd = 0; fd < 3; ++fd) ::dup2(slave, fd);  // dup2 clears close-on-exec
      for (int s = 1; s < NSIG; ++s) {
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
      }
      for (int s : options.ignored_signals) ::signal(s, SIG_IGN);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(slave);  // from now on the slave is open only in the program and what it starts
    master_ = master;
    reader_ = std::thread([this] { drain(); });
  }

  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  ~PtySession() {
    if (!reaped_) {
      ::kill(-pid_, SIGKILL);  // its process group (its pid: it leads its session)
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    stop_reading_ = true;
    if (reader_.joinable()) reader_.join();
    ::close(master_);
  }

  pid_t pid() const { return pid_; }

  // Writes `keys` to the terminal as if typed: "one\n" is a line, "\x03" is Ctrl-C, "\x04" at
  // the start of a line is Ctrl-D (end of input).
  void type(std::string_view keys) {
    while (!keys.empty()) {
      ssize_t n = ::write(master_, keys.data(), keys.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("write to pty: ") + std::strerror(errno));
      keys.remove_prefix(static_cast<size_t>(n));
    }
  }
  void ctrl_c() { type("\x03"); }

  // Sends `signo` to the program itself with kill(), as another terminal or a supervisor would.
  void signal(int signo) const { ::kill(pid_, signo); }

  // Bytes on the terminal so far: a position for wait_for(text, limit, from).
  size_t size() {
    std::lock_guard lock(mu_);
    return screen_.size();
  }

  // Everything written to the terminal so far.
  std::string screen() {
    std::lock_guard lock(mu_);
    return screen_;
  }

  // Waits (bounded) until `text` appears on the terminal at or after byte `from`.
  bool wait_for(const std::string& text, std::chrono::milliseconds limit, size_t from = 0) {
    std::unique_lock lock(mu_);
    auto found = [&] { return screen_.find(text, from) != std::string::npos; };
    cv_.wait_for(lock, limit, [&] { return found() || closed_; });
    return found();
  }

  // Waits for the program to exit, at most `limit`; past that it is SIGKILLed and `hung` is
  // set. The screen is complete: the terminal is read until its last writer closed it (or a
  // short while, when something left behind still holds it).
  PtyResult wait(std::chrono::milliseconds limit) {
    PtyResult r;
    auto from = std::chrono::steady_clock::now();
    auto deadline = from + limit;
    for (;;) {
      pid_t got = ::waitpid(pid_, &r.wait_status, WNOHANG);
      if (got == pid_) break;
      if (got < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
      if (std::chrono::steady_clock::now() >= deadline) {
        r.hung = true;
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &r.wait_status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    reaped_ = true;
    r.elapsed = std::chrono::steady_clock::now() - from;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(3), [&] { return closed_; });
    r.screen = screen_;
    return r;
  }

 private:
  void drain() {
    char buf[65536];
    while (!stop_reading_) {
      pollfd p{master_, POLLIN, 0};
      int ready = ::poll(&p, 1, 50);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      ssize_t n = ::read(master_, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::lock_guard lock(mu_);
      if (n <= 0) break;  // EIO: every process holding the terminal has closed it
      screen_.append(buf, static_cast<size_t>(n));
      cv_.notify_all();
    }
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int master_ = -1;
  bool reaped_ = false;
  std::thread reader_;
  std::atomic<bool> stop_reading_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string screen_;   // guarded by mu_
  bool closed_ = false;  // guarded by mu_: the reader saw EIO (or gave up)
};

}  // namespace procpool::testing
