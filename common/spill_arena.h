// Where every job capture of this process spills past memory: one unlinked temporary file in
// $TMPDIR, shared by all captures. So a thousand finished jobs waiting to be printed (a slow
// reader, -k behind a slow job) or kept by a library caller hold no descriptor each, and a low
// `ulimit -n` never costs a job its output. Each capture owns extents of the file; a released
// extent's space is given back at once (a hole punched), and the file is cut to nothing whenever
// no capture holds any of it. Thread-safe: captures fill on the pool's thread and are read and
// dropped on the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/fd.h"

namespace procpool {

class SpillArena {
 public:
  // The process's arena, made (in $TMPDIR) when none is alive; nullptr and `err` set to the
  // errno when it cannot be made.
  static std::shared_ptr<SpillArena> get(int& err);
  // The directory spill files go to ($TMPDIR, else /tmp), for messages.
  static const char* dir();

  // Writes `bytes` as one new extent; its offset, or -errno when the file cannot take them.
  int64_t append(std::string_view bytes);
  // pread(2) on the arena.
  ssize_t read(char* buf, size_t n, uint64_t offset) const;
  // Gives an extent back (its offset and the size appended, or several adjacent ones merged).
  void release(uint64_t offset, uint64_t size);

  explicit SpillArena(Fd fd) : fd_(std::move(fd)) {}

 private:
  // Extents take whole blocks of this size (4 KiB: the page of tmpfs and the block of ext4;
  // a file system with larger blocks frees a little less until the file is cut).
  static constexpr uint64_t kBlock = 4096;
  static uint64_t rounded(uint64_t size);

  Fd fd_;
  std::mutex mu_;      // guards end_ and live_
  uint64_t end_ = 0;   // where the next extent goes
  uint64_t live_ = 0;  // bytes of extents not released (reserved ones included)
};

}  // namespace procpool
