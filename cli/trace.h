// --trace FILE: the batch as a Chrome trace (the trace-event "JSON Object Format"), to open in
// Perfetto (ui.perfetto.dev) or chrome://tracing. One lane (thread) per worker, one complete
// event per job, placed by its wall-clock start relative to the batch start. Events are
// streamed to the file as jobs finish, so memory stays flat for any batch size.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "cli/report.h"
#include "cli/valid_file.h"

namespace procpool {

class TraceRecorder : public Recorder {
 public:
  // Opens `path` now (UsageError when it cannot be written); the batch starts at time 0.
  explicit TraceRecorder(std::string path);
  void job(const Future& f) override;
  void finish(const Summary& s) override;
  std::string label() const override { return "--trace " + path_; }

 private:
  // Appends one event to the traceEvents array, whole or not at all (throws when the file
  // cannot take it).
  void event(const std::string& json_text);
  // A lane's metadata events, the first time one of its jobs is written.
  void name_lane(int64_t tid, const std::function<void()>& write_metadata);

  std::string path_;               // as given, for messages
  ValidFile file_;                 // the trace being written
  int64_t origin_us_ = 0;          // wall clock of ts 0
  std::set<int64_t> named_lanes_;  // tids that have their thread_name metadata event already
  bool first_event_ = true;        // no comma before the first event
};

}  // namespace procpool
