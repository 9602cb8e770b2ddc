// The wire format between coordinator and worker: a 4-byte big-endian length, then a body. A
// message's body is MessagePack (see messages.h, the only file that encodes or decodes one). A
// job's output travels in output frames instead, whose body starts with 0xC1 (the one byte
// MessagePack never uses, so the two cannot be confused): 0xC1, the stream (1 or 2; 0 for the
// bytes of a job's stdin, which go the other way, before its task), the job id
// (8 bytes, big-endian), then the raw bytes. Any byte survives, nothing assumes UTF-8, and the
// bulk of the traffic is copied rather than decoded byte by byte (nlohmann's MessagePack reader
// spends ~17 instructions on each byte of a binary value: 70% of the coordinator's time on large
// outputs).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace procpool {

// Bumped on any incompatible change; both sides name both versions on a mismatch.
inline constexpr int kProtocolVersion = 5;
// A length above this is a corrupt or hostile stream, never an allocation.
inline constexpr uint32_t kMaxFrameBytes = 16u << 20;

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Appends one frame carrying `body`. Throws ProtocolError (appending nothing) when the body is
// longer than kMaxFrameBytes.
void append_frame(std::string& out, std::string_view body);
// Appends one output frame: `bytes` that job `id` wrote on `stream` (1 stdout, 2 stderr), or
// (0) bytes of its stdin.
void append_output_frame(std::string& out, uint64_t id, int stream, std::string_view bytes);
// Appends `input`, the stdin of job `id`, as stream-0 frames of at most `piece` bytes each.
void append_input_frames(std::string& out, uint64_t id, std::string_view input,
                         size_t piece = size_t{4} << 20);

// A piece of a job's output, as an output frame carried it. `bytes` points into the reader's
// buffer and is valid until the reader is next fed.
struct OutputPiece {
  uint64_t id = 0;
  int stream = 1;  // 1 stdout, 2 stderr; 0 stdin (to a worker)
  std::string_view bytes;
};

// A frame as read: an output piece, or a message body to decode (messages.h). Both point into
// the reader's buffer and are valid until it is next fed.
struct Frame {
  std::optional<OutputPiece> output;  // set for output frames
  std::string_view body;              // every other frame
};

// Accumulates bytes as they arrive and cuts them into frames.
class FrameReader {
 public:
  void feed(std::string_view bytes);
  // The next whole frame, or nullopt when more bytes are needed. Throws ProtocolError.
  std::optional<Frame> next_frame();
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
