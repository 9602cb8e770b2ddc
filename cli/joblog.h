// --joblog FILE: GNU parallel's job log, so tools and habits built around `parallel --joblog`
// (awk over the Exitval column, sort by JobRuntime) work unchanged.
#pragma once

#include <string>

#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

class JoblogRecorder : public Recorder {
 public:
  // Creates (truncates) `path` and writes the header line; "+FILE" appends to FILE instead,
  // writing the header only when FILE is empty, as GNU parallel does. UsageError when the file
  // cannot be opened.
  explicit JoblogRecorder(const std::string& path);
  // One line per job that started, written with a single write(2) as it finishes.
  void job(const Future& f) override;
  void finish(const Summary&) override {}
  std::string label() const override { return "--joblog " + path_; }

 private:
  std::string path_;        // without the "+", for messages
  std::string local_host_;  // our host name: jobs run here are logged as ":", like GNU parallel
  Fd fd_;                   // the log
};

// The tab-separated line (with its newline) for one finished job; `local_host` is written as
// ":". Exposed for tests.
std::string joblog_line(const Job& job, const Result& r, const std::string& local_host);

}  // namespace procpool
