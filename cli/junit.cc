// How the file is written, and why: JUnit nests every testcase inside one <testsuite> whose tag
// carries the counts, which are known only at the end. Instead of holding the batch (or tails
// of its output) in memory until then, each testcase is written to the file as its job
// finishes, straight from the job's capture, and the counts live in a fixed-width slot of the
// <testsuite> tag, padded with spaces (legal between attributes), rewritten in place with
// pwrite. Each testcase is written over the closing tags, which are then written again after
// it (cli/valid_file.h), so the file is a complete, valid report after every job: memory stays
// flat whatever the batch prints, Ctrl-C (finish) only has to refresh the time, a procpool
// killed outright still leaves a report of every job that finished, and a testcase the disk
// cannot take is taken back whole.
#include "cli/junit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include <procpool/pool.h>
#include "cli/flags.h"
#include "cli/report_file.h"
#include "cli/xml_text.h"
#include "common/duration.h"

namespace procpool {

namespace {

using Mode = XmlTextWriter::Mode;

constexpr size_t kCountsWidth = 160;  // 5 attributes of at most ~25 characters each, and room
constexpr uint64_t kFailureTail = 4u << 10;  // stderr quoted in a <failure>
constexpr uint64_t kStreamTail = 1u << 20;   // per stream in <system-out>/<system-err>
constexpr std::string_view kClosing = "  </testsuite>\n</testsuites>\n";

// Calls `fn` with the last `keep` bytes of stream `s`, in pieces, and says how many were left
// out. A cut through a UTF-8 sequence drops its continuation bytes rather than show U+FFFD.
uint64_t for_each_tail(const Output& out, Stream s, uint64_t keep,
                       const std::function<void(std::string_view)>& fn) {
  uint64_t size = out.size(s);
  uint64_t skip = size > keep ? size - keep : 0;
  bool at_cut = skip > 0;
  int continuation_left = 3;
  out.for_each([&](Stream which, std::string_view bytes) {
    if (which != s) return;
    if (skip >= bytes.size()) {
      skip -= bytes.size();
      return;
    }
    bytes.remove_prefix(skip);
    skip = 0;
    while (at_cut && continuation_left > 0 && !bytes.empty() &&
           (static_cast<unsigned char>(bytes[0]) & 0xC0) == 0x80) {
      bytes.remove_prefix(1);
      --continuation_left;
    }
    at_cut = false;
    if (!bytes.empty()) fn(bytes);
  });
  return size > keep ? size - keep : 0;
}

// The short reason a job did not succeed: the <failure>/<error>/<skipped> message.
std::string reason(const Job& job, const Result& r) {
  std::string why;
  switch (r.status) {
    case Status::kOk:
      return "";
    case Status::kFailed:
      why = fmt::format("exit {}", r.exit_code.value_or(-1));
      break;
    case Status::kTimeout:
      why = "timed out after " +
            (job.timeout ? format_duration(*job.timeout) : fmt::format("{:.2f}s", r.duration_s));
      break;
    case Status::kCrashed:
      why = r.signal ? "killed by " + signal_name(*r.signal) : std::string("crashed");
      break;
    case Status::kCancelled:
      return r.error.empty() ? "cancelled: not started" : "cancelled: " + r.error;
    case Status::kSkipped:
      return r.error.empty() ? "skipped" : r.error;
    case Status::kError:
      return r.error.empty() ? "could not start" : r.error;
  }
  if (!r.error.empty()) why += ": " + r.error;
  if (r.attempts > 1) why += fmt::format(" (attempt {})", r.attempts);
  // The schema has no place for a testcase's host: a job that failed elsewhere says where.
  if (!r.host.empty() && r.host != local_host_name()) why += " on " + r.host;
  return why;
}

}  // namespace

JunitRecorder::JunitRecorder(std::string path, std::string suite, std::string classname)
    : path_(std::move(path)), classname_(xml_escape(classname)) {
  Fd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    throw UsageError(
        fmt::format("--junit {}: cannot create the report: {}", path_, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    // The counts in <testsuite> are rewritten in place as jobs finish: a pipe would get the
    // zeros of the start and never the closing tags.
    throw UsageError(fmt::format(
        "--junit {}: not a regular file (a pipe or a terminal?); JUnit's counts are rewritten "
        "in place as jobs finish, so give the path of a file",
        path_));
  }
  const std::string& host = local_host_name();
  // JUnit's timestamp has no zone (it is UTC here) and no fraction.
  std::string when = iso_time(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count())
                         .substr(0, 19);
  std::string head = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" "
      "timestamp=\"{}\" hostname=\"{}\" ",
      xml_escape(suite), when, xml_escape(host));
  counts_at_ = head.size();
  head += counts_text(0);
  head += ">\n";
  try {
    file_ = ValidFile(std::move(fd), "--junit", path_, "XML", head, std::string(kClosing));
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
}

std::string JunitRecorder::counts_text(double time_s) const {
  std::string counts =
      fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"",
                  tests_, failures_, errors_, skipped_, time_s);
  counts.resize(std::max(counts.size(), kCountsWidth), ' ');
  return counts;
}

void JunitRecorder::append(std::string_view bytes) {
  buf_ += bytes;
  if (buf_.size() >= (64u << 10)) flush();
}

void JunitRecorder::flush() {
  file_.write(buf_);
  buf_.clear();
}

void JunitRecorder::count(double time_s) {
  std::string counts = counts_text(time_s);
  if (counts.size() > kCountsWidth) return;  // unreachable with 64-bit counts; never corrupt
  file_.overwrite(counts_at_, counts);
}

void JunitRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  const char* element = nullptr;  // failure, error or skipped
  uint64_t* counter = nullptr;    // of the testsuite's counts, the one this testcase adds to
  switch (r.status) {
    case Status::kOk:
      break;
    case Status::kFailed:
    case Status::kTimeout:
    case Status::kCrashed:
      counter = &failures_;
      element = "failure";
      break;
    case Status::kError:
      counter = &errors_;
      element = "error";
      break;
    case Status::kSkipped:
    case Status::kCancelled:
      counter = &skipped_;
      element = "skipped";
      break;
  }
  try {
    write_testcase(job, r, element);
    flush();
    file_.commit();
  } catch (const std::exception&) {
    buf_.clear();  // the file took the testcase back, and says so
    throw;
  }
  ++tests_;
  if (counter) ++*counter;
  count(std::chrono::duration<double>(Clock::now() - started_).count());
}

void JunitRecorder::write_testcase(const Job& job, const Result& r, const char* element) {
  bool has_out = r.output.size(Stream::kStdout) > 0, has_err = r.output.size(Stream::kStderr) > 0;
  append(fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3f}\"",
                     xml_escape(job.name), classname_, r.duration_s));
  if (!element && !has_out && !has_err) {
    append("/>\n");
  } else {
    append(">\n");
    auto text = [this](std::string_view bytes) { append(bytes); };
    if (element) {
      std::string why = reason(job, r);
      append(fmt::format("      <{} message=\"{}\"", element, xml_escape(why)));
      if (r.status == Status::kSkipped || r.status == Status::kCancelled) {
        append("/>\n");
      } else {
        append(fmt::format(" type=\"{}\">", status_name(r.status)));
        XmlTextWriter w(Mode::kText, text);
        w.feed(why);
        if (has_err) {
          // What a person needs first when a job failed: how it ended and the end of stderr.
          uint64_t size = r.output.size(Stream::kStderr);
          w.feed(size > kFailureTail
                     ? fmt::format("\n\n... last {} of {} bytes of stderr:\n", kFailureTail, size)
                     : std::string("\n\nstderr:\n"));
          for_each_tail(r.output, Stream::kStderr, kFailureTail,
                        [&](std::string_view piece) { w.feed(piece); });
        }
        w.finish();
        append(fmt::format("</{}>\n", element));
      }
    }
    for (Stream s : {Stream::kStdout, Stream::kStderr}) {
      if (r.output.size(s) == 0) continue;
      const char* tag = s == Stream::kStdout ? "system-out" : "system-err";
      append(fmt::format("      <{}>", tag));
      // Bounded, so one chatty job cannot make the report too big for a CI viewer to load;
      // --results DIR keeps every byte.
      XmlTextWriter w(Mode::kText, text);
      if (r.output.size(s) > kStreamTail) {
        w.feed(fmt::format("[procpool: the first {} bytes are left out here]\n",
                           r.output.size(s) - kStreamTail));
      }
      for_each_tail(r.output, s, kStreamTail, [&](std::string_view piece) { w.feed(piece); });
      w.finish();
      append(fmt::format("</{}>\n", tag));
    }
    append("    </testcase>\n");
  }
}

void JunitRecorder::finish(const Summary& s) {
  count(s.wall_s);  // in place: needs no new space
}

}  // namespace procpool
