#include "cli/html_escape.h"

namespace procpool {

namespace {
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}  // namespace

void HtmlTextWriter::feed(std::string_view bytes) {
  for (char c : bytes) byte(static_cast<unsigned char>(c));
}

void HtmlTextWriter::invalid() {
  out_ += kReplacement;
  pending_.clear();
  needed_ = 0;
}

void HtmlTextWriter::byte(unsigned char c) {
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
      case '&':
        out_ += "&amp;";
        return;
      case '<':
        out_ += "&lt;";
        return;
      case '>':
        out_ += "&gt;";
        return;
      case '"':
        out_ += "&quot;";
        return;
      case '\'':
        out_ += "&#39;";
        return;
      case '\t':
      case '\n':
      case '\r':  // the HTML parser turns CR and CR LF into LF, as a terminal would show them
        out_ += static_cast<char>(c);
        return;
    }
    if (c < 0x20) {
      // U+2400 + c: E2 90 80+c.
      out_ += "\xE2\x90";
      out_ += static_cast<char>(0x80 + c);
    } else if (c == 0x7f) {
      out_ += "\xE2\x90\xA1";  // U+2421 SYMBOL FOR DELETE
    } else {
      out_ += static_cast<char>(c);
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

void HtmlTextWriter::finish() {
  if (needed_ > 0) invalid();
}

std::string html_escape(std::string_view bytes) {
  std::string out;
  HtmlTextWriter w(out);
  w.feed(bytes);
  w.finish();
  return out;
}

}  // namespace procpool
