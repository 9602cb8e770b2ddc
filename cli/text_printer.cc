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
  if (options_.live) {
    options_.live->finish(f.job());
    if (options_.live->reader_left()) return false;
  }
  std::lock_guard lock(output_mutex());  // one job's block at a time, whole
  if (!options_.quiet || !r.ok()) {
    if (!write_all(STDERR_FILENO, header_line(f.job(), r) + "\n")) return false;
  }
  if (options_.live) return true;
  bool reader_left = false;
  std::string prefix = options_.tag ? f.job().name + "\t" : "";
  bool line_start[3] = {true, true, true};
  r.output.for_each([&](Stream s, std::string_view bytes) {
    if (reader_left) return;
    int fd = s == Stream::kStdout ? STDOUT_FILENO : STDERR_FILENO;
    if (!write_prefixed(fd, prefix, bytes, line_start[fd])) reader_left = true;
  });
  return !reader_left;
}

bool TextPrinter::summary(const Summary& s) {
  if (options_.quiet) return true;
  std::lock_guard lock(output_mutex());
  return write_all(STDERR_FILENO, s.line() + "\n");
}

}  // namespace procpool
