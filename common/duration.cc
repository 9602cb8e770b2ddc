#include "common/duration.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace procpool {

namespace {

// Milliseconds per unit at text[at...], advancing `at` past it; 0 when there is no unit there.
// "ms" before "m": "5ms" is five milliseconds, never five minutes and a stray s.
double unit_at(const std::string& text, size_t& at) {
  auto lower = [&](size_t i) {
    return i < text.size() ? std::tolower(static_cast<unsigned char>(text[i])) : 0;
  };
  if (lower(at) == 'm' && lower(at + 1) == 's') {
    at += 2;
    return 1;
  }
  double scale = 0;
  switch (lower(at)) {
    case 's':
      scale = 1'000;
      break;
    case 'm':
      scale = 60'000;
      break;
    case 'h':
      scale = 3'600'000;
      break;
    case 'd':
      scale = 86'400'000;
      break;
    default:
      return 0;
  }
  ++at;
  return scale;
}

}  // namespace

std::optional<Millis> parse_duration(const std::string& text) {
  // Plain decimals only, read here rather than by strtod, which would also take signs, hex
  // ("0x10"), exponents, infinities and leading spaces.
  double ms = 0;
  bool units = false;
  size_t at = 0;
  do {
    size_t start = at, digits = 0;
    bool dot = false;
    for (; at < text.size(); ++at) {
      char c = text[at];
      if (c == '.' && !dot) {
        dot = true;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        ++digits;
      } else {
        break;
      }
    }
    if (digits == 0) return std::nullopt;
    double value = std::strtod(text.substr(start, at - start).c_str(), nullptr);
    double scale = unit_at(text, at);
    if (scale == 0) {
      // A bare number is seconds, when it is the whole text.
      if (units || at != text.size()) return std::nullopt;
      scale = 1'000;
    }
    units = true;
    ms += value * scale;
  } while (at < text.size());
  if (!std::isfinite(ms) || ms > 1e15) return std::nullopt;
  return Millis(static_cast<int64_t>(std::llround(ms)));
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms % 86'400'000 == 0 && ms > 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms % 3'600'000 == 0 && ms > 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms > 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms < 1000) return fmt::format("{}ms", ms);
  // Whole seconds and the milliseconds, trailing zeros trimmed: exact, unlike {:g}'s 6 digits.
  std::string frac = fmt::format("{:03d}", ms % 1000);
  while (frac.back() == '0') frac.pop_back();
  return fmt::format("{}.{}s", ms / 1000, frac);
}

}  // namespace procpool
