// Writes arbitrary bytes as XML 1.0 character data or attribute values, piece by piece, so a
// job's output of any size reaches a JUnit file without being held whole in memory, and the
// file stays well-formed whatever the job printed.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace procpool {

class XmlTextWriter {
 public:
  enum class Mode {
    kText,       // element content
    kAttribute,  // inside a quoted attribute value: tabs and newlines are kept as references,
                 // since parsers would otherwise normalise them to spaces
  };
  // `sink` receives escaped text in pieces of bounded size.
  XmlTextWriter(Mode mode, std::function<void(std::string_view)> sink)
      : mode_(mode), sink_(std::move(sink)) {}
  // Escapes `bytes`; a UTF-8 sequence may be split across calls.
  void feed(std::string_view bytes);
  // Ends the text: a sequence still incomplete becomes U+FFFD; everything goes to the sink.
  void finish();

 private:
  void byte(unsigned char c);
  void ascii(unsigned char c);
  void invalid();

  Mode mode_;                                   // where the text goes
  std::function<void(std::string_view)> sink_;  // where escaped text goes
  std::string out_;                             // escaped text not yet given to the sink
  std::string pending_;                         // bytes of an unfinished UTF-8 sequence
  int needed_ = 0;                              // continuation bytes still expected
  unsigned char lo_ = 0x80, hi_ = 0xBF;         // allowed range of the next continuation byte
};

// `bytes` escaped whole, for short strings (names, messages).
std::string xml_escape(std::string_view bytes,
                       XmlTextWriter::Mode mode = XmlTextWriter::Mode::kAttribute);

}  // namespace procpool
