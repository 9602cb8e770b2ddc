// --report FILE.html: one self-contained page about the batch (no network: CSS and script are
// inline, and its Content-Security-Policy forbids loading anything). It holds the summary, the
// jobs that did not succeed and the slowest ones (plain HTML, readable without script), a
// timeline per worker, and every job with its output, failures first.
//
// The page opens at any size: the job list is drawn by the inline script, which shows only the
// rows on screen (a virtualised list over a plain array, so search and status filters stay
// quick at 100,000 jobs), from the jobs as JSON in <script type="application/json"
// id="report-data">. Outputs are in a second such element, #report-outputs, one JSON value per
// job, each found by its offset and parsed only when its job is expanded. Job bytes reach the
// page only inside those JSON strings (escaped by the one JSON escaper, then made safe inside
// <script>: no '<', '>', '&', U+2028 or U+2029) and from there only through textContent, so
// hostile output can neither end the element nor become markup. Names in the tables go through
// the HTML escaper.
//
// Memory stays bounded: a job's record is kept without its output, and the shown part of the
// output (its head and tail, at most `head_bytes` + `tail_bytes`, already as JSON) goes to an
// unlinked temporary file until the page is written at the end, when the order (failures
// first) is known.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

// An output longer than head_bytes + tail_bytes shows its first and its last part with the
// number of bytes cut between them. The tail gets the larger part: that is where a failing
// command says why (the compiler's errors, the test runner's summary, the last words before a
// crash or a timeout), as --junit keeps only the tail; the head shows how the job began.
struct HtmlReportLimits {
  uint64_t head_bytes = 64u << 10;   // output bytes shown from the start of each job's output
  uint64_t tail_bytes = 192u << 10;  // ... and from its end
  uint64_t total_bytes = 64u << 20;  // output bytes shown on the whole page
  size_t open_failures = 20;         // failed jobs expanded at first
  size_t slowest = 10;               // rows of the slowest-jobs table
  size_t failure_rows = 500;         // rows of the did-not-succeed table
};

class HtmlReport : public Recorder {
 public:
  // Opens `path` now (UsageError when it cannot be written) and the spill file for outputs.
  explicit HtmlReport(std::string path, HtmlReportLimits limits = {});
  void job(const Future& f) override;
  void finish(const Summary& s) override;
  std::string label() const override { return "--report " + path_; }

  // What the page knows of one job: everything but its output, which is in the spill file.
  struct Record {
    uint64_t id = 0;                 // the job's id, also its link (#job-ID)
    std::string name;                // as given
    std::string command;             // as one line
    Status status = Status::kError;  // how it ended
    bool flaky = false;              // ok only after a retry
    int attempts = 0;                // how many times it was started
    std::string ending;              // "exit 3", "SIGSEGV", "timed out after 5s", an error message
    int64_t started_us = 0;          // wall clock of the last attempt, 0 when it never ran
    int64_t ended_us = 0;            // ... and of its end
    double duration_s = 0;           // monotonic duration of the last attempt
    std::string worker;              // "worker 123@host", empty when it never ran
    uint64_t out_bytes = 0;          // stdout size, whole
    uint64_t err_bytes = 0;          // stderr size, whole
    uint64_t shown_bytes = 0;        // output bytes in the spilled fragment (head and tail)
    uint64_t spill_at = 0;           // the JSON fragment's offset in the spill file
    uint64_t spill_len = 0;          // ... and length in bytes
    uint64_t text_len = 0;           // ... and in UTF-16 code units, as the page's script counts
    bool output_kept = false;        // false when the spill file failed (spill_error_ says why)
  };

 private:
  // Writes the head and tail of `output` as JSON into the spill file; fills rec's output fields.
  void keep_output(const Output& output, Record& rec);
  void spill(std::string& fragment);
  void write_page(const Summary& s);

  std::string path_;             // as given, for messages
  HtmlReportLimits limits_;      // what the page shows at most
  Fd file_;                      // the page
  bool regular_file_ = false;    // it can be rewritten from the start at the end
  Fd spill_;                     // escaped output fragments, in completion order
  uint64_t spill_size_ = 0;      // bytes in spill_
  std::string spill_error_;      // why spill_ failed; then no more output is kept
  int64_t origin_us_ = 0;        // wall clock of the batch start (time 0 of the timeline)
  std::vector<Record> records_;  // completion order
};

}  // namespace procpool
