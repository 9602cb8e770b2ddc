// Turns SIGINT, SIGTERM and SIGHUP into calls on a thread of their own, so the rest of procpool
// never runs in a signal handler. Construct it before any other thread starts: the mask it sets
// is inherited by every thread created afterwards.
#pragma once

#include <pthread.h>

#include <atomic>
#include <functional>
#include <thread>

namespace procpool {

class SignalWatcher {
 public:
  // `on_signal(signo, count)` runs on the watcher's thread; count is 1 for the first of its kind.
  explicit SignalWatcher(std::function<void(int signo, int count)> on_signal);
  ~SignalWatcher();
  // The first terminating signal received (SIGINT or SIGTERM), or 0.
  int stopped_by() const { return stopped_by_.load(); }

 private:
  std::function<void(int, int)> on_signal_;  // the reaction
  std::atomic<int> stopped_by_{0};           // first SIGINT/SIGTERM seen
  std::thread thread_;                       // waits in sigwait
};

}  // namespace procpool
