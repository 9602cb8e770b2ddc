#include "cli/results_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string_view>
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

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Constructor failures: usage errors (exit status 2) before any job runs.
[[noreturn]] void refuse(const std::string& given, const std::string& why) {
  throw UsageError(fmt::format("--results {}: {}", given, why));
}

// Others (group or anyone) may add, remove or replace names in a folder with these bits: what
// procpool creates there is private to its user.
bool others_can_write(const struct stat& folder) {
  return (folder.st_mode & (S_IWGRP | S_IWOTH)) != 0;
}
mode_t folder_mode_in(const struct stat& parent) {
  return others_can_write(parent) ? 0700 : 0755;
}

Fd dup_fd(int fd) {
  if (fd == AT_FDCWD) return Fd(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return Fd(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

constexpr int kMaxLinks = 40;  // as the kernel's ELOOP limit

// Opens the folder `path` names, starting from `from` (AT_FDCWD, or a folder descriptor) one
// component at a time, each with O_NOFOLLOW: a missing component is created (when `create`)
// with mkdirat in the one before it; a symlink is followed only when it belongs to procpool's
// user or to the owner of the folder it sits in (the rule Linux's fs.protected_symlinks applies
// in sticky folders like /tmp, here everywhere, whatever the sysctl says), by walking its target
// the same way. `given` is DIR as the user wrote it, for messages.
Fd walk(const std::string& given, int from, const std::string& path, bool create, int& links,
        const std::string& via = "") {
  bool absolute = !path.empty() && path[0] == '/';
  Fd at = absolute ? Fd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) : dup_fd(from);
  if (!at) refuse(given, "cannot open the folder: " + errno_text(errno));
  std::string walked = absolute ? "/" : "";  // the components done so far, for messages
  for (size_t i = 0; i <= path.size();) {
    size_t j = std::min(path.find('/', i), path.size());
    std::string name = path.substr(i, j - i);
    i = j + 1;
    if (name.empty() || name == ".") continue;
    std::string here = walked + name;
    walked = here + "/";
    std::string shown = via.empty() ? here : via + " -> " + here;  // "link -> its/target"
    for (int attempt = 0;; ++attempt) {
      Fd next(::openat(at.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next) {
        at = std::move(next);
        break;
      }
      int open_error = errno;
      struct stat parent {};
      if (::fstat(at.get(), &parent) != 0) refuse(given, "cannot look at " + shown);
      struct stat st {};
      if (::fstatat(at.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT || !create || attempt > 2) {
          refuse(given, fmt::format("cannot open {}: {}", shown, errno_text(errno)));
        }
        if (::mkdirat(at.get(), name.c_str(), folder_mode_in(parent)) != 0 && errno != EEXIST) {
          refuse(given, fmt::format("cannot create the folder {}: {}", shown, errno_text(errno)));
        }
        continue;  // open what was made (or what appeared meanwhile) with O_NOFOLLOW
      }
      if (S_ISLNK(st.st_mode)) {
        // The link itself, held: its owner and its target are read from one object, so it
        // cannot be swapped between the check and the read.
        Fd link(::openat(at.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!link || ::fstat(link.get(), &st) != 0 || !S_ISLNK(st.st_mode)) {
          if (attempt > 2) refuse(given, shown + " keeps changing while it is looked at");
          continue;  // replaced meanwhile: look again
        }
        if (st.st_uid != ::geteuid() && st.st_uid != parent.st_uid) {
          refuse(given, fmt::format("{} is a symlink of uid {} in a folder of uid {}: not followed "
                                    "(only links of procpool's user or of the folder's owner are)",
                                    shown, st.st_uid, parent.st_uid));
        }
        if (++links > kMaxLinks) refuse(given, "too many levels of symbolic links");
        std::string target(PATH_MAX, '\0');  // st_size is 0 for some (procfs)
        ssize_t n = ::readlinkat(link.get(), "", target.data(), target.size());
        if (n < 0 || static_cast<size_t>(n) >= target.size()) {
          refuse(given, fmt::format("cannot read the symlink {}: {}", shown,
                                    n < 0 ? errno_text(errno) : "it changed"));
        }
        target.resize(static_cast<size_t>(n));
        // What the link names is walked the same way, but not created: as `mkdir -p`, no
        // folder is made through a dangling link.
        at = walk(given, at.get(), target, /*create=*/false, links, shown);
        break;
      }
      if (!S_ISDIR(st.st_mode)) {
        refuse(given, via.empty() && here == given ? "exists and is not a folder"
                                                   : shown + " is not a folder");
      }
      refuse(given, fmt::format("cannot open {}: {}", shown, errno_text(open_error)));
    }
  }
  return at;
}

// A step of writing one job's folder that failed: what, and why.
struct StepFailed {
  std::string step;    // "cannot write stdout"
  std::string reason;  // "No space left on device"
};

// Creates `name` in `folder` afresh and lets `fill` write it: whatever was there (an earlier
// run's file, or a link) is unlinked first, never opened, and O_EXCL | O_NOFOLLOW make sure the
// file written is the one just created (not a symlink or a hard link planted meanwhile). Checks
// close() too: NFS and quotas may only say so then. `shown` names the file in messages.
void create_file(int folder, const char* name, const char* shown, mode_t mode,
                 const std::function<void(int fd)>& fill) {
  if (::unlinkat(folder, name, 0) != 0 && errno != ENOENT) {
    throw StepFailed{fmt::format("cannot replace {}", shown), errno_text(errno)};
  }
  Fd fd(::openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) throw StepFailed{fmt::format("cannot create {}", shown), errno_text(errno)};
  std::string step = fmt::format("cannot write {}", shown);
  try {
    fill(fd.get());
  } catch (const std::system_error& e) {
    throw StepFailed{step, e.code().message()};
  } catch (const std::exception& e) {
    throw StepFailed{step, e.what()};
  }
  if (::close(fd.release()) != 0 && errno != EINTR) throw StepFailed{step, errno_text(errno)};
}

void write_or_fail(int fd, std::string_view bytes) {
  if (!write_all(fd, bytes)) throw std::system_error(EPIPE, std::generic_category(), "write");
}

// Removes `name` from `dir` if it is there: a file or link is unlinked (never followed), a
// folder of procpool's user is emptied of its files and removed. "" when done, else why not.
std::string remove_entry(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? "" : errno_text(errno);
  }
  if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir, name.c_str(), 0) == 0 ? "" : errno_text(errno);
  Fd folder(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!folder || ::fstat(folder.get(), &st) != 0) return errno_text(errno);
  if (st.st_uid != ::geteuid()) return fmt::format("it belongs to uid {}", st.st_uid);
  Fd listed = dup_fd(folder.get());
  DIR* entries = listed ? ::fdopendir(listed.get()) : nullptr;
  if (entries == nullptr) return errno_text(errno);
  listed.release();  // closedir closes it
  std::string error;
  while (const dirent* e = ::readdir(entries)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (::unlinkat(folder.get(), e->d_name, 0) != 0 && error.empty()) {
      error = fmt::format("{}: {}", e->d_name, errno_text(errno));
    }
  }
  ::closedir(entries);
  if (!error.empty()) return error;
  return ::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0 ? "" : errno_text(errno);
}

constexpr const char* kIncomplete = ".incomplete";
constexpr const char* kMetaTemporary = ".meta.json.tmp";

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
  int links = 0;
  dirfd_ = walk(dir_, AT_FDCWD, dir_, /*create=*/true, links);
  struct stat st {};
  if (::fstat(dirfd_.get(), &st) != 0) refuse(dir_, "cannot look at it: " + errno_text(errno));
  if (::faccessat(dirfd_.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    refuse(dir_, "cannot write in it: " + errno_text(errno));
  }
  folder_mode_ = others_can_write(st) ? 0700 : 0755;
  file_mode_ = others_can_write(st) ? 0600 : 0644;
}

Fd ResultsDirRecorder::open_job_folder(const std::string& name) const {
  auto fail = [&](const std::string& why) {
    throw std::runtime_error(fmt::format("--results {}: {}: {}", dir_, name, why));
  };
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::mkdirat(dirfd_.get(), name.c_str(), folder_mode_) != 0 && errno != EEXIST) {
      fail("cannot create the folder: " + errno_text(errno));
    }
    Fd fd(::openat(dirfd_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!fd) {
      int open_error = errno;
      if (::fstatat(dirfd_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed meanwhile: made again
        fail("cannot open the folder: " + errno_text(errno));
      }
      if (S_ISLNK(st.st_mode)) {
        fail("is a symlink procpool did not make: not followed, nothing written (remove it)");
      }
      if (!S_ISDIR(st.st_mode)) fail("exists and is not a folder: nothing written (remove it)");
      fail("cannot open the folder: " + errno_text(open_error));
    }
    if (::fstat(fd.get(), &st) != 0) fail("cannot look at the folder: " + errno_text(errno));
    if (st.st_uid != ::geteuid()) {
      fail(
          fmt::format("the folder belongs to uid {}, not to procpool's user (uid {}): nothing "
                      "written in it (remove it)",
                      st.st_uid, ::geteuid()));
    }
    return fd;
  }
  throw std::runtime_error(
      fmt::format("--results {}: {}: the folder keeps disappearing", dir_, name));
}

void ResultsDirRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  // Skipped by --resume: the folder the run that succeeded wrote is the one worth keeping.
  if (r.resumed) return;
  std::string name = results_folder_name(job.id, job.name);
  Fd folder = open_job_folder(name);
  std::string mark = name + kIncomplete;
  try {
    // meta.json present means the folder is complete: an earlier run's goes first, the new
    // one comes last, whole (written aside and renamed into place).
    if (::unlinkat(folder.get(), "meta.json", 0) != 0 && errno != ENOENT) {
      throw StepFailed{"cannot replace meta.json", errno_text(errno)};
    }
    for (Stream s : {Stream::kStdout, Stream::kStderr}) {
      const char* file = s == Stream::kStdout ? "stdout" : "stderr";
      create_file(folder.get(), file, file, file_mode_, [&](int fd) {
        r.output.for_each([&](Stream which, std::string_view bytes) {
          if (which == s) write_or_fail(fd, bytes);
        });
      });
    }
    auto record = job_record(job, r);
    record.remove("type");
    create_file(folder.get(), kMetaTemporary, "meta.json", file_mode_,
                [&](int fd) { write_or_fail(fd, record.pretty() + "\n"); });
    if (::renameat(folder.get(), kMetaTemporary, folder.get(), "meta.json") != 0) {
      throw StepFailed{"cannot write meta.json", errno_text(errno)};
    }
  } catch (const StepFailed& failed) {
    // What was written stays; the folder's name says it is not whole (a rename needs no room).
    ::unlinkat(folder.get(), kMetaTemporary, 0);
    std::string why = remove_entry(dirfd_.get(), mark);
    if (why.empty() && ::renameat(dirfd_.get(), name.c_str(), dirfd_.get(), mark.c_str()) != 0) {
      why = errno_text(errno);
    }
    throw std::runtime_error(fmt::format(
        "--results {}: {}: {}: {}; {}", dir_, name, failed.step, failed.reason,
        why.empty() ? fmt::format("the folder is marked incomplete ({})", mark)
                    : fmt::format("it has no meta.json, so it is incomplete (it could not be "
                                  "renamed {}: {})",
                                  mark, why)));
  }
  // Complete now: a mark left by an earlier run that could not complete this folder goes.
  if (std::string why = remove_entry(dirfd_.get(), mark); !why.empty()) {
    throw std::runtime_error(fmt::format(
        "--results {}: {}: complete, but the mark {} of an earlier run cannot be removed: {}", dir_,
        name, mark, why));
  }
}

}  // namespace procpool
