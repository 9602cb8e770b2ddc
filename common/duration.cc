#include "common/duration.h"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace procpool {

std::optional<Millis> parse_duration(const std::string& text) {
  // Plain decimal only: strtod would also take hex ("0x10"), infinities and leading spaces.
  size_t digits = text.find_first_not_of("0123456789.");
  if (text.empty() || digits == 0 || text.find_first_of("xXeE") < digits) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string unit(end);
  double scale;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  double ms = value * scale;
  if (ms > 1e15) return std::nullopt;
  return Millis(static_cast<int64_t>(std::llround(ms)));
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
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
