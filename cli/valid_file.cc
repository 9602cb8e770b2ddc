#include "cli/valid_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "cli/report_file.h"

namespace procpool {

ValidFile::ValidFile(Fd fd, std::string_view flag, std::string path, std::string kind,
                     std::string_view head, std::string tail)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      label_(std::string(flag) + " " + path_),
      kind_(std::move(kind)),
      tail_(std::move(tail)) {
  struct stat st {};
  seekable_ = ::fstat(fd_.get(), &st) == 0 && S_ISREG(st.st_mode);
  try {
    write_at(head, 0);
    committed_ = end_ = head.size();
    if (seekable_) write_at(tail_, committed_);
  } catch (const std::exception& e) {
    remove_unfinished(fd_.get(), path_);  // not even its head: nothing to mistake for a report
    throw std::runtime_error(label_ + ": cannot write it: " + e.what());
  }
}

void ValidFile::write_at(std::string_view bytes, uint64_t offset) {
  while (!bytes.empty()) {
    ssize_t n = seekable_
                    ? ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset))
                    : ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category());
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
}

void ValidFile::take_back(const std::exception& why) {
  end_ = committed_;
  std::string what = label_ + ": cannot write: " + why.what();
  if (!seekable_) throw std::runtime_error(what + "; it is incomplete");
  restore_tail(what);
  throw std::runtime_error(what + "; it stays valid " + kind_ + ", without this job");
}

void ValidFile::restore_tail(const std::string& what) {
  try {
    // Cut where the tail ends after the last whole record: space the file held already, so
    // writing the tail there again needs none.
    if (::ftruncate(fd_.get(), static_cast<off_t>(committed_ + tail_.size())) != 0) {
      throw std::system_error(errno, std::generic_category());
    }
    write_at(tail_, committed_);
  } catch (const std::exception&) {
    throw std::runtime_error(what + "; " + remove_broken());
  }
}

void ValidFile::check_usable() const {
  if (broken_)
    throw std::runtime_error(label_ + ": not written any more: it could not be kept valid");
}

std::string ValidFile::remove_broken() {
  broken_ = true;  // whether or not it could be removed, nothing more goes into it
  return remove_unfinished(fd_.get(), path_) ? "removed it, as it could not be kept valid"
                                             : "it could not be kept valid";
}

void ValidFile::write(std::string_view piece) {
  check_usable();
  try {
    write_at(piece, end_);
  } catch (const std::exception& e) {
    take_back(e);
  }
  end_ += piece.size();
}

void ValidFile::commit() {
  check_usable();
  try {
    if (seekable_) write_at(tail_, end_);
  } catch (const std::exception& e) {
    take_back(e);
  }
  committed_ = end_;
}

void ValidFile::overwrite(uint64_t offset, std::string_view bytes) {
  check_usable();
  if (!seekable_) return;  // gone down the pipe already
  try {
    write_at(bytes, offset);
  } catch (const std::exception& e) {
    throw std::runtime_error(label_ + ": cannot write: " + e.what());
  }
}

void ValidFile::replace_tail(std::string tail) {
  check_usable();
  try {
    write_at(tail, committed_);
  } catch (const std::exception& e) {
    std::string what = label_ + ": cannot write its end: " + e.what();
    if (!seekable_) throw std::runtime_error(what + "; it is incomplete");
    restore_tail(what);  // over whatever of the new one landed
    throw std::runtime_error(what + "; it stays valid " + kind_ + ", without its summary");
  }
  // A shorter tail leaves the end of the old one behind it.
  if (seekable_) (void)::ftruncate(fd_.get(), static_cast<off_t>(committed_ + tail.size()));
  tail_ = std::move(tail);
}

}  // namespace procpool
