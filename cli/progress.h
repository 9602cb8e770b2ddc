// The live status line: "[12/100] 2 running, 1 failed, 0:12 elapsed, ETA 0:35". On a terminal
// it is redrawn in place and cleared before any job output is printed; elsewhere (CI logs) it
// is off unless forced, and then a plain line every few seconds. Passive: the front end's loop
// calls tick() when next_due() comes (no thread of its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <procpool/job.h>

namespace procpool {

class Progress {
 public:
  enum class Mode { kOff, kTerminal, kPlain };
  // `total`: the batch's size when known; `workers`: for the running count.
  Progress(Mode mode, std::optional<uint64_t> total, int workers);
  ~Progress() { stop(); }
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
  void job_done(const Result& r);
  // The status text (without control characters), for tests and the plain mode.
  std::string status() const;

 private:
  void draw();  // with output_mutex() held

  Mode mode_;
  std::optional<uint64_t> total_;
  int workers_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point due_;           // next redraw or print
  uint64_t done_ = 0, failed_ = 0;  // guarded by output_mutex()
  bool drawn_ = false;              // a status line is on screen
  bool stopped_ = false;
};

// "auto": a terminal on stderr; "always" and "never" as said. Throws UsageError.
Progress::Mode progress_mode(bool forced);
// Colours for the status word of headers: on a terminal unless NO_COLOR is set; --color
// always|never overrides. Throws UsageError for other values.
bool use_color(const std::string& flag);

}  // namespace procpool
