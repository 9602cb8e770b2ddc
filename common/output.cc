#include <procpool/output.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/fd.h"
#include "common/spill_arena.h"

namespace procpool {

namespace {

// Spilled bytes are written in pieces of this size: few extents per capture, little memory.
constexpr size_t kChunk = 64u << 10;

std::atomic<uint64_t> g_budget{Output::kDefaultMemoryBudget};
std::atomic<uint64_t> g_held{0};

std::string spill_failure(const char* what, int err) {
  return std::string(what) + " a temporary file in " + SpillArena::dir() + " for it failed (" +
         std::strerror(err) + ")";
}

// Heap memory a string holds (its inline buffer costs nothing extra).
uint64_t heap_bytes(const std::string& s) {
  static const size_t kInline = std::string().capacity();
  return s.capacity() > kInline ? s.capacity() : 0;
}

bool over_budget() {
  return g_held.load(std::memory_order_relaxed) > g_budget.load(std::memory_order_relaxed);
}

}  // namespace

// The bytes of a capture and their accounting, shared by the copies of an Output. Written only
// through an Output that holds it alone (Output::own), so the copies' readers never see it change.
struct Output::Capture {
  Capture() = default;
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() { release(); }

  bool append(Stream s, std::string_view bytes, size_t spill_bytes);
  void seal();
  void for_each(const std::function<void(Stream, std::string_view)>& fn) const;
  // A capture of its own with the same bytes, counts and failure, for a copy about to be written.
  std::shared_ptr<Capture> copy(size_t spill_bytes) const;

  // Moves what is in memory to the arena. `must`: past this capture's threshold, where failing
  // fails the capture; else (the overall budget) a failure keeps the bytes in memory.
  void spill(bool must);
  bool flush_pending();  // pending_ to the arena as one extent; false (and failed) when it cannot
  void drop_pending();   // after a failed flush: pending_'s bytes counted lost, not kept
  void account();        // held_ and the process-wide total, after memory_ or pending_ changed
  void release();        // extents and memory given back
  void fail(const std::string& why, uint64_t bytes);

  struct Run {
    Stream stream;  // which stream these bytes came from
    uint64_t size;  // how many consecutive bytes of it
  };
  struct Extent {
    uint64_t offset;  // in the arena
    uint64_t size;
  };
  std::vector<Run> runs_;                   // arrival order, adjacent runs of one stream merged
  std::string memory_;                      // all bytes while not spilled
  std::shared_ptr<SpillArena> arena_;       // once spilled: the bytes are its extents_...
  std::vector<Extent> extents_;             // in order, adjacent ones merged
  std::string pending_;                     // ... then these, not yet written
  uint64_t held_ = 0;                       // memory counted in the process-wide total
  bool budget_spill_failed_ = false;        // tried once for the budget; not again
  uint64_t out_bytes_ = 0, err_bytes_ = 0;  // totals per stream (kept bytes)
  std::string failure_;                     // why the capture stopped, "" while whole
  uint64_t dropped_ = 0;                    // bytes not kept since then
};

void Output::set_memory_budget(uint64_t bytes) {
  g_budget = bytes;
}

uint64_t Output::memory_held() {
  return g_held.load();
}

Output::~Output() = default;

Output& Output::operator=(Output&& other) noexcept {
  if (this != &other) {
    spill_bytes_ = other.spill_bytes_;
    c_ = std::move(other.c_);  // the bytes' share of the total moves with them
  }
  return *this;
}

Output::Capture& Output::own() {
  if (!c_) {
    c_ = std::make_shared<Capture>();
  } else if (c_.use_count() > 1) {
    c_ = c_->copy(spill_bytes_);
  } else {
    // Alone now: whatever another thread's copy read before it let go (its release of the
    // count) happens before what is written next.
    std::atomic_thread_fence(std::memory_order_acquire);
  }
  return *c_;
}

bool Output::append(Stream s, std::string_view bytes) {
  return own().append(s, bytes, spill_bytes_);
}

void Output::seal() {
  // A capture shared with copies is left as it is: sealing changes how its bytes are held, and
  // copying them to seal a copy of its own would cost more memory than sealing saves.
  if (!c_ || c_.use_count() > 1) return;
  own().seal();
}

const std::string& Output::failure() const {
  static const std::string& kWhole = *new std::string;
  return c_ ? c_->failure_ : kWhole;
}

uint64_t Output::dropped() const {
  return c_ ? c_->dropped_ : 0;
}

uint64_t Output::size(Stream s) const {
  if (!c_) return 0;
  return s == Stream::kStdout ? c_->out_bytes_ : c_->err_bytes_;
}

bool Output::spilled() const {
  return c_ && c_->arena_ != nullptr;
}

void Output::for_each(const std::function<void(Stream, std::string_view)>& fn) const {
  if (c_) c_->for_each(fn);
}

void Output::Capture::release() {
  for (const Extent& e : extents_) arena_->release(e.offset, e.size);
  extents_.clear();
  arena_.reset();
  std::string().swap(memory_);
  std::string().swap(pending_);
  account();
}

void Output::Capture::account() {
  uint64_t now = heap_bytes(memory_) + heap_bytes(pending_);
  if (now != held_) {
    g_held.fetch_add(now - held_, std::memory_order_relaxed);  // wraps correctly when smaller
    held_ = now;
  }
}

std::shared_ptr<Output::Capture> Output::Capture::copy(size_t spill_bytes) const {
  // Filled as a new capture would be, so the copy is held in memory or spilled by the same
  // rules (its threshold, the budget) and counted on its own.
  auto c = std::make_shared<Capture>();
  for_each([&](Stream s, std::string_view bytes) { c->append(s, bytes, spill_bytes); });
  c->seal();
  if (!failure_.empty() && c->failure_.empty()) c->failure_ = failure_;
  c->dropped_ += dropped_;
  return c;
}

bool Output::Capture::append(Stream s, std::string_view bytes, size_t spill_bytes) {
  if (!failure_.empty()) {
    dropped_ += bytes.size();
    return false;
  }
  if (bytes.empty()) return true;
  (s == Stream::kStdout ? out_bytes_ : err_bytes_) += bytes.size();
  if (!runs_.empty() && runs_.back().stream == s) {
    runs_.back().size += bytes.size();
  } else {
    runs_.push_back({s, bytes.size()});
  }
  if (arena_) {
    // Written in whole chunks only, whatever the budget says: pending_ is bounded by one chunk
    // per capture, and few large extents keep the list and the reads back short.
    pending_.append(bytes);
    if (pending_.size() >= kChunk && !flush_pending()) {
      drop_pending();
      return false;
    }
    account();
    return true;
  }
  memory_.append(bytes);
  account();
  if (memory_.size() > spill_bytes) {
    spill(/*must=*/true);
  } else if (!budget_spill_failed_ && over_budget()) {
    spill(/*must=*/false);
  }
  return true;
}

void Output::Capture::drop_pending() {
  // The bytes that could not be written are lost from the end of the capture: the counts and
  // runs say so, and what is kept reads back whole.
  uint64_t lost = pending_.size();
  dropped_ += lost;
  for (uint64_t left = lost; left > 0 && !runs_.empty();) {
    uint64_t cut = std::min(left, runs_.back().size);
    (runs_.back().stream == Stream::kStdout ? out_bytes_ : err_bytes_) -= cut;
    runs_.back().size -= cut;
    left -= cut;
    if (runs_.back().size == 0) runs_.pop_back();
  }
  std::string().swap(pending_);
  account();
}

void Output::Capture::spill(bool must) {
  int err = 0;
  auto arena = SpillArena::get(err);
  int64_t at = arena ? arena->append(memory_) : 0;
  if (at < 0) err = static_cast<int>(-at);
  if (err) {
    if (must) {
      // What is in memory stays whole; nothing more is taken.
      fail(spill_failure(arena ? "writing to" : "making", err), 0);
    } else {
      budget_spill_failed_ = true;  // kept in memory, as below the threshold it may be
    }
    return;
  }
  arena_ = std::move(arena);
  if (!memory_.empty()) extents_.push_back({static_cast<uint64_t>(at), memory_.size()});
  std::string().swap(memory_);  // give the memory back, not just the size
  account();
}

bool Output::Capture::flush_pending() {
  if (pending_.empty()) return true;
  int64_t at = arena_->append(pending_);
  if (at < 0) {
    fail(spill_failure("writing to", static_cast<int>(-at)), 0);
    return false;
  }
  auto offset = static_cast<uint64_t>(at);
  if (!extents_.empty() && extents_.back().offset + extents_.back().size == offset) {
    extents_.back().size += pending_.size();
  } else {
    extents_.push_back({offset, pending_.size()});
  }
  std::string().swap(pending_);
  account();
  return true;
}

void Output::Capture::seal() {
  if (arena_) {
    if (!flush_pending()) drop_pending();
  } else if (memory_.capacity() > memory_.size() + memory_.size() / 8) {
    memory_.shrink_to_fit();
  }
  account();
}

void Output::Capture::fail(const std::string& why, uint64_t bytes) {
  failure_ = why;
  dropped_ += bytes;
}

void Output::Capture::for_each(const std::function<void(Stream, std::string_view)>& fn) const {
  if (!arena_) {
    uint64_t offset = 0;
    for (const Run& run : runs_) {
      fn(run.stream, std::string_view(memory_).substr(offset, run.size));
      offset += run.size;
    }
    return;
  }
  // The bytes are the extents in order, then pending_: read them as one sequence.
  size_t ext = 0;         // extent being read
  uint64_t in_ext = 0;    // how far into it
  size_t in_pending = 0;  // how far into pending_, once the extents are read
  std::string buf;
  for (const Run& run : runs_) {
    uint64_t left = run.size;
    while (left > 0) {
      if (ext == extents_.size()) {
        size_t n = std::min<uint64_t>(left, pending_.size() - in_pending);
        if (n == 0) return;  // cannot happen: the runs count exactly what was kept
        fn(run.stream, std::string_view(pending_).substr(in_pending, n));
        in_pending += n;
        left -= n;
        continue;
      }
      const Extent& e = extents_[ext];
      buf.resize(std::min<uint64_t>({left, e.size - in_ext, kChunk}));
      ssize_t n = arena_->read(buf.data(), buf.size(), e.offset + in_ext);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("pread (reading spilled job output)");
      if (n == 0) return;  // the file was truncated behind our back; nothing more to give
      fn(run.stream, std::string_view(buf.data(), static_cast<size_t>(n)));
      left -= static_cast<uint64_t>(n);
      in_ext += static_cast<uint64_t>(n);
      if (in_ext == e.size) {
        ++ext;
        in_ext = 0;
      }
    }
  }
}

std::string Output::text(Stream s) const {
  std::string all;
  all.reserve(size(s));
  for_each([&](Stream which, std::string_view bytes) {
    if (which == s) all.append(bytes);
  });
  return all;
}

}  // namespace procpool
