// A job's captured output: both streams in arrival order, held in memory up to a threshold and
// spilled beyond it to the process's one unlinked temporary file (common/spill_arena.h). Memory
// is bounded per capture (the threshold) and overall: all captures alive in the process, those
// of finished jobs nobody has printed yet included, hold at most a memory budget together; past
// it, the capture that grows spills too. So memory stays bounded whatever jobs print, however
// many wait to be printed, and a kept capture holds no descriptor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace procpool {

enum class Stream : uint8_t { kStdout = 1, kStderr = 2 };

class SpillArena;

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
  ~Output();
  // Moves leave the source empty and usable (the totals must follow the bytes).
  Output(Output&& other) noexcept { *this = std::move(other); }
  Output& operator=(Output&& other) noexcept;

  // Keeps `bytes`. False once the capture has failed (the spill file could not be opened or
  // written: a full disk, a missing $TMPDIR, no descriptor left): what was kept until then stays,
  // and this and later bytes are only counted in dropped().
  bool append(Stream s, std::string_view bytes);
  // Why the capture failed, or "" while it is whole.
  const std::string& failure() const { return failure_; }
  // Bytes given to append() that could not be kept.
  uint64_t dropped() const { return dropped_; }
  // Calls `fn` for each run of one stream, in arrival order, in pieces of bounded size.
  void for_each(const std::function<void(Stream, std::string_view)>& fn) const;
  // All bytes of one stream concatenated.
  std::string text(Stream s) const;
  uint64_t size(Stream s) const { return s == Stream::kStdout ? out_bytes_ : err_bytes_; }
  bool empty() const { return out_bytes_ + err_bytes_ == 0; }
  bool spilled() const { return arena_ != nullptr; }
  // No more bytes will come (the job ended): what waits to be spilled is written, and spare
  // memory given back, so a capture waiting to be printed holds as little as it can.
  void seal();

 private:
  struct Run {
    Stream stream;  // which stream these bytes came from
    uint64_t size;  // how many consecutive bytes of it
  };
  struct Extent {
    uint64_t offset;  // in the arena
    uint64_t size;
  };
  // Moves what is in memory to the arena. `must`: past this capture's threshold, where failing
  // fails the capture; else (the overall budget) a failure keeps the bytes in memory.
  void spill(bool must);
  bool flush_pending();  // pending_ to the arena as one extent; false (and failed) when it cannot
  void drop_pending();   // after a failed flush: pending_'s bytes counted lost, not kept
  void account();        // held_ and the process-wide total, after memory_ or pending_ changed
  void release();        // extents and memory given back
  void fail(const std::string& why, uint64_t bytes);

  size_t spill_bytes_ = kDefaultSpillBytes;  // memory threshold for this capture
  std::vector<Run> runs_;                    // arrival order, adjacent runs of one stream merged
  std::string memory_;                       // all bytes while not spilled
  std::shared_ptr<SpillArena> arena_;        // once spilled: the bytes are its extents_...
  std::vector<Extent> extents_;              // in order, adjacent ones merged
  std::string pending_;                      // ... then these, not yet written
  uint64_t held_ = 0;                        // memory counted in the process-wide total
  bool budget_spill_failed_ = false;         // tried once for the budget; not again
  uint64_t out_bytes_ = 0, err_bytes_ = 0;   // totals per stream (kept bytes)
  std::string failure_;                      // why the capture stopped, "" while whole
  uint64_t dropped_ = 0;                     // bytes not kept since then
};

}  // namespace procpool
