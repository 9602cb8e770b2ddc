#include "cli/progress.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/line_writer.h"
#include "common/fd.h"

namespace procpool {

namespace {

std::string clock_text(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

// How often the line is redrawn on a terminal, and printed elsewhere when forced.
constexpr std::chrono::milliseconds kTerminalEvery{250};
constexpr std::chrono::seconds kPlainEvery{5};

}  // namespace

Progress::Mode progress_mode(bool forced) {
  if (::isatty(STDERR_FILENO)) return Progress::Mode::kTerminal;
  return forced ? Progress::Mode::kPlain : Progress::Mode::kOff;
}

bool use_color(const std::string& flag) {
  if (flag == "always") return true;
  if (flag == "never") return false;
  if (flag != "auto") {
    throw UsageError("--color " + flag + ": expected auto (the default), always or never");
  }
  const char* no_color = ::getenv("NO_COLOR");
  return ::isatty(STDERR_FILENO) && !(no_color && *no_color);
}

Progress::Progress(Mode mode, std::optional<uint64_t> total, int workers)
    : mode_(mode), total_(total), workers_(workers) {
  due_ = started_ + (mode_ == Mode::kTerminal ? Clock::duration(kTerminalEvery)
                                              : Clock::duration(kPlainEvery));
}

std::optional<Clock::time_point> Progress::next_due() const {
  if (mode_ == Mode::kOff || stopped_) return std::nullopt;
  return due_;
}

void Progress::tick() {
  if (mode_ == Mode::kOff || stopped_) return;
  auto now = Clock::now();
  if (now < due_) return;
  // Refreshes the elapsed time and ETA between job ends; job ends redraw it themselves.
  auto every =
      mode_ == Mode::kTerminal ? Clock::duration(kTerminalEvery) : Clock::duration(kPlainEvery);
  while (due_ <= now) due_ += every;
  std::lock_guard out(output_mutex());
  draw();
}

void Progress::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::lock_guard out(output_mutex());
  clear();
}

std::string Progress::status() const {
  double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  std::string text = total_ ? fmt::format("[{}/{}]", done_, *total_) : fmt::format("[{}]", done_);
  uint64_t running = workers_;
  if (total_) running = std::min<uint64_t>(running, *total_ - done_);
  text += fmt::format(" {} running", running);
  if (failed_) text += fmt::format(", {} failed", failed_);
  text += ", " + clock_text(elapsed) + " elapsed";
  if (total_ && done_ > 0 && done_ < *total_) {
    double eta = elapsed / static_cast<double>(done_) * static_cast<double>(*total_ - done_);
    text += ", ETA " + clock_text(eta);
  }
  return text;
}

namespace {

// A status line that cannot be written (a terminal that hung up) is no reason to stop a batch.
void write_status(std::string_view text) {
  try {
    write_all(STDERR_FILENO, text);
  } catch (const std::exception&) {
  }
}

}  // namespace

void Progress::clear() {
  if (mode_ != Mode::kTerminal || !drawn_) return;
  write_status("\r\x1b[K");
  drawn_ = false;
}

void Progress::draw() {
  if (mode_ == Mode::kTerminal) {
    write_status("\r\x1b[K" + status());
    drawn_ = true;
  } else if (mode_ == Mode::kPlain) {
    write_status("procpool: " + status() + "\n");
  }
}

void Progress::job_done(const Result& r) {
  ++done_;
  if (!r.ok() && r.status != Status::kCancelled && r.status != Status::kSkipped) ++failed_;
  if (mode_ == Mode::kTerminal) draw();
}

}  // namespace procpool
