// GNU parallel's durations and its relative --timeout N%, side by side with GNU parallel itself
// (Debian's `parallel`) where it takes the same command line.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"
#include "tests/support/gnu_parallel.h"
#include "tests/support/jsonl_report.h"

namespace procpool::testing {
namespace {

// GNU parallel under /bin/sh, the shell procpool's workers use.
RunOutput gnu(std::vector<std::string> args) {
  args.insert(args.begin(), {"env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite"});
  return run_program(args);
}

RunOutput ours(std::vector<std::string> args) {
  args.insert(args.begin(), "map");
  return run_procpool(args);
}

TEST(GnuDurations, TimeoutTakesWhatGnuParallelTakes) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  for (const std::string form :
       {"1h2m3s", "1d", "1d3.5h16.6m4s", "3.5h", "1H", "90s", "1s2s", "30s1m", "1.5", "30"}) {
    RunOutput theirs = gnu({"--timeout", form, "true", ":::", "1"});
    RunOutput mine = ours({"--timeout", form, "true", ":::", "1"});
    EXPECT_EQ(theirs.exit_status, 0) << form << ": " << theirs.err;
    EXPECT_EQ(mine.exit_status, 0) << form << ": " << mine.err;
  }
  // Refused by both: a bare number after units (minutes or seconds?), spaces, words.
  for (const std::string form : {"1m30", "1h30", "5 s", "abc", "5min", "-1"}) {
    RunOutput theirs = gnu({"--timeout", form, "true", ":::", "1"});
    RunOutput mine = ours({"--timeout", form, "true", ":::", "1"});
    EXPECT_NE(theirs.exit_status, 0) << form;
    EXPECT_EQ(mine.exit_status, 2) << form << ": " << mine.err;
    EXPECT_NE(mine.err.find("--timeout " + form + ": expected"), std::string::npos) << mine.err;
  }
  // procpool's own milliseconds, which GNU parallel's --timeout refuses (its --delay reads
  // 200ms as 200 minutes times a second): kept, as procpool documented them first.
  EXPECT_NE(gnu({"--timeout", "200ms", "true", ":::", "1"}).exit_status, 0);
  EXPECT_EQ(ours({"--timeout", "200ms", "true", ":::", "1"}).exit_status, 0);
}

TEST(GnuDurations, APostfixTimeoutEndsTheJobAsGnuParallelDoes) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  RunOutput theirs = gnu({"--timeout", "0.5s", "sleep {}", ":::", "30"});
  RunOutput mine = ours({"--format", "jsonl", "--timeout", "0.5s", "sleep {}", ":::", "30"});
  EXPECT_EQ(theirs.exit_status, 1) << theirs.err;
  EXPECT_EQ(mine.exit_status, 1) << mine.err;
  Report report = parse_report(mine.out);
  ASSERT_EQ(report.jobs.count("30"), 1u) << mine.out;
  EXPECT_EQ(report.jobs["30"]["status"], "timeout");
}

// --timeout 0 is no limit in both (a script's --timeout "$T" with T=0), not a limit of nothing.
TEST(GnuDurations, TimeoutZeroIsNoLimit) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  RunOutput theirs = gnu({"--timeout", "0", "sleep 0.3; echo {}", ":::", "done"});
  EXPECT_EQ(theirs.exit_status, 0) << theirs.err;
  EXPECT_EQ(theirs.out, "done\n");
  // GNU parallel 20221122 is itself random with 0s and 0m (about half its runs time out);
  // procpool reads every spelling of zero alike.
  for (const std::string zero : {"0", "0s", "0m", "0h0m0s"}) {
    RunOutput mine = ours({"-q", "--timeout", zero, "sleep 0.3; echo {}", ":::", "done"});
    EXPECT_EQ(mine.exit_status, 0) << zero << ": " << mine.err;
    EXPECT_EQ(mine.out, "done\n") << zero;
  }
}

TEST(GnuDurations, EveryDurationFlagTakesThem) {
  RunOutput r = ours({"--dry-run", "--timeout", "1h2m3s", "--delay", "0m0s", "--retry-delay",
                      "1m1s", "--cpu-limit", "1d", "--worker-timeout", "1m30s", "--term-seq",
                      "TERM,1s500ms,KILL", "echo {}", ":::", "a"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "echo a\n");
  for (const std::string flag : {"--delay", "--retry-delay", "--cpu-limit", "--worker-timeout"}) {
    RunOutput bad = ours({"--dry-run", flag, "1m30", "echo {}", ":::", "a"});
    EXPECT_EQ(bad.exit_status, 2) << flag;
    EXPECT_NE(bad.err.find(flag + " 1m30: expected"), std::string::npos) << bad.err;
  }
  TempDir dir;
  std::string good = dir.write(
      "good.json",
      R"({"defaults": {"timeout": "1d"}, "jobs": [{"name": "a", "cmd": "true", "timeout": "1h2m3s"}]})");
  RunOutput file = run_procpool({"run", "--dry-run", good});
  EXPECT_EQ(file.exit_status, 0) << file.err;
  std::string bad = dir.write("bad.json", R"([{"name": "a", "cmd": "true", "timeout": "1m30"}])");
  RunOutput refused = run_procpool({"run", "--dry-run", bad});
  EXPECT_EQ(refused.exit_status, 2) << refused.err;
}

// --timeout N%: a job running longer than N% of the median run time of the jobs that succeeded
// so far ends `timeout`, as with a fixed one. 1000% leaves the quick jobs a wide margin on a
// busy machine; a `sleep 30` that ends at all before the test's own timeout ended by it.
TEST(RelativeTimeout, ALongJobAfterQuickOnesTimesOutAsInGnuParallel) {
  std::vector<std::string> args{"-j1",  "--timeout", "1000%", "sleep {}", ":::", "0.1",
                                "0.11", "0.12",      "0.13",  "0.14",     "30"};
  std::vector<std::string> jsonl = args;
  jsonl.insert(jsonl.begin(), {"--format", "jsonl"});
  RunOutput mine = ours(jsonl);
  EXPECT_EQ(mine.exit_status, 1) << mine.err;
  Report report = parse_report(mine.out);
  for (const std::string quick : {"0.1", "0.11", "0.12", "0.13", "0.14"}) {
    EXPECT_EQ(report.jobs[quick]["status"], "ok") << quick << ": " << mine.out;
  }
  EXPECT_EQ(report.jobs["30"]["status"], "timeout") << mine.out;
  EXPECT_NE(report.jobs["30"].value("error", "").find("1000% of the median run time"),
            std::string::npos)
      << mine.out;
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  RunOutput theirs = gnu(args);
  EXPECT_EQ(theirs.exit_status, 1) << theirs.err;  // one job failed: the one it killed
  EXPECT_NE(theirs.err.find("timed out"), std::string::npos) << theirs.err;
}

// The median is the one of now: a job that started before any job succeeded is judged as soon
// as one has.
TEST(RelativeTimeout, AppliesToJobsAlreadyRunning) {
  RunOutput r = ours({"--format", "jsonl", "-j2", "--timeout", "1000%", "sleep {}", ":::", "30",
                      "0.1", "0.11", "0.12"});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report report = parse_report(r.out);
  EXPECT_EQ(report.jobs["30"]["status"], "timeout") << r.out;
  EXPECT_EQ(report.summary["ok"], 3) << r.out;
}

// No job has succeeded: no median, no limit (failures' run times do not count, as in GNU).
TEST(RelativeTimeout, NoLimitBeforeAJobSucceeds) {
  RunOutput r = ours({"--format", "jsonl", "-j1", "--timeout", "200%", "sh -c {}", ":::", "false",
                      "exit 3", "sleep 0.5"});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report report = parse_report(r.out);
  EXPECT_EQ(report.jobs["false"]["status"], "failed") << r.out;
  EXPECT_EQ(report.jobs["exit 3"]["status"], "failed") << r.out;
  EXPECT_EQ(report.jobs["sleep 0.5"]["status"], "ok") << r.out;
}

// A job's own "timeout" wins over the --timeout default, a relative one too.
TEST(RelativeTimeout, AJobsOwnTimeoutWins) {
  TempDir dir;
  std::string file = dir.write("jobs.json", R"([
    {"name": "q1", "cmd": "sleep 0.05"},
    {"name": "q2", "cmd": "sleep 0.05"},
    {"name": "q3", "cmd": "sleep 0.05"},
    {"name": "own", "cmd": "sleep 1.5", "timeout": "1m"},
    {"name": "default", "cmd": "sleep 30"}
  ])");
  RunOutput r = run_procpool({"run", "--format", "jsonl", "-j1", "--timeout", "1000%", file});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report report = parse_report(r.out);
  EXPECT_EQ(report.jobs["own"]["status"], "ok") << r.out;
  EXPECT_EQ(report.jobs["default"]["status"], "timeout") << r.out;
}

TEST(RelativeTimeout, RetriedLikeAnyTimeout) {
  RunOutput r = ours({"--format", "jsonl", "-j1", "--retries", "1", "--timeout", "1000%",
                      "sleep {}", ":::", "0.1", "30"});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report report = parse_report(r.out);
  EXPECT_EQ(report.jobs["30"]["status"], "timeout") << r.out;
  EXPECT_EQ(report.jobs["30"]["attempts"], 2) << r.out;
}

TEST(RelativeTimeout, PercentagesMustBeAboveZero) {
  for (const std::string form : {"0%", "%", "-5%", "abc%", "5%%"}) {
    RunOutput r = ours({"--dry-run", "--timeout", form, "true", ":::", "1"});
    EXPECT_EQ(r.exit_status, 2) << form;
    EXPECT_NE(r.err.find("--timeout " + form + ": expected"), std::string::npos) << r.err;
  }
  EXPECT_EQ(ours({"--dry-run", "--timeout", "2.5%", "true", ":::", "1"}).exit_status, 0);
}

}  // namespace
}  // namespace procpool::testing
