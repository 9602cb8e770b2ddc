#include "cli/text_printer.h"

#include <unistd.h>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/fd.h"

namespace procpool {

std::string header_line(const Job& job, const Result& r) {
  std::string detail;
  switch (r.status) {
    case Status::kOk:
      detail = fmt::format("{:.2f}s", r.duration_s);
      break;
    case Status::kFailed:
      detail = fmt::format("exit {}, {:.2f}s", r.exit_code.value_or(-1), r.duration_s);
      if (!r.error.empty()) detail += "; " + r.error;
      break;
    case Status::kTimeout:
      detail = "timed out after " +
               (job.timeout ? format_duration(*job.timeout) : fmt::format("{:.2f}s", r.duration_s));
      break;
    case Status::kCrashed:
      detail = r.signal ? signal_name(*r.signal) : std::string("crashed");
      if (!r.error.empty()) detail += ": " + r.error;
      detail += fmt::format(", {:.2f}s", r.duration_s);
      break;
    case Status::kCancelled:
      detail = r.error.empty() ? "not started" : r.error;
      break;
    case Status::kSkipped:
    case Status::kError:
      detail = r.error;
      break;
  }
  std::string line = fmt::format("[{}] {}", status_name(r.status), job.name);
  if (r.attempts > 1) detail += fmt::format(", attempt {}", r.attempts);
  if (r.flaky()) detail += ", flaky";
  if (!detail.empty()) line += " (" + detail + ")";
  return line;
}

bool TextPrinter::job(const Future& f) {
  const Result& r = f.result();
  if (!quiet_ || !r.ok()) {
    if (!write_all(STDERR_FILENO, header_line(f.job(), r) + "\n")) return false;
  }
  bool reader_left = false;
  r.output.for_each([&](Stream s, std::string_view bytes) {
    if (reader_left) return;
    int fd = s == Stream::kStdout ? STDOUT_FILENO : STDERR_FILENO;
    if (!write_all(fd, bytes)) reader_left = true;
  });
  return !reader_left;
}

bool TextPrinter::summary(const Summary& s) {
  if (quiet_) return true;
  return write_all(STDERR_FILENO, s.line() + "\n");
}

}  // namespace procpool
