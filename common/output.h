// A job's captured output: both streams in arrival order, held in memory up to a threshold and
// spilled to an unlinked temporary file beyond it, so memory stays bounded whatever jobs print.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"

namespace procpool {

enum class Stream : uint8_t { kStdout = 1, kStderr = 2 };

class Output {
 public:
  // Bytes kept in memory before the whole capture moves to a temporary file.
  static constexpr size_t kDefaultSpillBytes = 1u << 20;

  Output() = default;
  explicit Output(size_t spill_bytes) : spill_bytes_(spill_bytes) {}
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
  bool spilled() const { return file_.valid(); }

 private:
  struct Run {
    Stream stream;  // which stream these bytes came from
    uint64_t size;  // how many consecutive bytes of it
  };
  void spill();
  void fail(const std::string& why, uint64_t bytes);

  size_t spill_bytes_ = kDefaultSpillBytes;  // memory threshold for this capture
  std::vector<Run> runs_;                    // arrival order, adjacent runs of one stream merged
  std::string memory_;                       // all bytes while not spilled
  Fd file_;                                  // all bytes once spilled
  uint64_t out_bytes_ = 0, err_bytes_ = 0;   // totals per stream (kept bytes)
  std::string failure_;                      // why the capture stopped, "" while whole
  uint64_t dropped_ = 0;                     // bytes not kept since then
};

}  // namespace procpool
