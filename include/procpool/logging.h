// Where procpool's log lines go, for a program that links the library. By default they go to
// stderr, one line each ("procpool: warning: worker 123 exited with status 1 before it started"),
// never to stdout: stdout belongs to the program (and, in a worker, to the frame stream). A program
// with its own logger sends them there instead:
//
//   procpool::set_log_handler([](procpool::LogLevel level, std::string_view line) {
//     my_logger.log(to_my_level(level), "procpool: {}", line);
//   });
//
// Lines that the pool's workers write on their stderr (they are other processes) still reach the
// program's stderr as they are.
#pragma once

#include <functional>
#include <string_view>

namespace procpool {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kCritical, kOff };

// Sends every log line at or above the level (set_log_level) to `handler` instead of stderr: its
// level, and its text as one line without prefix or newline, control characters already escaped
// (a job's name or command can neither end the line nor drive a terminal). Called on the thread
// that logs, mostly the pool's manager thread, one call at a time: it must be quick and must not
// call into procpool; an exception it throws is dropped. nullptr: back to stderr.
void set_log_handler(std::function<void(LogLevel level, std::string_view line)> handler);
// Drops the lines below `level`: kInfo by default, kDebug for each worker start and frame, kOff
// for none at all. Applies to the handler and to stderr alike.
void set_log_level(LogLevel level);

}  // namespace procpool
