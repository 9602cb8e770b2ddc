// The default output: one block per finished job, never interleaved with another. procpool's
// own lines (headers, summary) go to stderr; the job's stdout to our stdout and its stderr to our
// stderr, verbatim and in arrival order, so `> out.txt` holds exactly what the jobs printed.
// In a CI folding style the whole block (markers, header, both of the job's streams in the order
// it printed them) goes to stdout instead: a CI runner reads our two pipes separately and may
// reorder lines between them, never within one.
#pragma once

#include "cli/ci_annotations.h"
#include "cli/ci_style.h"
#include "cli/line_writer.h"
#include "cli/progress.h"
#include "cli/report.h"

namespace procpool {

struct TextOptions {
  bool quiet = false;            // -q: headers only for jobs that did not succeed; no summary
  bool tag = false;              // --tag: every output line starts with the job's name and a tab
  LiveLines* live = nullptr;     // --line-buffer: output was printed live; only finish it here
  CiStyle ci = CiStyle::kPlain;  // --ci: fold each job's block into a CI log section
  bool color = false;            // colour the status word of headers
  Progress* progress = nullptr;  // the live status line, cleared around every block
  bool job_commands = false;     // GitHub: let jobs' own workflow commands through
  std::string annotations_where = "the summary at the end of the log";  // where all are listed
};

class TextPrinter : public Printer {
 public:
  explicit TextPrinter(TextOptions options) : options_(options) {}
  bool job(const Future& f) override;
  bool summary(const Summary& s) override;

 private:
  bool block(const Future& f);                          // the job's block: header, output
  bool write_output(const Future& f, const Result& r);  // with output_mutex() held
  bool folding() const { return options_.ci != CiStyle::kPlain; }
  int log_fd() const;  // where procpool's own lines go

  TextOptions options_;
  Annotations annotations_;  // GitHub: written after the last block
};

// "[failed] test (exit 1, 0.12s)": the header line of a job's block, without newline; with
// `color`, the status word in ANSI colour.
std::string header_line(const Job& job, const Result& r, bool color = false);

}  // namespace procpool
