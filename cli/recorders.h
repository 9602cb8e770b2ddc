// The recorders one batch writes (--junit, --journal, --joblog, --results, --trace, --report),
// and what each could not write. A file's failure costs that file, never the batch: its first
// error is logged at once, later failures of the same file are only counted and summed up at
// the end, so a full disk is said once per file, not once per job; and failed() turns an
// exit status of 0 into 1, so CI never goes green on a broken artifact.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/report.h"

namespace procpool {

class Recorders {
 public:
  Recorders() = default;
  explicit Recorders(std::vector<std::unique_ptr<Recorder>> recorders);
  void job(const Future& f);      // each finished job, to every recorder
  void finish(const Summary& s);  // at the end; then the closing line of each failed file
  bool failed() const;            // some file could not be written completely
  bool empty() const { return files_.empty(); }

 private:
  struct File {
    std::unique_ptr<Recorder> recorder;
    uint64_t jobs = 0;     // offered
    uint64_t missing = 0;  // whose record could not be written
    bool failed = false;   // some write failed (a job's or the end's)
  };
  void failure(File& file, const std::exception& e);

  std::vector<File> files_;
};

}  // namespace procpool
