// The escaper behind every line procpool writes about untrusted text (common/visible_text.h):
// every byte value alone, every character class, valid and invalid UTF-8.
#include "common/visible_text.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

using procpool::append_visible;
using procpool::first_hidden;
using procpool::shown_as_is;
using procpool::visible;

namespace {

std::string hex_byte(unsigned c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

// U+XXXX as UTF-8 (below U+10000 here, plus one 4-byte case by hand).
std::string utf8(unsigned cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

TEST(VisibleText, EveryByteAloneAndInsideText) {
  for (unsigned c = 0; c < 256; ++c) {
    std::string byte(1, static_cast<char>(c));
    std::string want;
    if (c == '\n') {
      want = "\\n";
    } else if (c == '\r') {
      want = "\\r";
    } else if (c == '\t') {
      want = "\\t";
    } else if (c >= 0x20 && c < 0x7F) {
      want = byte;  // printable ASCII, backslash included
    } else {
      want = hex_byte(c);  // other C0, DEL, and every byte >= 0x80 alone (invalid UTF-8)
    }
    EXPECT_EQ(visible(byte), want) << "byte " << c;
    // Wherever it is: at the start, in the middle, at the end, after an 8-byte run.
    EXPECT_EQ(visible("a" + byte + "b"), "a" + want + "b") << "byte " << c;
    EXPECT_EQ(visible("0123456789" + byte), "0123456789" + want) << "byte " << c;
    EXPECT_EQ(visible(byte + "0123456789abcdefg"), want + "0123456789abcdefg") << "byte " << c;
    EXPECT_EQ(visible("01234567" + byte + "01234567"), "01234567" + want + "01234567")
        << "byte " << c;
    for (size_t at = 0; at < 16; ++at) {
      std::string s(16, 'x');
      s[at] = static_cast<char>(c);
      EXPECT_EQ(first_hidden(s), want == byte ? std::string::npos : at) << c << " at " << at;
    }
  }
}

TEST(VisibleText, ForgedLinesAndTerminalSequences) {
  EXPECT_EQ(visible("evil\n[ok] deploy-prod (0.01s)"), "evil\\n[ok] deploy-prod (0.01s)");
  EXPECT_EQ(visible("x\r\n"), "x\\r\\n");
  EXPECT_EQ(visible("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  EXPECT_EQ(visible("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(visible(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(visible("del\x7f"), "del\\x7f");
}

TEST(VisibleText, C1ControlsEncodedOrRaw) {
  for (unsigned cp = 0x80; cp <= 0x9F; ++cp) {
    char want[8];
    std::snprintf(want, sizeof want, "\\u%04x", cp);
    EXPECT_EQ(visible(utf8(cp)), want) << cp;  // valid UTF-8: one character
    EXPECT_EQ(visible(std::string(1, static_cast<char>(cp))), hex_byte(cp)) << cp;  // raw byte
  }
  EXPECT_EQ(visible("\xc2\x9b"
                    "2J"),
            "\\u009b2J");
  EXPECT_EQ(visible("\x9b"
                    "2J"),
            "\\x9b2J");
  // U+00A0 and up are printable: the first character past the C1 block is shown as it is.
  EXPECT_EQ(visible(utf8(0xA0)), utf8(0xA0));
  EXPECT_EQ(visible(utf8(0x7F)), "\\x7f");
}

TEST(VisibleText, ValidUtf8IsLeftAsItIs) {
  for (const std::string s :
       {"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf",  // U+10FFFF, the last character
        "\xef\xbf\xbd",      // U+FFFD
        // A family emoji: its zero-width joiners (U+200D) are shown as they are.
        "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
        "C:\\Users\\build\\new", "printf '%s\\n'", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"}) {
    EXPECT_TRUE(shown_as_is(s)) << s;
    EXPECT_EQ(visible(s), s);
  }
}

TEST(VisibleText, InvalidUtf8ByteByByte) {
  struct Case {
    std::string in, want;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"\xc0\xaf", "\\xc0\\xaf"},                    // overlong '/'
           {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},           // overlong, 3 bytes
           {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},  // overlong, 4 bytes
           {"\xed\xa0\x80", "\\xed\\xa0\\x80"},           // a surrogate (U+D800)
           {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},  // past U+10FFFF
           {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},  // no such lead byte
           {"\xe2\x82", "\\xe2\\x82"},                    // cut at the end
           {"\xe2\x82x", "\\xe2\\x82x"},                  // cut by an ASCII byte
           {"\xe2\xe2\x82\xac", "\\xe2\xe2\x82\xac"},     // a lead byte, then a whole euro sign
           {"\x80\xbf", "\\x80\\xbf"},                    // lone continuation bytes
           {"\xc3", "\\xc3"},                             // a lead byte alone
           {"a\xff"
            "b",
            "a\\xffb"},
       }) {
    EXPECT_EQ(visible(c.in), c.want) << c.want;
  }
}

TEST(VisibleText, BidiControlsAndSeparators) {
  for (unsigned cp : {0x061Cu, 0x200Eu, 0x200Fu, 0x2028u, 0x2029u, 0x202Au, 0x202Bu, 0x202Cu,
                      0x202Du, 0x202Eu, 0x2066u, 0x2067u, 0x2068u, 0x2069u}) {
    char want[8];
    std::snprintf(want, sizeof want, "\\u%04x", cp);
    EXPECT_EQ(visible("a" + utf8(cp) + "b"), std::string("a") + want + "b") << cp;
  }
  // Their neighbours are ordinary characters.
  for (unsigned cp : {0x200Bu, 0x200Cu, 0x200Du, 0x2027u, 0x202Fu, 0x2065u, 0x206Au}) {
    EXPECT_EQ(visible(utf8(cp)), utf8(cp)) << cp;
  }
}

TEST(VisibleText, EscapingTwiceChangesNothing) {
  std::string all;
  for (unsigned c = 0; c < 256; ++c) all += static_cast<char>(c);
  all += "\xc2\x9b\xe2\x80\xae caf\xc3\xa9 \\n";
  std::string once = visible(all);
  EXPECT_TRUE(shown_as_is(once));
  EXPECT_EQ(visible(once), once);
  std::string appended = "prefix:";
  append_visible(appended, all);
  EXPECT_EQ(appended, "prefix:" + once);
}

}  // namespace
