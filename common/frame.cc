#include "common/frame.h"

#include <unistd.h>

#include <cerrno>

#include "common/fd.h"

namespace procpool {

void append_frame(std::string& out, const json& body) {
  size_t at = out.size();
  out.append(4, '\0');
  json::to_msgpack(body, nlohmann::detail::output_adapter<char>(out));
  size_t len = out.size() - at - 4;
  if (len > kMaxFrameBytes) throw ProtocolError("frame too large to send: " + std::to_string(len));
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
}

std::string encode_frame(const json& body) {
  std::string out;
  append_frame(out, body);
  return out;
}

std::optional<json> FrameReader::next() {
  if (buf_.size() - pos_ < 4) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (len > kMaxFrameBytes) {
    throw ProtocolError("frame length " + std::to_string(len) + " exceeds the limit of " +
                        std::to_string(kMaxFrameBytes) + " bytes");
  }
  if (buf_.size() - pos_ - 4 < len) return std::nullopt;
  json body;
  try {
    auto begin = buf_.data() + pos_ + 4;
    body = json::from_msgpack(begin, begin + len);
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("undecodable frame: ") + e.what());
  }
  pos_ += 4 + len;
  // Compact once the consumed prefix dominates, so the buffer never grows without bound.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return body;
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
