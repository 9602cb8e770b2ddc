#include "cli/report_file.h"

#include <fcntl.h>
#include <string.h>

#include <cerrno>
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
    why = e.what();
  }
  throw std::runtime_error(fmt::format("{} {}: cannot write: {}", flag, path, why));
}

}  // namespace procpool
