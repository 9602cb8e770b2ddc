// The default output: one block per finished job, never interleaved with another. procpool's
// own lines (headers, summary) go to stderr; the job's stdout to our stdout and its stderr to our
// stderr, verbatim and in arrival order, so `> out.txt` holds exactly what the jobs printed.
#pragma once

#include "cli/report.h"

namespace procpool {

class TextPrinter : public Printer {
 public:
  // `quiet`: headers only for jobs that did not succeed, and no summary.
  explicit TextPrinter(bool quiet) : quiet_(quiet) {}
  bool job(const Future& f) override;
  bool summary(const Summary& s) override;

 private:
  bool quiet_;  // -q
};

// "[failed] test (exit 1, 0.12s)": the header line of a job's block, without newline.
std::string header_line(const Job& job, const Result& r);

}  // namespace procpool
