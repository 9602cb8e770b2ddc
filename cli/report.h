// What the front end prints about finished jobs: per-job records and the closing summary.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <procpool/future.h>

namespace procpool {

// Counts by status over a whole batch.
struct Summary {
  uint64_t ok = 0, failed = 0, timeout = 0, crashed = 0, cancelled = 0, skipped = 0, error = 0;
  uint64_t flaky = 0;    // ok, but only after a retry
  uint64_t resumed = 0;  // not run: succeeded in an earlier run (--resume); not in `skipped`
  double wall_s = 0;     // the batch's wall time
  // What a person looks at first: the slowest jobs, and those that did not succeed (both
  // capped, so a huge batch keeps a small summary).
  static constexpr size_t kSlowest = 3, kNotOkListed = 10;
  std::vector<std::pair<double, std::string>> slowest;  // (seconds, name), slowest first
  std::vector<std::string> not_ok;                      // "test (exit 1)", in completion order

  void add(const Job& job, const Result& r);
  // Jobs that ran (or tried to) and did not succeed: what --halt fail=N counts.
  uint64_t failures() const { return failed + timeout + crashed + error; }
  uint64_t total() const {
    return ok + failed + timeout + crashed + cancelled + skipped + error + resumed;
  }
  bool all_ok() const { return ok + resumed == total(); }
  // The counts by status in the words and the order of line(): ok, failed, timed out, crashed,
  // could not start, cancelled, skipped (the live status line uses the same).
  std::vector<std::pair<const char*, uint64_t>> by_status() const;
  // "12 ok, 1 failed, 0 timed out in 3.2s" (other statuses appear when present).
  std::string line() const;
  // The lines after it: "slowest: ...", "not ok: ..." (empty when nothing to say).
  std::string details() const;
};

// Receives each finished job, in the order the front end hands them over, then the summary.
// Writing returns false once the reader of our output has gone away (EPIPE).
class Printer {
 public:
  virtual ~Printer() = default;
  virtual bool job(const Future& f) = 0;
  virtual bool summary(const Summary& s) = 0;
};

// Records every finished job somewhere besides the printer (JUnit, job log, journal, results
// folder, trace, report). Files are opened when the recorder is made, before anything runs, so
// a path that cannot be written is a usage error, not a lost result at the end.
class Recorder {
 public:
  virtual ~Recorder() = default;
  // Each finished job, in completion order, on the main thread, as soon as it is handled.
  virtual void job(const Future& f) = 0;
  // Once at the end, also after a halt or a signal: write what is left and close.
  virtual void finish(const Summary& s) = 0;
  // The flag and file, for messages: "--junit out.xml".
  virtual std::string label() const = 0;
};
// job() and finish() throw std::runtime_error when the file cannot be written (a full disk),
// after leaving it usable (whole records only, valid XML or JSON) or removing it, and say which
// in the message; later jobs are still offered, since room may come back.

// "2026-11-22T04:56:35.123Z"
std::string iso_time(int64_t wall_us);

// How bad a job's ending is, for the lists that show the worst first (GitHub's annotations,
// the step summary): 0 crashed (a signal or a lost worker hides the most), 1 timed out (a hang
// costs the most time), 2 could not start (broken before it ran), 3 failed (the command telling
// you itself); -1 for jobs that succeeded or never ran, which such lists leave out.
int badness_rank(Status s);

}  // namespace procpool
