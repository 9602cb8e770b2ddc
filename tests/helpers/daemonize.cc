// daemonize PIDFILE MODE [--ignore-term] [--term-marker FILE]: leaves a background process
// behind the way daemons do, on /dev/null and out of the job's process group, writes the pids
// it left ("PID [PID]\n", atomically) to PIDFILE once they are all set up, then exits 0.
//   setsid       a child in a session (and group) of its own;
//   setpgid      a child in a group of its own, still in the job's session;
//   double-fork  setsid, fork, the middle process exits: the one left leads neither its session
//                nor its group (the classic daemon);
//   nested       a setsid child with a child of its own in yet another session, which only
//                comes back to the worker once its parent is gone (two pids).
// What is left sleeps for good. --ignore-term: it ignores SIGTERM. --term-marker FILE: on
// SIGTERM it creates FILE and exits (a daemon that cleans up when asked to stop).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* term_marker = nullptr;

void on_term(int) {
  // Only async-signal-safe calls here.
  int fd = ::open(term_marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  ::_exit(0);
}

// Detaches from the job's descriptors, reports our pid on `ready`, and sleeps for good.
[[noreturn]] void stay(int ready, bool ignore_term) {
  if (ignore_term) ::signal(SIGTERM, SIG_IGN);
  if (term_marker) {
    struct sigaction sa {};
    sa.sa_handler = on_term;
    ::sigaction(SIGTERM, &sa, nullptr);
  }
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  pid_t me = ::getpid();
  ssize_t ignored = ::write(ready, &me, sizeof me);
  (void)ignored;
  ::close(ready);
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: daemonize PIDFILE setsid|setpgid|double-fork|nested [--ignore-term] "
                 "[--term-marker FILE]\n");
    return 2;
  }
  std::string mode = argv[2];
  bool ignore_term = false;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ignore-term") == 0) ignore_term = true;
    if (std::strcmp(argv[i], "--term-marker") == 0 && i + 1 < argc) term_marker = argv[++i];
  }
  int ready[2];
  if (::pipe(ready) != 0) return 3;
  pid_t child = ::fork();
  if (child < 0) return 3;
  if (child == 0) {
    ::close(ready[0]);
    if (mode == "setpgid") {
      ::setpgid(0, 0);
    } else {
      ::setsid();
    }
    if (mode == "double-fork") {
      if (::fork() == 0) stay(ready[1], ignore_term);
      ::_exit(0);  // the middle process: what it leaves is re-parented to the worker
    }
    if (mode == "nested" && ::fork() == 0) {
      ::setsid();
      stay(ready[1], ignore_term);
    }
    stay(ready[1], ignore_term);
  }
  ::close(ready[1]);
  // Every process left behind writes its pid, then closes its end: EOF means all are set up.
  std::vector<pid_t> left;
  pid_t pid;
  while (::read(ready[0], &pid, sizeof pid) == sizeof pid) left.push_back(pid);
  if (mode == "double-fork") ::waitpid(child, nullptr, 0);
  std::string tmp = std::string(argv[1]) + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    for (size_t i = 0; i < left.size(); ++i) {
      std::fprintf(f, "%s%d", i ? " " : "", static_cast<int>(left[i]));
    }
    std::fprintf(f, "\n");
    std::fclose(f);
    std::rename(tmp.c_str(), argv[1]);
  }
  std::printf("left %zu\n", left.size());
  return 0;
}
