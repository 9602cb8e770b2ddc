// A small tmpfs mounted on a directory for a test's lifetime (lazily unmounted at the end, so a
// failing case never leaves it behind): a full disk on demand. Needs root; callers skip
// otherwise.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace procpool::testing {

class ScopedTmpfs {
 public:
  // `size` as mount(8) takes it: "512k", "16k" (rounded up to whole pages).
  ScopedTmpfs(const std::string& dir, const std::string& size) : dir_(dir) {
    ::mkdir(dir.c_str(), 0755);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                       ("size=" + size + ",mode=0777").c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~ScopedTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;  // why mount(2) failed
};

}  // namespace procpool::testing
