// A test fixture for end-to-end cases that write a job file and let jobs leave marker files in
// a temporary directory of their own. Header-only, like the rest of tests/support.
#pragma once

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"

namespace procpool::testing {

class JobDirTest : public ::testing::Test {
 protected:
  // Path of `name` inside the test's temporary directory.
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  // Writes `jobs` as the job file (readable by anyone: some cases run as a spare uid); returns
  // its path.
  std::string job_file(const nlohmann::json& jobs) const {
    std::string p = dir_.write("jobs.json", jobs.dump());
    ::chmod(p.c_str(), 0644);
    return p;
  }

  // A shell job body that writes its own pid to `pidfile` (atomically, via rename), then runs
  // `then` (by default: sleeps for good, as the same process).
  std::string pid_then(const std::string& pidfile,
                       const std::string& then = "exec sleep 1000") const {
    std::string p = path(pidfile);
    return "echo $$ > " + p + ".tmp && mv " + p + ".tmp " + p + "; " + then;
  }

  TempDir dir_;
};

}  // namespace procpool::testing
