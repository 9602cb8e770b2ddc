// Turns arbitrary bytes into HTML text that can change nothing about the page around it: markup
// characters become entities, bytes that are not valid UTF-8 become U+FFFD, and control
// characters other than tab, newline and carriage return become their visible "control
// pictures" (NUL as U+2400, ESC as U+241B), since the HTML parser would otherwise drop or mangle
// them silently. A job's output can be anything, so this is the one door it passes to the page.
#pragma once

#include <string>
#include <string_view>

namespace procpool {

class HtmlTextWriter {
 public:
  // Appends escaped text to `out`, which the caller may drain between calls.
  explicit HtmlTextWriter(std::string& out) : out_(out) {}
  // Escapes `bytes`; a UTF-8 sequence may be split across calls.
  void feed(std::string_view bytes);
  // Ends the text: a sequence still incomplete becomes U+FFFD.
  void finish();

 private:
  void byte(unsigned char c);
  void invalid();

  std::string& out_;                     // where escaped text goes
  std::string pending_;                  // bytes of an unfinished UTF-8 sequence
  int needed_ = 0;                       // continuation bytes still expected
  unsigned char lo_ = 0x80, hi_ = 0xBF;  // allowed range of the next continuation byte
};

// The whole of `bytes` as HTML text, also safe inside a quoted attribute value.
std::string html_escape(std::string_view bytes);

}  // namespace procpool
