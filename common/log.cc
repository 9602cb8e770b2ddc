#include "common/log.h"

#include <atomic>
#include <mutex>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/ansicolor_sink.h>

#include "common/visible_text.h"

namespace procpool::log {

namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kCritical:
      return spdlog::level::critical;
    case Level::kOff:
      break;
  }
  return spdlog::level::off;
}

// Not spdlog's default logger: that one writes to stdout, which belongs to the jobs' output (or,
// in a worker, to the frame stream).
using Handler = std::function<void(LogLevel, std::string_view)>;

struct State {
  std::mutex mu;                           // guards logger, guard and handler
  std::shared_ptr<spdlog::logger> logger;  // made on first use, or by setup()
  std::function<void(const std::function<void()>&)> guard;
  std::shared_ptr<const Handler> handler;  // the host program's, instead of the logger
  std::mutex handler_mu;                   // one handler call at a time
  std::atomic<Level> threshold{Level::kInfo};
};

State& state() {
  // Never destroyed: a pool released from its own thread may still log while the program exits
  // (exit() runs the destructors of function-local statics while that thread runs on).
  static State& s = *new State;
  return s;
}

std::shared_ptr<spdlog::logger> make_logger(std::string_view name) {
  // Not registered with spdlog: nothing global to collide with a host program's own loggers.
  auto sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(name), std::move(sink));
  logger->set_pattern(std::string(name) + ": %^%l%$: %v");
  logger->set_level(spdlog::level::trace);  // filtered by our threshold, before formatting
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace

void setup(std::string_view name, Level threshold) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.logger = make_logger(name);
  s.threshold = threshold;
}

bool enabled(Level level) {
  return level != Level::kOff && level >= state().threshold.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  State& s = state();
  std::shared_ptr<spdlog::logger> logger;
  std::function<void(const std::function<void()>&)> guard;
  std::shared_ptr<const Handler> handler;
  {
    std::lock_guard lock(s.mu);
    handler = s.handler;
    if (!handler && !s.logger) s.logger = make_logger("procpool");
    logger = s.logger;
    guard = s.guard;
  }
  // One line per message, whatever it quotes: a job's name, command or path, or text from a
  // job file or another machine, is shown with its control characters escaped, so it can
  // neither forge a log line nor drive the terminal. No message of procpool's spans lines.
  std::string escaped;
  if (!shown_as_is(message)) {
    escaped = visible(message);
    message = escaped;
  }
  auto emit = [&] {
    if (!handler) {
      logger->log(to_spdlog(level), message);
      return;
    }
    std::lock_guard lock(s.handler_mu);
    try {
      (*handler)(level, message);
    } catch (...) {
      // A log line that could not be taken is lost; it never fails what was being logged.
    }
  };
  if (guard) {
    guard(emit);
  } else {
    emit();
  }
}

void set_guard(std::function<void(const std::function<void()>&)> guard) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.guard = std::move(guard);
}

}  // namespace procpool::log

namespace procpool {

void set_log_handler(std::function<void(LogLevel, std::string_view)> handler) {
  auto& s = log::state();
  auto shared = handler ? std::make_shared<const log::Handler>(std::move(handler)) : nullptr;
  std::lock_guard lock(s.mu);
  s.handler = std::move(shared);
}

void set_log_level(LogLevel level) {
  log::state().threshold = level;
}

}  // namespace procpool
