// The signals procpool reacts to (SIGINT, SIGTERM, SIGHUP), taken as events of the front end's
// loop through a signalfd, never in a handler and never by a thread of their own. Making a
// SignalEvents blocks them; it is made before the batch starts any thread, and every thread
// inherits that mask: no thread can take one with its default action, by construction. (Before
// it, while flags and job files are read, the default actions are right: nothing has started.)
#pragma once

#include <csignal>
#include <vector>

#include "common/fd.h"

namespace procpool {

class SignalEvents {
 public:
  // Dies of `signo` as if it had not been caught: default disposition, unblocked, raised. A
  // shell then sees 128+signo and stops its loop, as after Ctrl-C of any other program.
  // Returns only when the signal did not end the process.
  static void die_of(int signo);

  // Blocks SIGINT, SIGTERM and SIGHUP, except those ignored when procpool started (nohup's
  // SIGHUP, SIGINT of a background job in a script stay ignored), ignores SIGPIPE (a reader gone
  // is EPIPE, handled where it is written), and opens a signalfd for them. Make it before any
  // thread starts. Throws std::system_error.
  // They stay blocked afterwards: a late Ctrl-C must not kill procpool while it writes its
  // summary; die_of() delivers the one that stopped the batch.
  SignalEvents();
  int fd() const { return fd_.get(); }
  // The signals received since the last call, in order (empty when none).
  std::vector<int> take();

 private:
  Fd fd_;  // readable while a blocked signal is pending
};

}  // namespace procpool
