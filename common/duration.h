// Durations as people type them: "30" (seconds), "1.5s", "200ms", "2m", "1h", and GNU
// parallel's combined forms: "1h2m3s", "1d", "1d3.5h16.6m4s".
#pragma once

#include <optional>
#include <string>

#include <procpool/job.h>

namespace procpool {

// The duration, or nullopt when `text` is not one (negative values are not durations). A bare
// number is seconds; otherwise one or more numbers each followed by its unit, d, h, m, s or ms
// (either case, as GNU parallel takes them), added up: "1h30m", "1m30s", "1s500ms". A bare
// number after units ("1m30") is refused, as GNU parallel refuses it: minutes or seconds?
std::optional<Millis> parse_duration(const std::string& text);
// What parse_duration accepts, for error messages.
inline constexpr const char* kDurationForms =
    "a number of seconds, or numbers with d, h, m, s or ms, combined "
    "(30, 1.5s, 200ms, 2m, 1h30m, 1d3.5h16.6m4s)";
// "1.5s", "2m", "250ms", "1d": the shortest exact spelling, for messages and --dry-run.
std::string format_duration(Millis d);

}  // namespace procpool
