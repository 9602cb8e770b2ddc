#include "cli/xml_text.h"

namespace procpool {

namespace {
constexpr size_t kPiece = 64u << 10;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}  // namespace

void XmlTextWriter::feed(std::string_view bytes) {
  for (char c : bytes) byte(static_cast<unsigned char>(c));
  if (out_.size() >= kPiece) {
    sink_(out_);
    out_.clear();
  }
}

void XmlTextWriter::finish() {
  if (needed_ > 0) invalid();
  if (!out_.empty()) sink_(out_);
  out_.clear();
}

void XmlTextWriter::invalid() {
  out_ += kReplacement;
  pending_.clear();
  needed_ = 0;
}

void XmlTextWriter::ascii(unsigned char c) {
  switch (c) {
    case '&':
      out_ += "&amp;";
      return;
    case '<':
      out_ += "&lt;";
      return;
    case '>':  // also breaks up "]]>", which may not appear in character data
      out_ += "&gt;";
      return;
    case '"':
      out_ += "&quot;";
      return;
    case '\'':
      out_ += "&apos;";
      return;
    case '\r':  // a literal CR would be read back as LF
      out_ += "&#13;";
      return;
    case '\t':
      out_ += mode_ == Mode::kAttribute ? "&#9;" : "\t";
      return;
    case '\n':
      out_ += mode_ == Mode::kAttribute ? "&#10;" : "\n";
      return;
  }
  // XML 1.0 has no way at all to write the other C0 controls (not even as references), so
  // they are dropped; DEL is allowed.
  if (c < 0x20) return;
  out_ += static_cast<char>(c);
}

void XmlTextWriter::byte(unsigned char c) {
  if (needed_ > 0) {
    if (c >= lo_ && c <= hi_) {
      pending_ += static_cast<char>(c);
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--needed_ == 0) {
        // U+FFFE and U+FFFF are valid UTF-8 but not XML characters: dropped.
        if (pending_ != "\xEF\xBF\xBE" && pending_ != "\xEF\xBF\xBF") out_ += pending_;
        pending_.clear();
      }
      return;
    }
    invalid();  // the sequence broke off; this byte starts afresh
  }
  if (c < 0x80) {
    ascii(c);
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

std::string xml_escape(std::string_view bytes, XmlTextWriter::Mode mode) {
  std::string out;
  XmlTextWriter w(mode, [&](std::string_view piece) { out += piece; });
  w.feed(bytes);
  w.finish();
  return out;
}

}  // namespace procpool
