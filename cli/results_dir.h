// --results DIR: every job's stdout, stderr and record in a folder of its own, byte for byte,
// for CI artifacts and for looking at one job's output without the others'.
#pragma once

#include <string>

#include "cli/report.h"

namespace procpool {

class ResultsDirRecorder : public Recorder {
 public:
  // Creates `dir` (and its parents) when missing; UsageError when it cannot, or when it is not
  // a directory we can write to.
  explicit ResultsDirRecorder(std::string dir);
  // Writes DIR/<folder>/stdout, stderr and meta.json (overwriting an earlier run's), except
  // for jobs skipped by --resume, whose folder from the run that succeeded is kept.
  void job(const Future& f) override;
  void finish(const Summary&) override {}

 private:
  std::string dir_;  // as given
};

// A job's folder name: its id, zero-padded to 4 digits so folders sort in input order, a dash,
// then its name made safe: bytes that are not letters, digits, one of "+,-.=@_" or part of a
// valid UTF-8 character (slashes, NUL, controls, spaces, quotes, ...) become "_" (runs of them
// one "_"), cut to at most 100 bytes on a character boundary. The id keeps names unique
// (duplicate map inputs, names equal once made safe) and the folder never `.`, `..` or empty.
std::string results_folder_name(uint64_t id, const std::string& name);

}  // namespace procpool
