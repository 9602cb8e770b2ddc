#include "common/job.h"

#include <string.h>

#include <csignal>

namespace procpool {

std::string Job::command_text() const {
  if (argv.empty()) return shell;
  std::string text;
  for (const auto& a : argv) {
    if (!text.empty()) text += ' ';
    text += a;
  }
  return text;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kFailed:
      return "failed";
    case Status::kTimeout:
      return "timeout";
    case Status::kCrashed:
      return "crashed";
    case Status::kCancelled:
      return "cancelled";
    case Status::kSkipped:
      return "skipped";
    case Status::kError:
      return "error";
  }
  return "error";
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "SIG" + std::to_string(sig);
}

}  // namespace procpool
