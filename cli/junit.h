// --junit FILE: a JUnit XML report (one <testsuite>, one <testcase> per job) for the test-report
// views of Jenkins, GitLab and GitHub Actions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cli/report.h"
#include "cli/valid_file.h"
#include "common/fd.h"

namespace procpool {

class JunitRecorder : public Recorder {
 public:
  // Creates `path` (UsageError when it cannot) and writes an empty report to it at once.
  // `suite` names the <testsuite>, `classname` goes on every <testcase>.
  JunitRecorder(std::string path, std::string suite, std::string classname);
  void job(const Future& f) override;
  void finish(const Summary& s) override;
  std::string label() const override { return "--junit " + path_; }

 private:
  void write_testcase(const Job& job, const Result& r, const char* element);  // appended
  void append(std::string_view bytes);           // buffered, then written as part of the testcase
  void flush();                                  // the buffer to the file
  std::string counts_text(double time_s) const;  // the <testsuite> counts, padded to the slot
  void count(double time_s);                     // the counts so far, into their slot

  std::string path_;        // as given, for messages
  std::string classname_;   // escaped already
  ValidFile file_;          // the report, valid after every testcase
  uint64_t counts_at_ = 0;  // offset of the fixed-width slot holding the <testsuite> counts
  std::string buf_;         // escaped text of the testcase being written, not yet in the file
  uint64_t tests_ = 0, failures_ = 0, errors_ = 0, skipped_ = 0;  // in the file
  Clock::time_point started_ = Clock::now();                      // for the time so far
};

}  // namespace procpool
