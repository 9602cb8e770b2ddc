#include "cli/pipe_blocks.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "cli/template.h"
#include "common/job_file.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

constexpr size_t kReadChunk = size_t{1} << 20;
constexpr size_t npos = std::string::npos;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string decode_record_separator(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 == text.size()) {
      out += c;
      continue;
    }
    char e = text[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
        if (i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
          out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      default:
        // \\ \' \" are the character (as GNU parallel reads them); any other pair stays as typed.
        if (e != '\\' && e != '\'' && e != '"') out += '\\';
        out += e;
    }
  }
  return out;
}

BlockReader::BlockReader(Fd fd, BlockSpec spec)
    : fd_(std::move(fd)), regular_(is_regular(fd_.get())), spec_(std::move(spec)) {}

size_t BlockReader::split_after(size_t from) const {
  const std::string& re = spec_.recend;
  const std::string& rs = spec_.recstart;
  size_t first = std::max(from, pos_) + 1;  // the smallest end that would do
  if (re.empty() && rs.empty()) return first <= buf_.size() ? first : npos;
  if (re.empty()) return buf_.find(rs, first);
  for (size_t at = first >= pos_ + re.size() ? first - re.size() : pos_;; ++at) {
    at = buf_.find(re, at);
    if (at == npos) return npos;
    size_t end = at + re.size();
    if (rs.empty()) return end;
    if (end + rs.size() > buf_.size()) return npos;  // what follows has not arrived yet
    if (buf_.compare(end, rs.size(), rs) == 0) return end;
  }
}

size_t BlockReader::last_split_within() const {
  const std::string& re = spec_.recend;
  const std::string& rs = spec_.recstart;
  size_t limit = pos_ + spec_.block;
  if (re.empty() && rs.empty()) return std::min(limit, buf_.size());
  if (re.empty()) {
    size_t at = buf_.rfind(rs, limit);
    return at != npos && at > pos_ ? at : npos;
  }
  if (limit < pos_ + re.size()) return npos;
  for (size_t at = buf_.rfind(re, limit - re.size()); at != npos && at >= pos_;) {
    size_t end = at + re.size();
    if (rs.empty() || (end + rs.size() <= buf_.size() && buf_.compare(end, rs.size(), rs) == 0)) {
      return end;
    }
    if (at == pos_) break;
    at = buf_.rfind(re, at - 1);
  }
  return npos;
}

void BlockReader::emit(std::string& block, size_t end) {
  block.assign(buf_, pos_, end - pos_);
  pos_ = end;
  if (pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  scanned_ = pos_;
  cut_ = pos_;
  found_ = 0;
  ++blocks_;
}

Fetched BlockReader::read_more() {
  if (buf_.size() - pos_ > kMaxBlockBytes) {
    std::string where = spec_.recend.empty()     ? "no --recstart"
                        : spec_.recstart.empty() ? "no --recend"
                                                 : "no --recend followed by --recstart";
    throw InputError(fmt::format(
        "--pipe: block {} of stdin grows past {} MiB with {} ('{}', '{}') to cut it at: give "
        "the records' real --recend/--recstart, or --recend '' to cut anywhere",
        blocks_ + 1, kMaxBlockBytes >> 20, where, visible(spec_.recend), visible(spec_.recstart)));
  }
  if (!regular_ && !readable_now(fd_.get())) return Fetched::kBlocked;
  size_t had = buf_.size();
  buf_.resize(had + kReadChunk);
  ssize_t n;
  while ((n = ::read(fd_.get(), buf_.data() + had, kReadChunk)) < 0 && errno == EINTR) {
  }
  buf_.resize(had + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  if (n < 0 && errno == EAGAIN) return Fetched::kBlocked;
  if (n < 0) throw InputError(std::string("cannot read stdin: ") + std::strerror(errno));
  if (n == 0) eof_ = true;
  return Fetched::kJob;
}

Fetched BlockReader::fetch(std::string& block) {
  for (;;) {
    size_t left = buf_.size() - pos_;
    // What may still end a record but is not known yet: the last bytes, until more arrive.
    size_t unknown = spec_.recstart.size();
    if (spec_.records) {
      while (found_ < *spec_.records) {
        size_t at = split_after(scanned_);
        if (at == npos) {
          if (buf_.size() >= unknown) scanned_ = std::max(scanned_, buf_.size() - unknown);
          break;
        }
        scanned_ = cut_ = at;
        ++found_;
      }
      if (found_ == *spec_.records) {
        emit(block, cut_);
        return Fetched::kJob;
      }
    } else if (left >= spec_.block + unknown || (eof_ && left > spec_.block)) {
      // Once the block's bytes showed no place to cut, more input does not change them: look
      // only past them (scanned_), not through the whole block again on every read.
      size_t at = scanned_ >= pos_ + spec_.block ? npos : last_split_within();
      if (at == npos) {
        // One record longer than a block: the block is that record.
        at = split_after(std::max(scanned_, pos_ + spec_.block));
        if (at == npos && buf_.size() >= unknown) {
          scanned_ = std::max(scanned_, buf_.size() - unknown);
        }
      }
      if (at != npos) {
        emit(block, at);
        return Fetched::kJob;
      }
    }
    if (eof_) {
      if (left == 0) return Fetched::kEnd;
      emit(block, buf_.size());
      return Fetched::kJob;
    }
    if (Fetched got = read_more(); got != Fetched::kJob) return got;
  }
}

namespace {

class PipeSource : public JobSource {
 public:
  PipeSource(const std::string& tmpl, BlockSpec spec, JobDefaults defaults,
             const std::optional<std::string>& tagstring)
      // kText: no values to append (kEach's " {}" would leave a blank at the end of the command).
      : reader_(open_input("-"), std::move(spec)),
        template_(tmpl, Template::Mode::kText),
        defaults_(std::move(defaults)) {
    tell_terminal_reader("-",
                         "reading the jobs' input (--pipe) from the terminal (stdin); end with "
                         "Ctrl-D");
    if (tagstring) tag_.emplace(*tagstring, Template::Mode::kText);
  }

  Fetched fetch(std::optional<Job>& job) override {
    std::string block;
    Fetched got = reader_.fetch(block);
    if (got != Fetched::kJob) return got;
    job.emplace();
    apply_defaults(*job, defaults_);
    job->id = ++count_;
    job->shell = template_.expand({}, job->id, &job->slot_spots);
    job->name = tag_ ? tag_->expand({}, job->id) : fmt::format("block {}", job->id);
    job->input = std::make_shared<const std::string>(std::move(block));
    return Fetched::kJob;
  }
  int wait_fd() const override { return reader_.fd(); }
  bool drainable() const override { return false; }
  std::optional<size_t> read_ahead() const override { return 2; }

 private:
  BlockReader reader_;
  Template template_;
  std::optional<Template> tag_;  // --tagstring
  JobDefaults defaults_;
  uint64_t count_ = 0;
};

}  // namespace

std::unique_ptr<JobSource> pipe_source(const std::string& tmpl, BlockSpec spec,
                                       const JobDefaults& defaults,
                                       const std::optional<std::string>& tagstring) {
  return std::make_unique<PipeSource>(tmpl, std::move(spec), defaults, tagstring);
}

}  // namespace procpool
