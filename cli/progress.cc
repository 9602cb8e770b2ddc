#include "cli/progress.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/line_writer.h"
#include "common/fd.h"
#include "common/visible_text.h"

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

constexpr std::string_view kLongest = "; longest: ";
constexpr std::string_view kEllipsis = "...";
// Less room than this for the longest job's name, and it is left out rather than elided.
constexpr size_t kShortestName = 8;
// A name longer than this (in bytes) is elided before anything else is done with it: a
// command used as a name may be any length, and the line is redrawn four times a second.
constexpr size_t kLongName = 1024;

// The name as the line shows it: visible, and never huge.
std::string shown_name(std::string_view name) {
  if (name.size() <= kLongName) return visible(name);
  return visible(head_within(name, kLongName / 2)) + std::string(kEllipsis) +
         visible(tail_within(name, kLongName / 2));
}

const char* env(const char* name) {
  const char* v = ::getenv(name);
  return v && *v ? v : nullptr;  // set and not empty
}

// The terminal's width in columns, asked at every redraw: one ioctl, next to the redraw's own
// write, and a resized window is followed within a redraw (250 ms), with no SIGWINCH in the
// signal loop. A handler would not draw any sooner where it matters: the terminal has rewrapped
// the line before the signal comes, and clear() takes that into account.
size_t terminal_columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* columns = env("COLUMNS")) {
    char* end = nullptr;
    long n = ::strtol(columns, &end, 10);
    if (*end == '\0' && n > 0 && n < 100000) return static_cast<size_t>(n);
  }
  return 80;
}

// Whether the terminal rewraps a line that a narrower window no longer holds, as most do
// (tmux, VTE, konsole, kitty, alacritty, iTerm2, Windows Terminal), rather than cut it (xterm,
// the Linux console). A status line that got rewrapped takes several rows, all cleared at the
// next redraw; on a terminal that cuts lines, those rows above are others' lines.
bool terminal_rewraps() {
  if (env("TMUX")) return true;  // tmux rewraps, whatever terminal it runs in
  const char* term = env("TERM");
  if (term && std::strcmp(term, "linux") == 0) return false;
  return env("XTERM_VERSION") == nullptr;
}

// How many rows `text`, drawn on one row, takes once rewrapped to `columns` columns (a wide
// character that does not fit at the end of a row goes to the next, as terminals do).
size_t rows_when_rewrapped(std::string_view text, size_t columns) {
  size_t rows = 1;
  for (;;) {
    std::string_view row = head_within(text, columns);
    if (row.empty()) row = text.substr(0, 1);  // a wide character in a one-column window
    text.remove_prefix(row.size());
    if (text.empty()) return rows;
    ++rows;
  }
}

// A status line that cannot be written (a terminal that hung up) is no reason to stop a batch.
void write_status(std::string_view text) {
  try {
    write_all(STDERR_FILENO, text);
  } catch (const std::exception&) {
  }
}

}  // namespace

namespace {

std::string joined(const std::vector<std::string>& counts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < counts.size(); ++i) out += (i ? ", " : "") + counts[i];
  return out;
}

}  // namespace

std::string StatusText::whole() const {
  std::string out = joined(counts, counts.size());
  if (longest.empty()) return out;
  return out + std::string(kLongest) + longest + " " + for_how_long;
}

std::string fit_status(const StatusText& text, size_t columns) {
  std::string whole = text.whole();
  if (display_width(whole) <= columns) return whole;
  std::string counts = joined(text.counts, text.counts.size());
  size_t counts_width = display_width(counts);
  if (!text.longest.empty()) {
    size_t around = counts_width + kLongest.size() + 1 + display_width(text.for_how_long);
    if (columns >= around + kShortestName) {
      return counts + std::string(kLongest) + elide_middle(text.longest, columns - around) + " " +
             text.for_how_long;
    }
  }
  for (size_t n = text.counts.size(); n > 1; --n) {
    std::string some = joined(text.counts, n);
    if (display_width(some) <= columns) return some;
  }
  std::string first = joined(text.counts, 1);
  if (display_width(first) <= columns) return first;
  if (columns <= kEllipsis.size()) return std::string(head_within(first, columns));
  return std::string(head_within(first, columns - kEllipsis.size())) + std::string(kEllipsis);
}

bool smart_terminal(int fd) {
  const char* term = env("TERM");
  return ::isatty(fd) && term && std::strcmp(term, "dumb") != 0;
}

Progress::Mode progress_mode(bool forced) {
  if (smart_terminal(STDERR_FILENO)) return Progress::Mode::kTerminal;
  return forced ? Progress::Mode::kPlain : Progress::Mode::kOff;
}

bool use_color(const std::string& flag) {
  if (flag == "always") return true;
  if (flag == "never") return false;
  if (flag != "auto") {
    throw UsageError("--color " + flag + ": expected auto (the default), always or never");
  }
  if (env("NO_COLOR")) return false;
  for (const char* force : {"FORCE_COLOR", "CLICOLOR_FORCE"}) {
    const char* v = env(force);
    if (v && std::strcmp(v, "0") != 0) return true;
  }
  const char* clicolor = env("CLICOLOR");
  if (clicolor && std::strcmp(clicolor, "0") == 0) return false;
  return smart_terminal(STDERR_FILENO);
}

Progress::Progress(Mode mode, std::optional<uint64_t> total) : mode_(mode), total_(total) {
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
  // Refreshes the counts of running jobs, the elapsed time and the ETA between job ends; job
  // ends redraw it themselves.
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

StatusText Progress::status() const {
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - started_).count();
  std::vector<RunningJob> running = running_ ? running_() : std::vector<RunningJob>{};
  StatusText text;
  uint64_t done = counts_.total();
  text.counts.push_back(fmt::format(
      "{} {} running", total_ ? fmt::format("[{}/{}]", done, *total_) : fmt::format("[{}]", done),
      running.size()));
  // What did not succeed, in the summary's words: "1 failed", "2 timed out", "1 crashed".
  auto by_status = counts_.by_status();
  for (size_t i = 1; i < by_status.size(); ++i) {
    if (by_status[i].second) {
      text.counts.push_back(fmt::format("{} {}", by_status[i].second, by_status[i].first));
    }
  }
  text.counts.push_back(clock_text(elapsed) + " elapsed");
  if (total_ && done > 0 && done < *total_) {
    double eta = elapsed / static_cast<double>(done) * static_cast<double>(*total_ - done);
    text.counts.push_back("ETA " + clock_text(eta));
  }
  if (!running.empty()) {
    const RunningJob& longest = running.front();  // the oldest start
    text.longest = shown_name(longest.future.job().name);
    text.for_how_long = clock_text(std::chrono::duration<double>(now - longest.since).count());
  }
  return text;
}

std::string Progress::erase(size_t columns) const {
  // "\r" and erase-line, on each row the line takes: one, unless the window got narrower
  // since it was drawn and the terminal rewrapped it (the cursor is then on its last row).
  size_t rows = terminal_rewraps() ? rows_when_rewrapped(drawn_text_, columns) : 1;
  std::string out = "\r\x1b[K";
  for (size_t row = 1; row < rows; ++row) out += "\x1b[A\x1b[K";
  return out;
}

void Progress::clear() {
  if (mode_ != Mode::kTerminal || !drawn_) return;
  write_status(erase(terminal_columns(STDERR_FILENO)));
  drawn_ = false;
}

void Progress::draw() {
  if (mode_ == Mode::kTerminal) {
    // One column short of the width: the cursor stays on the line, and a terminal that wraps
    // as soon as the last column is written never wraps it.
    size_t columns = terminal_columns(STDERR_FILENO);
    std::string out = drawn_ ? erase(columns) : "\r\x1b[K";
    drawn_text_ = fit_status(status(), columns > 1 ? columns - 1 : 1);
    write_status(out + drawn_text_);
    drawn_ = true;
  } else if (mode_ == Mode::kPlain) {
    write_status("procpool: " + status().whole() + "\n");
  }
}

void Progress::job_done(const Job& job, const Result& r) {
  counts_.add(job, r);
  if (mode_ == Mode::kTerminal) draw();
}

}  // namespace procpool
