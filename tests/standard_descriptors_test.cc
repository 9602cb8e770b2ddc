// procpool started with standard descriptors closed (cron, daemons, `exec >&-`): the first
// file it opens must not become its stdout or stderr, or jobs' output would land in it.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using namespace procpool::testing;

namespace {

struct Case {
  const char* closes;  // the shell redirections that close descriptors before exec
};

class StandardDescriptors : public ::testing::TestWithParam<Case> {};

TEST_P(StandardDescriptors, ClosedOnesNeverBecomeTheFilesProcpoolWrites) {
  TempDir dir;
  std::string jobs = dir.write("jobs.json", R"([
    {"name": "out", "cmd": "echo JOB-STDOUT"},
    {"name": "err", "cmd": "echo JOB-STDERR >&2"},
    {"name": "bad", "cmd": "echo JOB-FAILED; exit 3"}
  ])");
  std::string journal = dir.path() + "/journal.jsonl";
  std::string junit = dir.path() + "/junit.xml";
  std::string joblog = dir.path() + "/joblog.tsv";
  std::string script = std::string("exec ") + GetParam().closes + "; exec " + procpool_bin() +
                       " run --journal " + journal + " --junit " + junit + " --joblog " + joblog +
                       " " + jobs + "; echo unreachable";
  auto r = run_program({"/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_status, 1) << r.err;  // one job failed: 1, whatever was closed

  // The journal holds journal records and nothing a job printed.
  std::string text = slurp(journal);
  EXPECT_EQ(text.find("JOB-"), std::string::npos) << text;
  auto records = parse_json_lines(text);
  ASSERT_EQ(records.size(), 3u) << text;
  for (const auto& rec : records) EXPECT_TRUE(rec.contains("identity")) << rec.dump();
  // The job log: a header and one line per job, each with the header's columns (a job's
  // output line would have none of its tabs).
  auto log_lines = lines(slurp(joblog));
  ASSERT_EQ(log_lines.size(), 4u) << slurp(joblog);
  auto tabs = [](const std::string& line) { return std::count(line.begin(), line.end(), '\t'); };
  for (const auto& line : log_lines) EXPECT_EQ(tabs(line), tabs(log_lines[0])) << line;
  // JUnit stays one valid document (a job's output inside it is only in <system-out>).
  std::string xml = slurp(junit);
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml.substr(0, 200);
  auto check = run_program({"xmllint", "--noout", junit});
  EXPECT_EQ(check.exit_status, 0) << check.err;
}

INSTANTIATE_TEST_SUITE_P(Closed, StandardDescriptors,
                         ::testing::Values(Case{">&-"}, Case{"2>&-"}, Case{"<&- >&- 2>&-"},
                                           Case{">&- 2>&-"}),
                         [](const auto& info) {
                           switch (info.index) {
                             case 0:
                               return std::string("Stdout");
                             case 1:
                               return std::string("Stderr");
                             case 2:
                               return std::string("AllThree");
                             default:
                               return std::string("StdoutAndStderr");
                           }
                         });

}  // namespace
