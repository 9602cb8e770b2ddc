#include "cli/json_string.h"

#include <fmt/format.h>

namespace procpool {

namespace {
constexpr size_t kPiece = 64u << 10;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}  // namespace

void JsonStringWriter::feed(std::string_view bytes) {
  for (char c : bytes) byte(static_cast<unsigned char>(c));
  flush_if_large();
}

void JsonStringWriter::invalid() {
  out_ += kReplacement;
  pending_.clear();
  needed_ = 0;
}

void JsonStringWriter::byte(unsigned char c) {
  if (needed_ > 0) {
    if (c >= lo_ && c <= hi_) {
      pending_ += static_cast<char>(c);
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--needed_ == 0) {
        out_ += pending_;
        pending_.clear();
      }
      return;
    }
    invalid();  // the sequence broke off; this byte starts afresh
  }
  if (c < 0x80) {
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out_ += fmt::format("\\u{:04x}", c);
        } else {
          out_ += static_cast<char>(c);
        }
    }
    return;
  }
  // Lead bytes and the first continuation's range, per RFC 3629 (no overlongs, no surrogates).
  lo_ = 0x80;
  hi_ = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    needed_ = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    needed_ = 2;
    if (c == 0xE0) lo_ = 0xA0;
    if (c == 0xED) hi_ = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    needed_ = 3;
    if (c == 0xF0) lo_ = 0x90;
    if (c == 0xF4) hi_ = 0x8F;
  } else {
    out_ += kReplacement;
    return;
  }
  pending_.assign(1, static_cast<char>(c));
}

void JsonStringWriter::flush_if_large() {
  if (out_.size() >= kPiece) {
    sink_(out_);
    out_.clear();
  }
}

void JsonStringWriter::finish() {
  if (needed_ > 0) invalid();
  if (!out_.empty()) sink_(out_);
  out_.clear();
}

std::string json_quote(std::string_view bytes) {
  std::string quoted = "\"";
  JsonStringWriter w([&](std::string_view piece) { quoted += piece; });
  w.feed(bytes);
  w.finish();
  return quoted + "\"";
}

std::string script_safe_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";  // E2 80 A8/A9
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace procpool
