// The wire format between coordinator and worker: a 4-byte big-endian length, then a
// MessagePack body made by nlohmann_json. Output bytes travel as MessagePack binary values,
// so any byte survives and nothing assumes UTF-8.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace procpool {

using json = nlohmann::json;

// Bumped on any incompatible change; both sides name both versions on a mismatch.
inline constexpr int kProtocolVersion = 1;
// A length above this is a corrupt or hostile stream, never an allocation.
inline constexpr uint32_t kMaxFrameBytes = 16u << 20;

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Appends one encoded frame for `body` to `out`.
void append_frame(std::string& out, const json& body);
std::string encode_frame(const json& body);

// Accumulates bytes as they arrive and cuts them into frames.
class FrameReader {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame, or nullopt when more bytes are needed. Throws ProtocolError.
  std::optional<json> next();
  // True while a frame has started but not ended: EOF now means the peer crashed mid-frame.
  bool mid_frame() const { return buf_.size() > pos_; }

 private:
  std::string buf_;  // bytes received and not yet consumed from pos_ on
  size_t pos_ = 0;   // start of the first unconsumed frame in buf_
};

// Bytes queued for a non-blocking descriptor; a poll loop asks for POLLOUT only while this has
// bytes, so the loop never blocks writing to a peer whose output it is not reading.
class WriteBuffer {
 public:
  std::string& data() { return buf_; }
  bool empty() const { return pos_ >= buf_.size(); }
  size_t pending() const { return buf_.size() - pos_; }
  // Writes as much as the descriptor takes now. Returns false when the peer is gone (EPIPE).
  bool flush(int fd);

 private:
  void compact();

  std::string buf_;  // queued bytes; buf_[pos_..] still to be written
  size_t pos_ = 0;
};

}  // namespace procpool
