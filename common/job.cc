#include <procpool/job.h>

#include <string.h>

#include <algorithm>
#include <cmath>
#include <csignal>

#include "common/duration.h"
#include "common/visible_text.h"

namespace procpool {

std::string Job::shell_in_slot(int slot) const {
  std::string out = shell;
  // From the last, so the offsets before it still hold.
  std::string number = std::to_string(slot);
  for (auto it = slot_spots.rbegin(); it != slot_spots.rend(); ++it) {
    out.insert(std::min(*it, out.size()), number);
  }
  return out;
}

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

std::string ending_text(const Job& job, const Result& r) {
  std::string text;
  switch (r.status) {
    case Status::kOk:
      return "exit 0";
    case Status::kFailed:
      text = "exit " + std::to_string(r.exit_code.value_or(-1));
      if (!r.error.empty()) text += "; " + r.error;
      return text;
    case Status::kTimeout:
      return "timed out after " +
             format_duration(job.timeout ? *job.timeout
                                         : Millis(std::llround(std::max(0.0, r.duration_s) * 1e3)));
    case Status::kCrashed:
      text = r.signal ? signal_name(*r.signal) : std::string("crashed");
      if (!r.error.empty()) text += ": " + r.error;
      return text;
    case Status::kCancelled:
      return r.error.empty() ? "not started" : r.error;
    case Status::kSkipped:
    case Status::kError:
      return r.error;
  }
  return r.error;
}

namespace {

std::string job_error_text(const Job& job, const Result& r) {
  std::string text = "job \"";
  append_visible(text, job.name);
  text += "\" ";
  text += status_name(r.status);
  std::string ending = ending_text(job, r);
  if (!ending.empty()) {
    text += ": ";
    append_visible(text, ending);
  }
  return text;
}

}  // namespace

JobError::JobError(const Job& job, Result result)
    : std::runtime_error(job_error_text(job, result)),
      d_(std::make_shared<const Detail>(Detail{job.name, std::move(result)})) {}

}  // namespace procpool
