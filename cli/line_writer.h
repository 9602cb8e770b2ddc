// Writing job output line by line: --tag prefixes every line with the job's name, and
// --line-buffer prints whole lines live as they arrive, never two jobs' halves on one line
// (with -k, only the oldest job's lines are live; later jobs' wait their turn, whole).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <procpool/job.h>
#include <procpool/output.h>
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
// With `keep_order` (-k, as GNU parallel's -k --line-buffer): only the oldest job not yet
// reported (in input order) prints live. Every later job's bytes are held back in an Output, as
// -k holds finished jobs' (memory bounded, spilled past the budget), and printed, line by line
// as if they had just arrived, when it becomes the oldest: the log reads as -k's, job after job.
class LiveLines {
 public:
  explicit LiveLines(bool tag, CiStyle ci = CiStyle::kPlain, bool job_commands = false,
                     bool keep_order = false);
  // Prints the complete lines in `bytes` (-k: of the oldest job; a later job's are held back);
  // keeps a trailing partial line for later.
  void add(const Job& job, Stream s, std::string_view bytes);
  // The job ended: prints what it held back (-k; `show_held` false drops it instead: -k shows
  // nothing of a job a halt stopped), then what is left of its partial lines (as they are, no
  // newline added).
  void finish(const Job& job, bool show_held = true);
  // -k: the job's block is complete (call it after finish() and its header): the next job in
  // input order prints live from now on, what it printed so far first.
  void reported(const Job& job);
  // -k: a halt is stopping the running jobs (on the pool's thread, before it stops them): the
  // live job stays live, no later one goes live; finish() shows or drops each one's held bytes.
  void halted();
  bool reader_left() const { return reader_left_; }
  // The line that ends the ::stop-commands:: region, once one was opened ("" otherwise); call
  // it after the last job, before procpool's own annotations.
  std::string end_of_stopped_commands();

 private:
  // A job's bytes held back (-k) and the name its lines are tagged with.
  struct Held {
    std::string name;
    Output bytes;
  };

  bool write_line(std::string_view name, Stream s, std::string_view line);
  // Prints the whole lines of `bytes` now; with mu_ held.
  void print(uint64_t id, std::string_view name, Stream s, std::string_view bytes);
  void print_held(uint64_t id);  // -k: what job `id` printed before it was live; with mu_ held

  bool tag_;                                                 // prefix lines with the name
  CiStyle ci_;                                               // the folding style, or plain
  bool job_commands_;                                        // jobs' CI markup is let through
  std::string stop_token_;                                   // GitHub: the region's token
  bool stopped_ = false;                                     // the region is open
  bool keep_order_;                                          // -k: one job live at a time
  std::mutex mu_;                                            // guards what follows
  std::map<std::pair<uint64_t, int>, std::string> partial_;  // (job id, stream) -> partial line
  uint64_t live_id_ = 1;                                     // -k: the job printing live
  bool halted_ = false;                                      // -k: no job goes live any more
  std::map<uint64_t, Held> held_;                            // -k: later jobs' bytes, by id
  bool reader_left_ = false;                                 // a write hit EPIPE
};

}  // namespace procpool
