// GitHub Actions' job summary: when a step runs procpool with GITHUB_STEP_SUMMARY set, the
// batch's outcome is appended to that file as Markdown, and GitHub shows it on the run's page:
// the counts, the jobs that did not succeed with the end of their stderr, the slowest jobs.
// Every job name and every byte a job printed is untrusted there: it is escaped so that it
// renders as the text it is and cannot break the table, add markup or run script.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/ci_style.h"
#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

// What the summary shows of a batch, gathered job by job in bounded memory: only the rows it
// can show (the worst kRowsShown jobs that did not succeed, each with the last few lines of its
// stderr) and the kSlowest slowest jobs, never every job's output.
class StepSummaryContent {
 public:
  static constexpr size_t kRowsShown = 50;        // jobs listed in the table of those not ok
  static constexpr size_t kSlowest = 5;           // jobs listed as the slowest
  static constexpr size_t kStderrLines = 5;       // lines of stderr quoted per job
  static constexpr size_t kLineChars = 200;       // characters kept of each quoted line
  static constexpr size_t kTextChars = 200;       // characters kept of a name, ending or host
  static constexpr size_t kMaxBytes = 512 << 10;  // of the Markdown (GitHub takes 1 MiB a step)

  // Each finished job, in completion order.
  void add(const Job& job, const Result& r);
  // The Markdown to append: a heading naming `title`, the counts of `s`, the table of jobs
  // that did not succeed (worst first: crashed, timed out, could not start, failed; then in
  // completion order), the slowest jobs. At most `max_bytes` long: rows that do not fit are
  // left out, and it says so.
  std::string markdown(const std::string& title, const Summary& s,
                       size_t max_bytes = kMaxBytes) const;

 private:
  struct Row {
    int rank = 0;        // how bad: 0 crashed, 1 timed out, 2 could not start, 3 failed
    uint64_t seq = 0;    // completion order
    std::string name;    // visible text (control characters escaped), cut to kTextChars
    std::string ending;  // "exit 1", "SIGSEGV", "timed out after 1s", ...
    double duration_s = 0;
    std::string host;
    std::vector<std::string> stderr_lines;  // the last ones, visible text, each cut
    bool earlier_lines = false;             // stderr has lines before those
  };
  std::string row_markdown(const Row& row) const;

  std::vector<Row> rows_;                                // at most kRowsShown, the worst so far
  uint64_t not_ok_ = 0;                                  // jobs that did not succeed, shown or not
  uint64_t seq_ = 0;                                     // jobs added
  std::vector<std::pair<double, std::string>> slowest_;  // (seconds, visible name), slowest first
};

// Appends the summary to the file GITHUB_STEP_SUMMARY names, in one write at the end.
class StepSummaryRecorder : public Recorder {
 public:
  // Opens `path` to append to it (creating it), so a path that cannot be written is a
  // UsageError before anything runs. `title` names the batch in the heading.
  StepSummaryRecorder(std::string path, std::string title);
  void job(const Future& f) override;
  void finish(const Summary& s) override;
  std::string label() const override { return "GITHUB_STEP_SUMMARY " + path_; }

 private:
  std::string path_;   // as the variable gave it, for messages
  std::string title_;  // the batch's name
  Fd fd_;              // O_APPEND: the step's other summaries stay as they are
  StepSummaryContent content_;
  bool finished_ = false;  // written once, whatever calls finish again
};

// The recorder when the CI style is GitHub's and GITHUB_STEP_SUMMARY names a file, else null.
// Throws UsageError when that file cannot be opened. `title` names the batch (the job file's
// name, say).
std::unique_ptr<Recorder> make_step_summary(CiStyle style, const std::string& title);

}  // namespace procpool
