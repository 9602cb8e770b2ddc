// Writing job output line by line: --tag prefixes every line with the job's name, and
// --line-buffer prints whole lines live as they arrive, never two jobs' halves on one line.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <procpool/job.h>
#include "cli/ci_style.h"

namespace procpool {

// Serialises every write of job output and procpool's own lines, from any thread.
std::mutex& output_mutex();

// Writes `bytes` to `fd` with `prefix` before each line; `at_line_start` carries across calls.
// Returns false once the reader has gone (EPIPE).
bool write_prefixed(int fd, std::string_view prefix, std::string_view bytes, bool& at_line_start);

// --line-buffer: fed from the pool's manager thread as output arrives. In a CI folding style
// every line goes to stdout (a runner merging two pipes cannot reorder one), the job's markers
// are defused (JobMarkerFilter), and on GitHub the whole live phase is one ::stop-commands::
// region, so no job's line is obeyed as a workflow command.
class LiveLines {
 public:
  explicit LiveLines(bool tag, CiStyle ci = CiStyle::kPlain, bool job_commands = false);
  // Prints the complete lines in `bytes`; keeps a trailing partial line for later.
  void add(const Job& job, Stream s, std::string_view bytes);
  // The job ended: prints what is left of its partial lines (as they are, no newline added).
  void finish(const Job& job);
  bool reader_left() const { return reader_left_; }
  // The line that ends the ::stop-commands:: region, once one was opened ("" otherwise); call
  // it after the last job, before procpool's own annotations.
  std::string end_of_stopped_commands();

 private:
  bool write_line(const Job& job, Stream s, std::string_view line);

  bool tag_;                                                 // prefix lines with the name
  CiStyle ci_;                                               // the folding style, or plain
  bool job_commands_;                                        // jobs' CI markup is let through
  std::string stop_token_;                                   // GitHub: the region's token
  bool stopped_ = false;                                     // the region is open
  std::mutex mu_;                                            // guards partial_
  std::map<std::pair<uint64_t, int>, std::string> partial_;  // (job id, stream) -> partial line
  bool reader_left_ = false;                                 // a write hit EPIPE
};

}  // namespace procpool
