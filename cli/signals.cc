#include "cli/signals.h"

#include <csignal>
#include <map>

namespace procpool {

namespace {

// Sent by the destructor to let the watcher thread leave sigwait.
constexpr int kQuit = SIGUSR2;

sigset_t watched() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, kQuit}) sigaddset(&set, s);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int, int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigset_t set = watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] {
    sigset_t set = watched();
    std::map<int, int> counts;
    for (;;) {
      int signo = 0;
      if (sigwait(&set, &signo) != 0) continue;
      if (signo == kQuit) return;
      if ((signo == SIGINT || signo == SIGTERM) && stopped_by_.load() == 0) stopped_by_ = signo;
      on_signal_(signo, ++counts[signo]);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), kQuit);
  thread_.join();
}

}  // namespace procpool
