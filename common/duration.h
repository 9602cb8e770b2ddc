// Durations as people type them: "30" (seconds), "1.5s", "200ms", "2m", "1h".
#pragma once

#include <optional>
#include <string>

#include <procpool/job.h>

namespace procpool {

// The duration, or nullopt when `text` is not one (negative values are not durations).
std::optional<Millis> parse_duration(const std::string& text);
// What parse_duration accepts, for error messages.
inline constexpr const char* kDurationForms =
    "a number of seconds or a number with ms, s, m or h "
    "(30, 1.5s, 200ms, 2m, 1h)";
// "1.5s", "2m", "250ms": the shortest exact spelling, for messages and --dry-run.
std::string format_duration(Millis d);

}  // namespace procpool
