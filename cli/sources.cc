#include "cli/sources.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cli/template.h"
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

// Walks the cartesian product of the sources, the first source varying slowest (as GNU
// parallel). Only a lone source is streamed; with several, all but none are needed in memory,
// so every source is read up front.
class MapSource : public JobSource {
 public:
  MapSource(MapInputs in, JobDefaults defaults)
      : in_(std::move(in)), defaults_(std::move(defaults)) {
    size_t sources = in_.args.size() + in_.files.size();
    if (sources == 0) {
      stream_.emplace(open_input("-"), in_.sep);
      return;
    }
    // Rebuild the sources in command-line order: ::: lists and :::: files interleaved.
    std::vector<std::vector<std::string>> ordered(sources);
    std::vector<bool> is_file(sources, false);
    for (const auto& [pos, path] : in_.files) is_file[pos] = true;
    size_t next_args = 0;
    for (size_t i = 0; i < sources; ++i) {
      if (!is_file[i]) ordered[i] = std::move(in_.args[next_args++]);
    }
    if (sources == 1 && is_file[0]) {
      stream_.emplace(open_input(in_.files[0].second), in_.sep);
      streamed_file_ = in_.files[0].second != "-";
      return;
    }
    for (const auto& [pos, path] : in_.files) {
      RecordReader r(open_input(path), in_.sep);
      while (auto rec = r.next()) ordered[pos].push_back(std::move(*rec));
    }
    sources_ = std::move(ordered);
    for (const auto& s : sources_) empty_ = empty_ || s.empty();
    odometer_.assign(sources_.size(), 0);
  }

  Fetched fetch(std::optional<Job>& job) override {
    std::vector<std::string> values;
    if (stream_) {
      std::string rec;
      Fetched got = stream_->fetch(rec);
      if (got != Fetched::kJob) return got;
      values.push_back(std::move(rec));
    } else {
      if (empty_ || done_) return Fetched::kEnd;
      for (size_t i = 0; i < sources_.size(); ++i) values.push_back(sources_[i][odometer_[i]]);
      advance();
    }
    job.emplace();
    apply_defaults(*job, defaults_);
    job->id = ++count_;
    try {
      job->shell = expand_template(in_.tmpl, values, job->id);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("procpool map: ") + e.what());
    }
    // Named by its input, as GNU parallel's --tag does: what varies is what identifies it.
    for (const auto& v : values) job->name += (job->name.empty() ? "" : " ") + v;
    return Fetched::kJob;
  }
  int wait_fd() const override { return stream_ ? stream_->fd() : -1; }
  bool drainable() const override { return !stream_ || streamed_file_; }
  std::optional<uint64_t> size() const override {
    if (stream_) return std::nullopt;
    uint64_t n = 1;
    for (const auto& s : sources_) n *= s.size();
    return n;
  }

 private:
  void advance() {
    for (size_t i = sources_.size(); i-- > 0;) {
      if (++odometer_[i] < sources_[i].size()) return;
      odometer_[i] = 0;
    }
    done_ = true;
  }

  MapInputs in_;
  JobDefaults defaults_;
  std::optional<RecordReader> stream_;             // a lone source, read as it comes
  bool streamed_file_ = false;                     // ... and it is a named file
  std::vector<std::vector<std::string>> sources_;  // all sources, when several
  std::vector<size_t> odometer_;                   // current combination
  bool empty_ = false, done_ = false;
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

namespace {

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

}  // namespace

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
  for (;;) {
    switch (fetch(record)) {
      case Fetched::kJob:
        return record;
      case Fetched::kEnd:
        return std::nullopt;
      case Fetched::kBlocked: {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw_errno("poll (reading input)");
        break;
      }
    }
  }
}

std::optional<Job> JobSource::next() {
  std::optional<Job> job;
  for (;;) {
    switch (fetch(job)) {
      case Fetched::kJob:
        return job;
      case Fetched::kEnd:
        return std::nullopt;
      case Fetched::kBlocked: {
        pollfd p{wait_fd(), POLLIN, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw_errno("poll (reading input)");
        break;
      }
    }
  }
}

std::unique_ptr<JobSource> lines_source(const std::string& path, const JobDefaults& defaults) {
  return std::make_unique<LinesSource>(open_input(path), defaults);
}

MapInputs parse_map_words(const std::vector<std::string>& words, char sep) {
  MapInputs in;
  in.sep = sep;
  size_t i = 0;
  for (; i < words.size() && words[i] != ":::" && words[i] != "::::"; ++i) {
    if (!in.tmpl.empty()) in.tmpl += ' ';
    in.tmpl += words[i];
  }
  if (in.tmpl.empty()) {
    throw InputError("procpool map: no command template; try procpool map 'gzip {}' ::: *.log");
  }
  size_t position = 0;
  while (i < words.size()) {
    bool files = words[i] == "::::";
    ++i;
    size_t start = i;
    for (; i < words.size() && words[i] != ":::" && words[i] != "::::"; ++i) {
      if (files) {
        in.files.emplace_back(position++, words[i]);
      }
    }
    if (!files) {
      in.args.emplace_back(words.begin() + static_cast<std::ptrdiff_t>(start),
                           words.begin() + static_cast<std::ptrdiff_t>(i));
      ++position;
    }
    if (start == i) {
      throw InputError(fmt::format("procpool map: '{}' is followed by nothing; give {} after it",
                                   files ? "::::" : ":::", files ? "file names" : "arguments"));
    }
  }
  return in;
}

std::unique_ptr<JobSource> map_source(MapInputs inputs, const JobDefaults& defaults) {
  return std::make_unique<MapSource>(std::move(inputs), defaults);
}

}  // namespace procpool
