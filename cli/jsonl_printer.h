// --format jsonl: one JSON object per finished job, then one summary object; stdout is ours
// alone. Output bytes that are not UTF-8 are replaced (U+FFFD), so every line is valid JSON.
#pragma once

#include "cli/json_writer.h"
#include "cli/report.h"

namespace procpool {

class JsonlPrinter : public Printer {
 public:
  bool job(const Future& f) override;
  bool summary(const Summary& s) override;
};

// The record for one finished job without its output (stdout and stderr are streamed after).
JsonObject job_record(const Job& job, const Result& r);
// The summary's counts and wall time, added to `rec` (the summary line, the trace's otherData).
JsonObject& add_summary_counts(JsonObject& rec, const Summary& s);

}  // namespace procpool
