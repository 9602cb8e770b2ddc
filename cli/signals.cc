#include "cli/signals.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace procpool {

namespace {

// The signals a SignalEvents blocked: those that were not ignored at start.
sigset_t& watched() {
  static sigset_t set;
  return set;
}

}  // namespace

SignalEvents::SignalEvents() {
  sigset_t& set = watched();
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaddset(&set, s);
  }
  ::signal(SIGPIPE, SIG_IGN);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw_errno("signalfd");
  fd_.reset(move_above_stdio(fd));
}

void SignalEvents::die_of(int signo) {
  ::signal(signo, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signo);
  ::raise(signo);                               // pending while blocked ...
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);  // ... and delivered here
}

std::vector<int> SignalEvents::take() {
  std::vector<int> got;
  signalfd_siginfo info;
  for (;;) {
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n < 0 && errno == EINTR) continue;
    if (n != sizeof info) return got;
    got.push_back(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace procpool
