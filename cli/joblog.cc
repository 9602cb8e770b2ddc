#include "cli/joblog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <procpool/pool.h>
#include "cli/flags.h"
#include "cli/report_file.h"
#include "cli/template.h"

namespace procpool {

namespace {

constexpr std::string_view kHeader =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

// GNU parallel's Exitval and Signal columns: the exit code and 0 for a job that exited; 0 and
// the signal for one killed by a signal; -1 and the signal it was stopped with for one it
// stopped itself (timeout, halt, Ctrl-C). A job that could not start is logged 127, the status
// GNU parallel's shell reports for a command it cannot run.
std::pair<int, int> exit_and_signal(const Result& r) {
  int sig = r.signal.value_or(0);
  switch (r.status) {
    case Status::kOk:
    case Status::kFailed:
      return {r.exit_code.value_or(0), 0};
    case Status::kCrashed:
      return {r.signal ? 0 : -1, sig};
    case Status::kError:
      return {127, 0};
    case Status::kTimeout:
    case Status::kCancelled:
    case Status::kSkipped:
      break;
  }
  return {-1, sig};
}

}  // namespace

std::string joblog_line(const Job& job, const Result& r, const std::string& local_host) {
  auto [exitval, sig] = exit_and_signal(r);
  std::string host = r.host.empty() || r.host == local_host ? ":" : r.host;
  // The command as a shell would run it; GNU parallel writes newlines in it as NUL bytes so a
  // job stays one line.
  std::string cmd;
  if (job.argv.empty()) {
    cmd = job.shell;
  } else {
    for (const auto& a : job.argv) cmd += (cmd.empty() ? "" : " ") + shell_quote(a);
  }
  for (char& c : cmd) {
    if (c == '\n') c = '\0';
  }
  return fmt::format("{}\t{}\t{}.{:03d}\t{:10.3f}\t0\t{}\t{}\t{}\t{}\n", job.id, host,
                     r.started_us / 1000000, static_cast<int>((r.started_us / 1000) % 1000),
                     r.duration_s, r.output.size(Stream::kStdout), exitval, sig, cmd);
}

JoblogRecorder::JoblogRecorder(const std::string& path) {
  bool append = !path.empty() && path[0] == '+';
  path_ = append ? path.substr(1) : path;
  fd_.reset(
      ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644));
  if (!fd_) {
    throw UsageError(
        fmt::format("--joblog {}: cannot open the job log: {}", path_, std::strerror(errno)));
  }
  local_host_ = local_host_name();
  // The header starts a new log; +FILE never writes one, even to a new file, as in GNU
  // parallel (whose --resume reads either).
  struct stat st {};
  if (!append && ::fstat(fd_.get(), &st) == 0 && st.st_size == 0) {
    try {
      append_record(fd_.get(), kHeader, label());
    } catch (const std::exception& e) {
      throw UsageError(e.what());
    }
  }
}

void JoblogRecorder::job(const Future& f) {
  const Result& r = f.result();
  // GNU parallel logs the jobs it started; one cancelled or skipped before it ran has no
  // start time or runtime to log.
  if (r.started_us == 0 && r.attempts == 0) return;
  // Nor does it log a job that --halt now killed midway: it never ended by itself.
  if (r.halted) return;
  // A line the disk cannot take is cut off again: the log keeps whole lines only.
  append_record(fd_.get(), joblog_line(f.job(), r, local_host_), label());
}

}  // namespace procpool
