// The live status line, ninja-style:
//   [12/100] 2 running, 1 failed, 1 timed out, 0:12 elapsed, ETA 0:35; longest: compile 0:09
// At a terminal that takes escape sequences it is redrawn in place ("\r", erase line), cut to
// the terminal's width (read at every redraw, so a resized window is followed) and cleared
// before any job output is printed; elsewhere (CI logs, TERM=dumb) it is off unless forced,
// and then a plain line every few seconds. Passive: the front end's loop calls tick() when
// next_due() comes (no thread of its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <procpool/pool.h>
#include "cli/report.h"

namespace procpool {

// The parts of a status line, which fit_status() cuts to a width.
struct StatusText {
  // "[12/100] 2 running", "1 failed", ..., "0:12 elapsed", "ETA 0:35": joined by ", "
  std::vector<std::string> counts;
  std::string longest;  // the longest-running job's name, shown as visible() makes it ("": none)
  std::string for_how_long;  // "0:09", how long it has run
  std::string whole() const;
};

// The status line in at most `columns` terminal columns (display width, not bytes): whole when
// it fits; else with the longest job's name elided in its middle ("comp...tion"); else the
// counts alone, less those at the end that do not fit (the ETA, then the elapsed time, then
// the failures, last first); else the first cut at the end, with "...".
std::string fit_status(const StatusText& text, size_t columns);

class Progress {
 public:
  enum class Mode { kOff, kTerminal, kPlain };
  // `total`: the batch's size when known.
  Progress(Mode mode, std::optional<uint64_t> total);
  ~Progress() { stop(); }
  // Where the running jobs are read at each redraw (ProcessPool::running: the jobs whose
  // process has started and not ended), once the pool exists; until then none run.
  void watch(std::function<std::vector<RunningJob>()> running) { running_ = std::move(running); }
  // When the line is next to be redrawn or printed, for the loop's poll timeout; nullopt once
  // stopped, or when off.
  std::optional<Clock::time_point> next_due() const;
  // Redraws (terminal) or prints (plain) the line when it is due. Takes output_mutex().
  void tick();
  // Stops for good and clears the line, before the summary is written. Takes output_mutex().
  void stop();
  // Call with output_mutex() held, before writing anything to the terminal.
  void clear();
  // Call with output_mutex() held, after a job's block was written.
  void job_done(const Job& job, const Result& r);
  // The status text now (control characters of names made visible).
  StatusText status() const;

 private:
  void draw();                              // with output_mutex() held
  std::string erase(size_t columns) const;  // what clears the line drawn, `columns` wide now

  Mode mode_;
  std::optional<uint64_t> total_;
  std::function<std::vector<RunningJob>()> running_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point due_;  // next redraw or print
  // Guarded by output_mutex():
  Summary counts_;          // the jobs reported so far
  bool drawn_ = false;      // a status line is on screen ...
  std::string drawn_text_;  // ... this one
  bool stopped_ = false;
};

// Whether `fd` is a terminal that takes escape sequences: a terminal, with TERM set to
// something other than "dumb" (as ninja and git decide).
bool smart_terminal(int fd);
// Where the status line goes (stderr): kTerminal at a smart terminal; else kPlain with
// --progress (`forced`), kOff without.
Progress::Mode progress_mode(bool forced);
// Whether headers' status words are coloured. `flag` (--color) first: always, never, or auto,
// which asks the environment, first rule that applies:
//   NO_COLOR set and not empty              no colour (no-color.org; beats the two below)
//   FORCE_COLOR or CLICOLOR_FORCE set, not   colour, even when stderr is no terminal
//     empty and not "0"                        (force-color.org, bixense.com/clicolors)
//   CLICOLOR=0                               no colour
//   otherwise                                colour when stderr is a smart terminal
// Throws UsageError for other flag values.
bool use_color(const std::string& flag);

}  // namespace procpool
