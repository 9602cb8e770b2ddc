// --junit FILE: a JUnit XML report (one <testsuite>, one <testcase> per job) for the test-report
// views of Jenkins, GitLab and GitHub Actions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

class JunitRecorder : public Recorder {
 public:
  // Creates `path` (UsageError when it cannot) and writes an empty report to it at once.
  // `suite` names the <testsuite>, `classname` goes on every <testcase>.
  JunitRecorder(std::string path, std::string suite, std::string classname);
  void job(const Future& f) override;
  void finish(const Summary& s) override;

 private:
  void append(std::string_view bytes);  // buffered; lands at end_
  void flush();                         // the buffer to the file, at end_
  void close_and_count(double time_s);  // the closing tags after end_, then the counts
  void write_at(std::string_view bytes, uint64_t offset);

  std::string path_;        // as given, for messages
  std::string classname_;   // escaped already
  Fd fd_;                   // the report
  uint64_t counts_at_ = 0;  // offset of the fixed-width slot holding the <testsuite> counts
  uint64_t end_ = 0;        // where the next testcase goes (the closing tags sit there now)
  std::string buf_;         // escaped text not yet written at end_
  uint64_t tests_ = 0, failures_ = 0, errors_ = 0, skipped_ = 0;  // so far
  Clock::time_point started_ = Clock::now();                      // for the time so far
};

}  // namespace procpool
