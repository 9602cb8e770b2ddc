#include "common/visible_text.h"

#include <cstdint>
#include <cstring>

namespace procpool {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// Whether some byte of the 8 in `w` is outside printable ASCII (0x20-0x7E): a byte below 0x20,
// DEL, or one with the high bit set. Exact as a whole (the classic "has less than" and "has
// zero byte" tests; only which byte it was may be wrong, and that is found byte by byte).
bool any_not_printable_ascii(uint64_t w) {
  uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
  uint64_t xor_del = w ^ (kOnes * 0x7F);
  uint64_t del = (xor_del - kOnes) & ~xor_del & kHighs;
  return ((w & kHighs) | below_space | del) != 0;
}

// The length of the valid UTF-8 sequence at `p` (`left` bytes there), with its character in
// `cp`; 0 when the byte does not start one. Valid as in RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF.
size_t utf8_at(const unsigned char* p, size_t left, uint32_t& cp) {
  unsigned char c = p[0];
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (left < len || p[1] < lo || p[1] > hi) return 0;
  cp = (cp << 6) | (p[1] & 0x3Fu);
  for (size_t k = 2; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3Fu);
  }
  return len;
}

// Valid characters that are not shown as themselves: C1 controls, bidi marks, separators,
// embeddings, overrides and isolates.
bool hidden_character(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

size_t first_hidden(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    // Printable ASCII, 8 bytes at a time: most names and commands are nothing else.
    while (n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (any_not_printable_ascii(w)) break;
      i += 8;
    }
    if (i == n) break;
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    if (c < 0x80) return i;  // C0 or DEL
    uint32_t cp = 0;
    size_t len = utf8_at(p + i, n - i, cp);
    if (len == 0 || hidden_character(cp)) return i;
    i += len;
  }
  return std::string_view::npos;
}

void append_visible(std::string& out, std::string_view text) {
  for (;;) {
    size_t at = first_hidden(text);
    if (at == std::string_view::npos) {
      out.append(text);
      return;
    }
    out.append(text.substr(0, at));
    const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + at;
    size_t used = 1;
    uint32_t cp = 0;
    if (*p == '\n') {
      out += "\\n";
    } else if (*p == '\r') {
      out += "\\r";
    } else if (*p == '\t') {
      out += "\\t";
    } else if (size_t len = *p >= 0x80 ? utf8_at(p, text.size() - at, cp) : 0; len > 0) {
      // A whole character (hidden_character() holds: every one is below U+10000).
      char esc[] = {
          '\\',          'u', kHex[(cp >> 12) & 0xF], kHex[(cp >> 8) & 0xF], kHex[(cp >> 4) & 0xF],
          kHex[cp & 0xF]};
      out.append(esc, sizeof esc);
      used = len;
    } else {
      // One byte: a C0 control, DEL, or a byte that is not part of valid UTF-8.
      char esc[] = {'\\', 'x', kHex[*p >> 4], kHex[*p & 0xF]};
      out.append(esc, sizeof esc);
    }
    text.remove_prefix(at + used);
  }
}

std::string visible(std::string_view text) {
  size_t at = first_hidden(text);
  if (at == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  out.append(text.substr(0, at));
  append_visible(out, text.substr(at));
  return out;
}

}  // namespace procpool
