#include "common/frame.h"

#include <unistd.h>

#include <cerrno>

#include "common/fd.h"

namespace procpool {

namespace {

constexpr unsigned char kOutputMark = 0xC1;  // never used by MessagePack
constexpr size_t kOutputHeader = 1 + 1 + 8;  // mark, stream, job id

void put_length(char* at, size_t len) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
}

}  // namespace

void append_frame(std::string& out, std::string_view body) {
  if (body.size() > kMaxFrameBytes) {
    throw ProtocolError("frame too large to send: " + std::to_string(body.size()) + " bytes");
  }
  char head[4];
  put_length(head, body.size());
  out.append(head, sizeof head);
  out.append(body);
}

void append_output_frame(std::string& out, uint64_t id, int stream, std::string_view bytes) {
  size_t len = kOutputHeader + bytes.size();
  if (len > kMaxFrameBytes) throw ProtocolError("frame too large to send: " + std::to_string(len));
  char head[4 + kOutputHeader];
  put_length(head, len);
  head[4] = static_cast<char>(kOutputMark);
  head[5] = static_cast<char>(stream);
  for (int i = 0; i < 8; ++i) head[6 + i] = static_cast<char>((id >> (56 - 8 * i)) & 0xff);
  out.append(head, sizeof head);
  out.append(bytes);
}

void append_input_frames(std::string& out, uint64_t id, std::string_view input, size_t piece) {
  for (size_t at = 0; at < input.size(); at += piece) {
    append_output_frame(out, id, 0, input.substr(at, piece));
  }
}

void FrameReader::feed(std::string_view bytes) {
  // Reclaim what was consumed, here rather than in next_frame(): an output piece points into
  // the buffer until the caller is done with it, which is before it feeds more. Compacting once
  // the consumed prefix dominates keeps the buffer from growing without bound.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<Frame> FrameReader::next_frame() {
  if (buf_.size() - pos_ < 4) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (len > kMaxFrameBytes) {
    throw ProtocolError("frame length " + std::to_string(len) + " exceeds the limit of " +
                        std::to_string(kMaxFrameBytes) + " bytes");
  }
  if (buf_.size() - pos_ - 4 < len) return std::nullopt;
  Frame frame;
  const char* begin = buf_.data() + pos_ + 4;
  if (len > 0 && static_cast<unsigned char>(begin[0]) == kOutputMark) {
    if (len < kOutputHeader) throw ProtocolError("output frame shorter than its header");
    OutputPiece piece;
    piece.stream = static_cast<unsigned char>(begin[1]);
    if (piece.stream > 2) {
      throw ProtocolError("output frame for stream " + std::to_string(piece.stream));
    }
    for (int i = 0; i < 8; ++i)
      piece.id = (piece.id << 8) | static_cast<unsigned char>(begin[2 + i]);
    piece.bytes = std::string_view(begin + kOutputHeader, len - kOutputHeader);
    frame.output = piece;
  } else {
    frame.body = std::string_view(begin, len);
  }
  pos_ += 4 + len;
  return frame;
}

bool WriteBuffer::flush(int fd) {
  while (pos_ < buf_.size()) {
    ssize_t n = ::write(fd, buf_.data() + pos_, buf_.size() - pos_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        compact();
        return true;
      }
      if (errno == EPIPE) return false;
      throw_errno("write");
    }
    pos_ += static_cast<size_t>(n);
  }
  buf_.clear();
  pos_ = 0;
  return true;
}

void WriteBuffer::compact() {
  // Drop what was written once it dominates, so a writer that never quite drains the buffer
  // does not keep every byte it ever sent.
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

}  // namespace procpool
