#include "common/output.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace procpool {

namespace {

const char* spill_dir() {
  const char* dir = ::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

// An unlinked file in $TMPDIR, or the errno that refused one.
int open_spill_file(Fd& out) {
  const char* dir = spill_dir();
  int fd = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return errno;
  if (fd < 0) {
    // Some file systems have no O_TMPFILE: an unlinked named file does the same job.
    std::string path = std::string(dir) + "/procpool-output-XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return errno;
    ::unlink(path.c_str());
  }
  out.reset(fd);
  return 0;
}

// 0, or the errno of the write that failed.
int pwrite_all(int fd, std::string_view data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

std::string spill_failure(const char* what, int err) {
  return std::string(what) + " a temporary file in " + spill_dir() + " for it failed (" +
         std::strerror(err) + ")";
}

}  // namespace

Output& Output::operator=(Output&& other) noexcept {
  if (this != &other) {
    spill_bytes_ = other.spill_bytes_;
    runs_ = std::exchange(other.runs_, {});
    memory_ = std::exchange(other.memory_, {});
    file_ = std::move(other.file_);
    out_bytes_ = std::exchange(other.out_bytes_, 0);
    err_bytes_ = std::exchange(other.err_bytes_, 0);
    failure_ = std::exchange(other.failure_, {});
    dropped_ = std::exchange(other.dropped_, 0);
  }
  return *this;
}

bool Output::append(Stream s, std::string_view bytes) {
  if (!failure_.empty()) {
    dropped_ += bytes.size();
    return false;
  }
  if (bytes.empty()) return true;
  uint64_t at = out_bytes_ + err_bytes_;
  if (file_) {
    if (int err = pwrite_all(file_.get(), bytes, at)) {
      fail(spill_failure("writing to", err), bytes.size());
      return false;
    }
  } else {
    memory_.append(bytes);
  }
  (s == Stream::kStdout ? out_bytes_ : err_bytes_) += bytes.size();
  if (!runs_.empty() && runs_.back().stream == s) {
    runs_.back().size += bytes.size();
  } else {
    runs_.push_back({s, bytes.size()});
  }
  if (!file_ && memory_.size() > spill_bytes_) spill();
  return true;
}

void Output::spill() {
  Fd file;
  int err = open_spill_file(file);
  if (!err) err = pwrite_all(file.get(), memory_, 0);
  if (err) {
    // What is in memory stays whole; nothing more is taken.
    fail(spill_failure(file ? "writing to" : "making", err), 0);
    return;
  }
  file_ = std::move(file);
  std::string().swap(memory_);  // give the memory back, not just the size
}

void Output::fail(const std::string& why, uint64_t bytes) {
  failure_ = why;
  dropped_ += bytes;
}

void Output::for_each(const std::function<void(Stream, std::string_view)>& fn) const {
  uint64_t offset = 0;
  std::string buf;
  for (const Run& run : runs_) {
    if (!file_) {
      fn(run.stream, std::string_view(memory_).substr(offset, run.size));
      offset += run.size;
      continue;
    }
    uint64_t left = run.size;
    while (left > 0) {
      buf.resize(std::min<uint64_t>(left, 1u << 16));
      ssize_t n = ::pread(file_.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("pread (reading spilled job output)");
      if (n == 0) return;  // the file was truncated behind our back; nothing more to give
      fn(run.stream, std::string_view(buf.data(), static_cast<size_t>(n)));
      offset += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
    }
  }
}

std::string Output::text(Stream s) const {
  std::string all;
  all.reserve(size(s));
  for_each([&](Stream which, std::string_view bytes) {
    if (which == s) all.append(bytes);
  });
  return all;
}

}  // namespace procpool
