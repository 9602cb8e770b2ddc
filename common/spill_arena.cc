#include "common/spill_arena.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace procpool {

namespace {

// An unlinked file in $TMPDIR, or the errno that refused one.
int open_unlinked(Fd& out) {
  const char* dir = SpillArena::dir();
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

}  // namespace

const char* SpillArena::dir() {
  const char* dir = ::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

std::shared_ptr<SpillArena> SpillArena::get(int& err) {
  // Never destroyed, for the same reason as the log's state: a released pool's thread may spill
  // while the program exits.
  static std::mutex& mu = *new std::mutex;
  static auto& current = *new std::weak_ptr<SpillArena>;  // alive while a capture holds extents
  std::lock_guard lock(mu);
  if (auto arena = current.lock()) return arena;
  Fd fd;
  err = open_unlinked(fd);
  if (err) return nullptr;
  auto arena = std::make_shared<SpillArena>(std::move(fd));
  current = arena;
  return arena;
}

uint64_t SpillArena::rounded(uint64_t size) {
  return (size + kBlock - 1) / kBlock * kBlock;
}

int64_t SpillArena::append(std::string_view bytes) {
  uint64_t at;
  {
    std::lock_guard lock(mu_);
    at = end_;
    // Whole blocks each, so releasing one extent frees all of its space (a hole punched in a
    // block shared with a neighbour would free nothing until the file is cut).
    end_ += rounded(bytes.size());
    live_ += rounded(bytes.size());  // reserved: the file is not cut while this write is on
  }
  uint64_t offset = at;
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      release(at, offset - at + bytes.size());  // the whole reservation
      return -err;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return static_cast<int64_t>(at);
}

ssize_t SpillArena::read(char* buf, size_t n, uint64_t offset) const {
  return ::pread(fd_.get(), buf, n, static_cast<off_t>(offset));
}

void SpillArena::release(uint64_t offset, uint64_t size) {
  size = rounded(size);
  std::lock_guard lock(mu_);
  live_ -= size;
  if (live_ == 0) {
    // Nothing held: start over, which gives back what holes could not (partial blocks).
    end_ = 0;
    (void)::ftruncate(fd_.get(), 0);
    return;
  }
  (void)::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(offset), static_cast<off_t>(size));
}

}  // namespace procpool
