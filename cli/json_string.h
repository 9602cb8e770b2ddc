// Writes arbitrary bytes as the contents of a JSON string, piece by piece, so a job's output of
// any size reaches a JSON line without ever being held whole in memory. Bytes that are not valid
// UTF-8 become U+FFFD, so the line is always valid JSON.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace procpool {

class JsonStringWriter {
 public:
  // `sink` receives escaped text in pieces of bounded size.
  explicit JsonStringWriter(std::function<void(std::string_view)> sink) : sink_(std::move(sink)) {}
  // Escapes `bytes`; a UTF-8 sequence may be split across calls.
  void feed(std::string_view bytes);
  // Ends the string: a sequence still incomplete becomes U+FFFD; everything goes to the sink.
  void finish();

 private:
  void byte(unsigned char c);
  void invalid();
  void flush_if_large();

  std::function<void(std::string_view)> sink_;  // where escaped text goes
  std::string out_;                             // escaped text not yet given to the sink
  std::string pending_;                         // bytes of an unfinished UTF-8 sequence
  int needed_ = 0;                              // continuation bytes still expected
  unsigned char lo_ = 0x80, hi_ = 0xBF;         // allowed range of the next continuation byte
};

// The whole of `bytes` as a quoted JSON string.
std::string json_quote(std::string_view bytes);

// JSON text made safe to put inside an HTML <script> element, where "</script" or "<!--" would
// end or derail it, and for any JavaScript parser: '<', '>', '&', U+2028 and U+2029 become \u
// escapes. In JSON they occur only inside strings, where the escapes mean the same.
std::string script_safe_json(std::string_view json);

}  // namespace procpool
