// procpool's log: one line per message on stderr ("procpool: warning: ..."). spdlog sits behind
// this header, so only log.cc pays for its headers; everything else includes fmt's light core.
#pragma once

#include <functional>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include <procpool/logging.h>

namespace procpool::log {

using Level = LogLevel;

// Until set up, messages of level info and above go to stderr as "procpool: LEVEL: ...", never to
// stdout (a program embedding the library, or a worker, owns its stdout); a handler set with
// procpool::set_log_handler (common/logging.h) takes them instead of stderr.
// `name` starts every stderr line ("procpool", "procpool worker"); `threshold` drops what is
// below (as set_log_level).
void setup(std::string_view name, Level threshold);
bool enabled(Level level);
void write(Level level, std::string_view message);
// Wraps every write: the front end clears its status line and holds its output lock around it,
// so a log line from any thread never lands in the middle of a job's block or the status line.
// `guard(emit)` must call `emit()` exactly once. Pass nullptr to remove.
void set_guard(std::function<void(const std::function<void()>& emit)> guard);

template <typename... Args>
void at(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::kDebug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::kInfo, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::kWarn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::kError, format, std::forward<Args>(args)...);
}
template <typename... Args>
void critical(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::kCritical, format, std::forward<Args>(args)...);
}

}  // namespace procpool::log
