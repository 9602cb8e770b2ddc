// JSON text for the records procpool writes (JSON lines, the journal, trace events, results'
// meta.json, the report's data), built by hand: these files only ever write JSON, and
// nlohmann_json's headers cost each file that includes them 6-10 s of compile time.
// Strings go through json_quote (the one escaper), so invalid UTF-8 becomes U+FFFD.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/json_string.h"

namespace procpool {

class JsonObject;
class JsonArray;

// A finite number the shortest way that reads back exactly ("0.31", "2.0"); NaN and infinities,
// which JSON cannot hold, become null.
std::string json_number(double v);

inline std::string to_json(std::string_view s) {
  return json_quote(s);
}
inline std::string to_json(const std::string& s) {
  return json_quote(s);
}
inline std::string to_json(const char* s) {
  return json_quote(s);
}
inline std::string to_json(bool b) {
  return b ? "true" : "false";
}
inline std::string to_json(std::nullptr_t) {
  return "null";
}
template <std::integral T>
requires(!std::same_as<T, bool>) std::string to_json(T v) {
  return std::to_string(v);
}
template <std::floating_point T>
std::string to_json(T v) {
  return json_number(static_cast<double>(v));
}
template <typename T>
std::string to_json(const std::optional<T>& v) {
  return v ? to_json(*v) : "null";
}
std::string to_json(const std::vector<std::string>& items);
std::string to_json(const JsonObject& o);
std::string to_json(const JsonArray& a);

// An object whose members keep the order they were added in (a reader sees id and name first).
class JsonObject {
 public:
  template <typename T>
  JsonObject& add(std::string_view key, const T& value) {
    members_.emplace_back(key, to_json(value));
    return *this;
  }
  // Drops the member `key`, if there is one.
  void remove(std::string_view key);
  // {"a":1,"b":"x"}: compact, on one line.
  std::string text() const;
  // One member a line, indented by two spaces; values stay compact.
  std::string pretty() const;

 private:
  std::vector<std::pair<std::string, std::string>> members_;  // key, value as JSON text
};

class JsonArray {
 public:
  template <typename T>
  JsonArray& add(const T& value) {
    items_.push_back(to_json(value));
    return *this;
  }
  size_t size() const { return items_.size(); }
  std::string text() const;

 private:
  std::vector<std::string> items_;  // as JSON text
};

}  // namespace procpool
