// A job's captured output: both streams in arrival order, held in memory up to a threshold and
// spilled beyond it to the process's one unlinked temporary file (common/spill_arena.h). Memory
// is bounded per capture (the threshold) and overall: all captures alive in the process, those
// of finished jobs nobody has printed yet included, hold at most a memory budget together; past
// it, the capture that grows spills too. So memory stays bounded whatever jobs print, however
// many wait to be printed, and a kept capture holds no descriptor.
//
// Copies are cheap and share the bytes: a copy holds the same capture (in memory or in the spill
// file), counted once in memory_held() and in the file, and given back when the last copy goes.
// Every copy stays readable as long as it lives, whatever happens to the others, the pool that
// filled it included. Appending to an Output whose capture is shared first gives it a capture
// of its own (a copy of the bytes), so a copy never changes under another's reader.
// Thread safety is that of the standard library's types: const calls (reads, copies) from any
// number of threads at once, on one Output or on copies; a write needs that no other thread
// uses the same Output object meanwhile (copies of it may be read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace procpool {

enum class Stream : uint8_t { kStdout = 1, kStderr = 2 };

class Output {
 public:
  // Bytes kept in memory before the whole capture moves to a temporary file.
  static constexpr size_t kDefaultSpillBytes = 1u << 20;
  // Bytes all captures of the process keep in memory together, at most (about: a capture
  // checks as it grows), before the growing one spills as well.
  static constexpr uint64_t kDefaultMemoryBudget = 16u << 20;
  static void set_memory_budget(uint64_t bytes);
  // Bytes all captures alive hold in memory now.
  static uint64_t memory_held();

  Output() = default;
  explicit Output(size_t spill_bytes) : spill_bytes_(spill_bytes) {}
  ~Output();  // the last copy gives the capture's memory and spill extents back
  // Copies share the bytes (see above).
  Output(const Output& other) = default;
  Output& operator=(const Output& other) = default;
  // Moves leave the source empty and usable, with its threshold.
  Output(Output&& other) noexcept : spill_bytes_(other.spill_bytes_), c_(std::move(other.c_)) {}
  Output& operator=(Output&& other) noexcept;

  // Keeps `bytes`. False once the capture has failed (the spill file could not be opened or
  // written: a full disk, a missing $TMPDIR, no descriptor left): what was kept until then stays,
  // and this and later bytes are only counted in dropped().
  bool append(Stream s, std::string_view bytes);
  // Why the capture failed, or "" while it is whole.
  const std::string& failure() const;
  // Bytes given to append() that could not be kept.
  uint64_t dropped() const;
  // Calls `fn` for each run of one stream, in arrival order, in pieces of bounded size.
  void for_each(const std::function<void(Stream, std::string_view)>& fn) const;
  // All bytes of one stream concatenated.
  std::string text(Stream s) const;
  uint64_t size(Stream s) const;
  bool empty() const { return size(Stream::kStdout) + size(Stream::kStderr) == 0; }
  bool spilled() const;
  // No more bytes will come (the job ended): what waits to be spilled is written, and spare
  // memory given back, so a capture waiting to be printed holds as little as it can. Does
  // nothing to a capture shared with copies.
  void seal();

 private:
  struct Capture;  // the bytes and their accounting (common/output.cc)
  // The capture to write to: made when there is none, copied when another Output shares it.
  Capture& own();

  size_t spill_bytes_ = kDefaultSpillBytes;  // memory threshold for this capture
  std::shared_ptr<Capture> c_;               // null while nothing was appended (or moved out)
};

}  // namespace procpool
