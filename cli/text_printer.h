// The default output: one block per finished job, never interleaved with another. procpool's
// own lines (headers, summary) go to stderr; the job's stdout to our stdout and its stderr to our
// stderr, verbatim and in arrival order, so `> out.txt` holds exactly what the jobs printed.
#pragma once

#include "cli/line_writer.h"
#include "cli/report.h"

namespace procpool {

struct TextOptions {
  bool quiet = false;         // -q: headers only for jobs that did not succeed; no summary
  bool tag = false;           // --tag: every output line starts with the job's name and a tab
  LiveLines* live = nullptr;  // --line-buffer: output was printed live; only finish it here
};

class TextPrinter : public Printer {
 public:
  explicit TextPrinter(TextOptions options) : options_(options) {}
  bool job(const Future& f) override;
  bool summary(const Summary& s) override;

 private:
  TextOptions options_;
};

// "[failed] test (exit 1, 0.12s)": the header line of a job's block, without newline.
std::string header_line(const Job& job, const Result& r);

}  // namespace procpool
