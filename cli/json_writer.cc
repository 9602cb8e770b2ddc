#include "cli/json_writer.h"

#include <cmath>

#include <fmt/format.h>

namespace procpool {

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::string text = fmt::format("{}", v);
  // "2" would read back as an integer; a double stays one, as other JSON writers keep it.
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string to_json(const std::vector<std::string>& items) {
  JsonArray a;
  for (const auto& item : items) a.add(item);
  return a.text();
}

std::string to_json(const JsonObject& o) {
  return o.text();
}
std::string to_json(const JsonArray& a) {
  return a.text();
}

void JsonObject::remove(std::string_view key) {
  std::erase_if(members_, [&](const auto& m) { return m.first == key; });
}

std::string JsonObject::text() const {
  std::string out = "{";
  for (const auto& [key, value] : members_) {
    if (out.size() > 1) out += ',';
    out += json_quote(key);
    out += ':';
    out += value;
  }
  return out + "}";
}

std::string JsonObject::pretty() const {
  if (members_.empty()) return "{}";
  std::string out = "{";
  for (const auto& [key, value] : members_) {
    out += out.size() > 1 ? ",\n  " : "\n  ";
    out += json_quote(key);
    out += ": ";
    out += value;
  }
  return out + "\n}";
}

std::string JsonArray::text() const {
  std::string out = "[";
  for (const auto& item : items_) {
    if (out.size() > 1) out += ',';
    out += item;
  }
  return out + "]";
}

}  // namespace procpool
