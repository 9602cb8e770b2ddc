// The CI-facing recorders (--junit, --joblog, --journal with --resume, --results), made from the
// flags before anything runs.
#pragma once

#include <memory>
#include <vector>

#include "cli/journal.h"
#include "cli/report.h"
#include "cli/run_command.h"

namespace procpool {

// The batch's name in reports: the base name without extension of the job file (or --lines
// file) it came from ("jobs" for ci/jobs.json), else "procpool".
std::string batch_name(const RunOptions& o);

// Appends the recorders the flags ask for to `out`, their files already open; with --resume
// (or --resume-failed) sets `already_done` to the journal's predicate. Throws UsageError.
void add_ci_recorders(const RunOptions& o, std::vector<std::unique_ptr<Recorder>>& out,
                      AlreadyDone& already_done);

}  // namespace procpool
