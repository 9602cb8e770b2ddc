#include "common/output.h"

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

void Output::set_memory_budget(uint64_t bytes) {
  g_budget = bytes;
}

uint64_t Output::memory_held() {
  return g_held.load();
}

Output::~Output() {
  release();
}

void Output::release() {
  for (const Extent& e : extents_) arena_->release(e.offset, e.size);
  extents_.clear();
  arena_.reset();
  std::string().swap(memory_);
  std::string().swap(pending_);
  account();
}

void Output::account() {
  uint64_t now = heap_bytes(memory_) + heap_bytes(pending_);
  if (now != held_) {
    g_held.fetch_add(now - held_, std::memory_order_relaxed);  // wraps correctly when smaller
    held_ = now;
  }
}

Output& Output::operator=(Output&& other) noexcept {
  if (this != &other) {
    release();
    spill_bytes_ = other.spill_bytes_;
    runs_ = std::exchange(other.runs_, {});
    memory_ = std::exchange(other.memory_, {});
    arena_ = std::move(other.arena_);
    extents_ = std::exchange(other.extents_, {});
    pending_ = std::exchange(other.pending_, {});
    held_ = std::exchange(other.held_, 0);  // the bytes' share of the total moves with them
    budget_spill_failed_ = std::exchange(other.budget_spill_failed_, false);
    out_bytes_ = std::exchange(other.out_bytes_, 0);
    err_bytes_ = std::exchange(other.err_bytes_, 0);
    failure_ = std::exchange(other.failure_, {});
    dropped_ = std::exchange(other.dropped_, 0);
  }
  return *this;
}

bool Output::append(Stream s, std::string_view bytes) {
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
  if (memory_.size() > spill_bytes_) {
    spill(/*must=*/true);
  } else if (!budget_spill_failed_ && over_budget()) {
    spill(/*must=*/false);
  }
  return true;
}

void Output::drop_pending() {
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

void Output::spill(bool must) {
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

bool Output::flush_pending() {
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

void Output::seal() {
  if (arena_) {
    if (!flush_pending()) drop_pending();
  } else if (memory_.capacity() > memory_.size() + memory_.size() / 8) {
    memory_.shrink_to_fit();
  }
  account();
}

void Output::fail(const std::string& why, uint64_t bytes) {
  failure_ = why;
  dropped_ += bytes;
}

void Output::for_each(const std::function<void(Stream, std::string_view)>& fn) const {
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
