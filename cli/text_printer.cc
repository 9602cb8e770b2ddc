#include "cli/text_printer.h"

#include <unistd.h>

#include <fmt/format.h>

#include <procpool/pool.h>
#include "common/duration.h"
#include "common/fd.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

const char* status_color(Status s) {
  switch (s) {
    case Status::kOk:
      return "\x1b[32m";
    case Status::kFailed:
    case Status::kError:
      return "\x1b[31m";
    case Status::kTimeout:
      return "\x1b[33m";
    case Status::kCrashed:
      return "\x1b[35m";
    case Status::kCancelled:
    case Status::kSkipped:
      return "\x1b[2m";
  }
  return "";
}

}  // namespace

std::string header_line(const Job& job, const Result& r, bool color) {
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
  // The name and the detail (an error may quote a command or a path) are untrusted text:
  // shown with control characters escaped, so no name can forge a line or drive the terminal.
  std::string line =
      color ? fmt::format("{}[{}]\x1b[0m ", status_color(r.status), status_name(r.status))
            : fmt::format("[{}] ", status_name(r.status));
  append_visible(line, job.name);
  if (r.attempts > 1) detail += fmt::format(", attempt {}", r.attempts);
  if (r.flaky()) detail += ", flaky";
  // Jobs that ran on another machine say where; local ones stay as short as ever.
  if (!r.host.empty() && r.host != local_host_name()) detail += ", on " + r.host;
  if (!detail.empty()) {
    line += " (";
    append_visible(line, detail);
    line += ")";
  }
  return line;
}

int TextPrinter::log_fd() const {
  return folding() ? STDOUT_FILENO : STDERR_FILENO;
}

bool TextPrinter::job(const Future& f) {
  bool ok = block(f);
  // -k --line-buffer: the next job goes live once this one's block is whole (outside
  // output_mutex(), which LiveLines takes after its own lock).
  if (ok && options_.live) options_.live->reported(f.job());
  return ok && !(options_.live && options_.live->reader_left());
}

bool TextPrinter::block(const Future& f) {
  const Result& r = f.result();
  if (options_.live) {
    // -k shows nothing of a job a halt stopped, unless its lines were live already.
    options_.live->finish(f.job(), /*show_held=*/!r.halted);
    if (options_.live->reader_left()) return false;
  }
  std::lock_guard lock(output_mutex());  // one job's block at a time, whole
  if (options_.progress) options_.progress->clear();
  bool shown = !options_.quiet || !(r.ok() || r.resumed);  // -q: resumed jobs are no news
  std::string header = header_line(f.job(), r, options_.color && options_.ci == CiStyle::kPlain);
  if (options_.ci == CiStyle::kGithub) annotations_.add(f.job(), r, header);
  // --line-buffer printed the lines already, among other jobs' lines: no group to fold them.
  CiStyle blocks = options_.live ? CiStyle::kPlain : options_.ci;
  if (shown) {
    std::string start = ci_block_start(blocks, f.job(), r, header);
    if (!write_all(log_fd(), start.empty() ? header + "\n" : start)) return false;
  }
  // GitHub obeys workflow commands in any line of the log: between these two lines it shows a
  // job's `::endgroup::` or `::error::` instead of obeying it.
  std::string token;
  if (options_.ci == CiStyle::kGithub && !options_.job_commands && !options_.live && !r.halted &&
      !r.output.empty()) {
    token = stop_commands_token();
    if (!write_all(log_fd(), "::stop-commands::" + token + "\n")) return false;
  }
  // A job --halt now stopped midway printed half a story: GNU parallel shows none of it, and
  // neither does the log here (--results, JUnit and --format jsonl keep it).
  bool ok = options_.live || r.halted ? true : write_output(f, r);
  if (ok && !token.empty()) ok = write_all(log_fd(), "::" + token + "::\n");
  if (shown && ok) ok = write_all(log_fd(), ci_block_end(blocks, f.job(), r));
  if (options_.progress) options_.progress->job_done(f.job(), r);
  return ok;
}

bool TextPrinter::write_output(const Future& f, const Result& r) {
  bool reader_left = false;
  std::string prefix = options_.tag ? visible(f.job().name) + "\t" : "";
  bool line_start[3] = {true, true, true};
  int last_fd = -1;  // where the last byte went, and whether it ended a line
  // One filter, as both streams share stdout. Jobs trusted with workflow commands keep the
  // runner's own syntax too.
  JobMarkerFilter markers(options_.job_commands ? CiStyle::kPlain : options_.ci);
  r.output.for_each([&](Stream s, std::string_view bytes) {
    if (reader_left || bytes.empty()) return;
    int fd = folding() || s == Stream::kStdout ? STDOUT_FILENO : STDERR_FILENO;
    std::string filtered;
    if (folding()) {
      filtered = markers.feed(bytes);
      bytes = filtered;
      if (bytes.empty()) return;
    }
    if (!write_prefixed(fd, prefix, bytes, line_start[fd])) reader_left = true;
    last_fd = bytes.back() == '\n' ? -1 : fd;
  });
  std::string tail = markers.flush();
  if (!reader_left && !tail.empty()) {
    reader_left = !write_prefixed(STDOUT_FILENO, prefix, tail, line_start[STDOUT_FILENO]);
    last_fd = tail.back() == '\n' ? -1 : STDOUT_FILENO;
  }
  // A CI end marker must start its own line, whatever the job left unterminated.
  if (!reader_left && last_fd >= 0 && folding()) reader_left = !write_all(last_fd, "\n");
  return !reader_left;
}

bool TextPrinter::summary(const Summary& s) {
  std::lock_guard lock(output_mutex());
  if (options_.progress) options_.progress->clear();
  if (options_.live && !write_all(log_fd(), options_.live->end_of_stopped_commands())) {
    return false;
  }
  // Annotations even with -q: they are what a CI page shows of a failure.
  if (!write_all(log_fd(), annotations_.lines(options_.annotations_where))) return false;
  if (options_.quiet) return true;
  return write_all(log_fd(), s.line() + "\n" + s.details());
}

}  // namespace procpool
