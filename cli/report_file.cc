#include "cli/report_file.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "cli/flags.h"

namespace procpool {

Fd create_report_file(std::string_view flag, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) return Fd(fd);
  int err = errno;
  std::string hint;
  if (err == ENOENT) hint = " (does its directory exist?)";
  if (err == EACCES || err == EROFS) hint = " (choose a path you may write)";
  if (err == EISDIR) hint = " (give a file name, not a directory)";
  throw UsageError(fmt::format("{} {}: cannot write it: {}{}", flag, path, ::strerror(err), hint));
}

void write_report(int fd, std::string_view data, std::string_view flag, const std::string& path) {
  std::string why;
  try {
    if (write_all(fd, data)) return;
    why = "its reader went away";
  } catch (const std::system_error& e) {
    why = e.code().message();
  }
  throw std::runtime_error(fmt::format("{} {}: cannot write: {}", flag, path, why));
}

void append_record(int fd, std::string_view record, std::string_view label) {
  size_t written = 0;
  while (written < record.size()) {
    ssize_t n = ::write(fd, record.data() + written, record.size() - written);
    if (n >= 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    int err = errno;
    if (written > 0) {
      // Writing at the end (O_APPEND or sequentially), so the offset is the file's end now.
      off_t end = ::lseek(fd, 0, SEEK_CUR);
      off_t start = end - static_cast<off_t>(written);
      if (end >= 0 && start >= 0 && ::ftruncate(fd, start) == 0) ::lseek(fd, start, SEEK_SET);
    }
    throw std::runtime_error(fmt::format(
        "{}: cannot write: {}", label,
        err == EPIPE ? std::string("its reader went away") : std::string(::strerror(err))));
  }
}

bool remove_unfinished(int fd, const std::string& path) {
  struct stat open_st {
  }, path_st{};
  if (::fstat(fd, &open_st) != 0 || !S_ISREG(open_st.st_mode)) return false;
  if (::lstat(path.c_str(), &path_st) != 0) return false;
  if (open_st.st_dev != path_st.st_dev || open_st.st_ino != path_st.st_ino) return false;
  return ::unlink(path.c_str()) == 0;
}

}  // namespace procpool
