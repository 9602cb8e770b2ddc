#include "cli/sources.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/job_file.h"

namespace procpool {

namespace {

class VectorSource : public JobSource {
 public:
  explicit VectorSource(std::vector<Job> jobs) : jobs_(std::move(jobs)) {}
  Fetched fetch(std::optional<Job>& job) override {
    if (at_ >= jobs_.size()) return Fetched::kEnd;
    job = std::move(jobs_[at_++]);
    return Fetched::kJob;
  }
  bool drainable() const override { return true; }
  std::optional<uint64_t> size() const override { return jobs_.size(); }

 private:
  std::vector<Job> jobs_;
  size_t at_ = 0;
};

class LinesSource : public JobSource {
 public:
  LinesSource(Fd fd, JobDefaults defaults)
      : reader_(std::move(fd), '\n'), defaults_(std::move(defaults)) {}
  Fetched fetch(std::optional<Job>& job) override {
    std::string line;
    for (;;) {
      Fetched got = reader_.fetch(line);
      if (got != Fetched::kJob) return got;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) break;
    }
    job.emplace();
    apply_defaults(*job, defaults_);
    job->id = ++count_;
    job->shell = line;
    job->name = std::move(line);
    return Fetched::kJob;
  }
  int wait_fd() const override { return reader_.fd(); }
  bool drainable() const override { return reader_.is_regular_file(); }

 private:
  RecordReader reader_;
  JobDefaults defaults_;
  uint64_t count_ = 0;
};

}  // namespace

std::unique_ptr<JobSource> job_file_source(std::vector<Job> jobs) {
  return std::make_unique<VectorSource>(std::move(jobs));
}

Fd open_input(const std::string& path) {
  if (path == "-") return Fd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw InputError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return fd;
}

void tell_terminal_reader(const std::string& path, std::string_view notice) {
  static bool told = false;  // one notice, even for two sources read from stdin (:::: - -)
  if (path != "-" || told || !::isatty(STDIN_FILENO)) return;
  told = true;
  fmt::print(stderr, "procpool: {}\n", notice);
}

bool is_regular(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// Whether `fd` has bytes (or EOF) to read now. Read after this, a pipe, terminal or socket
// returns at once without O_NONBLOCK, which is never set on a descriptor shared with others (the
// shell's terminal, a pipe another process reads too).
bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    return n != 0;  // an error is reported by the read that follows
  }
}

RecordReader::RecordReader(Fd fd, char sep)
    : fd_(std::move(fd)), regular_(is_regular(fd_.get())), sep_(sep) {}

Fetched RecordReader::fetch(std::string& record) {
  for (;;) {
    size_t at = buf_.find(sep_, pos_);
    // The same limit whether the separator has arrived yet or not.
    size_t length = (at != std::string::npos ? at : buf_.size()) - pos_;
    if (length > kMaxRecordBytes) {
      bool text = buf_.find('\0', pos_) == std::string::npos;
      std::string unended = at != std::string::npos ? ""
                            : sep_ == '\n'          ? " with no newline"
                                                    : " with no NUL separator";
      throw InputError(fmt::format(
          "input {} {} goes past {} KiB{}: no command can hold it (the kernel passes at most "
          "128 KiB in one argument){}",
          sep_ == '\n' ? "line" : "record", records_ + 1, kMaxRecordBytes >> 10, unended,
          text ? "" : "; it holds NUL bytes: is the input a text file?"));
    }
    if (at != std::string::npos) {
      record.assign(buf_, pos_, at - pos_);
      pos_ = at + 1;
      ++records_;
      return Fetched::kJob;
    }
    if (eof_) {
      if (pos_ >= buf_.size()) return Fetched::kEnd;
      record.assign(buf_, pos_);
      pos_ = buf_.size();
      ++records_;
      return Fetched::kJob;
    }
    if (!regular_ && !readable_now(fd_.get())) return Fetched::kBlocked;
    buf_.erase(0, pos_);
    pos_ = 0;
    char chunk[65536];
    ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Fetched::kBlocked;
    if (n < 0) throw InputError(std::string("cannot read input: ") + std::strerror(errno));
    if (n == 0) eof_ = true;
    buf_.append(chunk, static_cast<size_t>(n > 0 ? n : 0));
  }
}

std::optional<std::string> RecordReader::next() {
  std::string record;
  if (!fetch_waiting([this](std::string& r) { return fetch(r); }, [this] { return fd_.get(); },
                     record)) {
    return std::nullopt;
  }
  return record;
}

void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw_errno("poll (reading input)");
}

std::optional<Job> JobSource::next() {
  std::optional<Job> job;
  if (!fetch_waiting([this](std::optional<Job>& j) { return fetch(j); },
                     [this] { return wait_fd(); }, job)) {
    return std::nullopt;
  }
  return job;
}

std::unique_ptr<JobSource> lines_source(const std::string& path, const JobDefaults& defaults) {
  tell_terminal_reader(path,
                       "reading commands from the terminal (stdin), one per line; end with "
                       "Ctrl-D, or give a file: procpool run --lines FILE");
  return std::make_unique<LinesSource>(open_input(path), defaults);
}

}  // namespace procpool
