#include "cli/results_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <system_error>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/jsonl_printer.h"
#include "common/fd.h"

namespace procpool {

namespace {

constexpr size_t kMaxNameBytes = 100;

// Length of the valid UTF-8 character of two to four bytes starting at s[i], or 0.
size_t utf8_char_length(const std::string& s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  unsigned char c = at(0);
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0) return 0;
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  for (size_t k = 1; k < n; ++k, lo = 0x80, hi = 0xBF) {
    if (at(k) < lo || at(k) > hi) return 0;
  }
  return n;
}

bool plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("+,-.=@_", c) != nullptr;
}

void write_file(const std::string& path, const std::function<void(int fd)>& fill) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd)
    throw std::system_error(errno, std::generic_category(), "--results: cannot create " + path);
  fill(fd.get());
}

}  // namespace

std::string results_folder_name(uint64_t id, const std::string& name) {
  std::string safe;
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    size_t n = c != 0 && plain(c) ? 1 : utf8_char_length(name, i);
    if (safe.size() + std::max<size_t>(n, 1) > kMaxNameBytes) break;
    if (n == 0) {
      if (safe.empty() || safe.back() != '_') safe += '_';
      ++i;
    } else {
      safe.append(name, i, n);
      i += n;
    }
  }
  return fmt::format("{:04d}-{}", id, safe);
}

ResultsDirRecorder::ResultsDirRecorder(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    throw UsageError(fmt::format("--results {}: cannot create the folder: {}", dir_, ec.message()));
  }
  if (!std::filesystem::is_directory(dir_, ec)) {
    throw UsageError(fmt::format("--results {}: exists and is not a folder", dir_));
  }
  if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
    throw UsageError(
        fmt::format("--results {}: cannot write in it: {}", dir_, std::strerror(errno)));
  }
}

void ResultsDirRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  // Skipped by --resume: the folder the run that succeeded wrote is the one worth keeping.
  if (r.resumed) return;
  std::string folder = dir_ + "/" + results_folder_name(job.id, job.name);
  if (::mkdir(folder.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::system_error(errno, std::generic_category(), "--results: cannot create " + folder);
  }
  for (Stream s : {Stream::kStdout, Stream::kStderr}) {
    write_file(folder + (s == Stream::kStdout ? "/stdout" : "/stderr"), [&](int fd) {
      r.output.for_each([&](Stream which, std::string_view bytes) {
        if (which == s) write_all(fd, bytes);
      });
    });
  }
  auto record = job_record(job, r);
  record.remove("type");
  write_file(folder + "/meta.json", [&](int fd) { write_all(fd, record.pretty() + "\n"); });
}

}  // namespace procpool
