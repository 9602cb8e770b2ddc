// Failure-handling torture tests: procpool run against jobs that misbehave (ignore SIGTERM, leave
// grandchildren holding the pipes, flood output), against users who interrupt it (SIGINT twice,
// SIGTERM, SIGHUP, a reader that leaves), and against processes that die under it (a worker, or
// procpool itself, by SIGKILL). Every case checks the outcome, the exit status, the output, and
// that no process of the run is left behind.
//
// How "nothing is left" is checked: the test process is a child subreaper for each test
// (ScopedSubreaper), so whatever procpool or its workers leave behind is re-parented to the test
// instead of to PID 1 (which never reaps on this machine). After procpool has been waited for,
// (1) every pid the jobs wrote down must not be alive (a zombie is reported on stderr as a note,
// since the worker, a subreaper itself, should have reaped it), and (2) the test must have no
// children at all: a leftover of any kind, live or zombie, fails the test.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/job_dir_test.h"
#include "tests/support/jsonl_report.h"
#include "tests/support/process_checks.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Upper bound for runs whose jobs would otherwise sleep for 1000 s: proves "did not hang", with
// room for a loaded 2-core machine. Not a performance assertion.
constexpr auto kNoHang = 20s;

// True while `pid` runs; a zombie counts as not alive (it runs no code and holds no pipe).
bool alive(pid_t pid) {
  std::string stat = proc_stat(pid);
  return !stat.empty() && !stat.ends_with(" Z");
}

// Pids written as whitespace-separated numbers in `path`.
std::vector<pid_t> read_pids(const std::string& path) {
  std::istringstream in(slurp(path));
  std::vector<pid_t> pids;
  long pid;
  while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

class TortureTest : public JobDirTest {
 protected:
  // Waits for a pid file a job writes when it is running; fails the test when it never comes.
  std::vector<pid_t> wait_for_pids(const std::string& pidfile) {
    std::string p = path(pidfile);
    EXPECT_TRUE(wait_for_file(p, kNoHang)) << "the job never wrote " << p;
    auto pids = read_pids(p);
    pids_to_check_.insert(pids_to_check_.end(), pids.begin(), pids.end());
    return pids;
  }

  // Runs procpool in the foreground (bounded) and returns how it ended.
  BackgroundResult run(const std::vector<std::string>& args, Background::Options options = {}) {
    Background bg = Background::procpool(args, options);
    return bg.wait(kNoHang);
  }

  // The checks every case ends with, after procpool has exited: no pid a job wrote is alive,
  // and nothing at all was left to the test (live or zombie).
  void expect_nothing_left() {
    for (pid_t pid : pids_to_check_) {
      // A process killed a moment ago may need a few ms to be gone.
      EXPECT_TRUE(eventually([&] { return !alive(pid); }, 5s))
          << "job process " << pid << " (" << proc_stat(pid) << ") is still alive";
      std::string stat = proc_stat(pid);
      if (stat.ends_with(" Z")) {
        std::cerr << "[torture note] job process " << pid << " (" << stat
                  << ") was left as a zombie: nobody reaped it\n";
        ::testing::Test::RecordProperty("zombie_left", std::to_string(pid) + " " + stat);
      }
    }
    auto left = reaper_.leftovers();
    std::string listing;
    for (const auto& l : left) listing += "\n  " + l;
    EXPECT_TRUE(left.empty()) << "processes left behind by the run:" << listing;
  }

  void TearDown() override { expect_nothing_left(); }

  ScopedSubreaper reaper_;
  std::vector<pid_t> pids_to_check_;  // every pid a job wrote down
};

using TortureTimeout = TortureTest;
using TortureOutput = TortureTest;
using TortureSignals = TortureTest;
using TortureWorkerDeath = TortureTest;
using TortureHalt = TortureTest;
using TortureRetry = TortureTest;
using TorturePipe = TortureTest;
using TortureIsolation = TortureTest;
using TortureLimits = TortureTest;
using TortureUsage = TortureTest;
using TortureCoordinatorDeath = TortureTest;

// 1. A job that ignores SIGTERM is ended by the KILL step of the term sequence.
TEST_F(TortureTimeout, JobIgnoringSigtermIsKilledByTheKillStep) {
  std::string file = job_file(
      json::array({{{"name", "stubborn"},
                    {"cmd", {helper("ignore_term"), path("stubborn.pid"), path("stubborn.term")}},
                    {"timeout", "500ms"}}}));
  Background bg = Background::procpool({"run", "--format", "jsonl", file});
  wait_for_pids("stubborn.pid");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_LT(r.elapsed, kNoHang);
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  ASSERT_TRUE(rep.jobs.count("stubborn")) << r.out;
  const json& job = rep.jobs["stubborn"];
  EXPECT_EQ(job["status"], "timeout") << job.dump();
  EXPECT_EQ(job["signal"], "SIGKILL") << job.dump();
  EXPECT_EQ(job["stdout"], "ignoring SIGTERM\n");
  // The TERM step did happen (and was ignored) before KILL.
  EXPECT_TRUE(file_exists(path("stubborn.term")));
  EXPECT_EQ(rep.summary["timeout"], 1);
}

// 2. Timing out a job also ends the grandchild it started (the whole process group is signalled).
TEST_F(TortureTimeout, TimeoutEndsTheGrandchildToo) {
  std::string file =
      job_file(json::array({{{"name", "family"},
                             {"cmd", {helper("spawn_grandchild"), path("family.pids"), "wait"}},
                             {"timeout", "500ms"}}}));
  Background bg = Background::procpool({"run", "--format", "jsonl", file});
  auto pids = wait_for_pids("family.pids");
  ASSERT_EQ(pids.size(), 2u);
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["family"]["status"], "timeout") << r.out;
  EXPECT_NE(rep.jobs["family"]["stdout"].get<std::string>().find("grandchild"), std::string::npos);
  EXPECT_FALSE(alive(pids[1])) << "grandchild " << pids[1] << ": " << proc_stat(pids[1]);
}

// 3. The job's main process exits while a grandchild keeps its stdout open: the job is reported
// ok promptly (after the short pipe grace), and the grandchild is ended.
TEST_F(TortureTimeout, GrandchildHoldingThePipeDoesNotHoldTheJob) {
  std::string file = job_file(json::array(
      {{{"name", "holder"}, {"cmd", {helper("spawn_grandchild"), path("holder.pids"), "exit"}}},
       {{"name", "after"}, {"cmd", "echo after"}}}));
  auto r = run({"run", "-j", "1", "--format", "jsonl", file});
  auto pids = wait_for_pids("holder.pids");

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_LT(r.elapsed, 10s);  // the grandchild would sleep for good
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  const json& job = rep.jobs["holder"];
  EXPECT_EQ(job["status"], "ok") << job.dump();
  EXPECT_EQ(job["exit_code"], 0);
  std::string out = job["stdout"];
  EXPECT_NE(out.find("grandchild"), std::string::npos) << out;
  EXPECT_NE(out.find("parent"), std::string::npos) << out;
  EXPECT_EQ(rep.jobs["after"]["status"], "ok");
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_FALSE(alive(pids[1])) << "grandchild " << pids[1] << ": " << proc_stat(pids[1]);
}

// 3b. Same, but the grandchild left the job's process group and session (setsid), so no group
// signal reaches it: the worker, as subreaper, must still find and end it.
TEST_F(TortureTimeout, GrandchildThatEscapedTheGroupIsEndedToo) {
  std::string file = job_file(
      json::array({{{"name", "daemon"},
                    {"cmd", {helper("spawn_grandchild"), path("daemon.pids"), "setsid"}}}}));
  auto r = run({"run", "--format", "jsonl", file});
  auto pids = wait_for_pids("daemon.pids");

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["daemon"]["status"], "ok") << r.out;
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_FALSE(alive(pids[1])) << "escaped grandchild " << pids[1] << ": " << proc_stat(pids[1]);
}

// 4. 200 MiB from one job, text mode, stdout to a file: every byte arrives, memory stays bounded.
TEST_F(TortureOutput, TwoHundredMebibytesWithBoundedMemory) {
  constexpr uint64_t kBytes = 200ull << 20;
  std::string file = job_file(
      json::array({{{"name", "flood"}, {"cmd", {helper("flood"), std::to_string(kBytes)}}}}));
  std::string out_path = path("flood.out");
  Background bg = Background::procpool({"run", file}, {.stdout_path = out_path});
  auto r = bg.wait(60s);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(std::filesystem::file_size(out_path), kBytes);
  // Peak memory: wait4 on procpool returns its rusage with RUSAGE_BOTH semantics, so ru_maxrss
  // is the largest peak RSS of procpool itself and of every descendant it (or its workers)
  // reaped: the workers and the flood job. That bounds the coordinator and the workers at
  // once, and unlike getrusage(RUSAGE_CHILDREN) in the test process it is not polluted by the
  // other tests' children. No /usr/bin/time needed.
#ifndef PROCPOOL_SANITIZED
  EXPECT_LT(r.max_rss_kb, 64 * 1024) << "peak RSS of procpool and its descendants, KiB";
#endif
  RecordProperty("max_rss_kb", std::to_string(r.max_rss_kb));
  EXPECT_NE(r.err.find("[ok] flood"), std::string::npos) << r.err;
}

// 5. Every byte value survives text mode untouched (no UTF-8 assumptions, no newline games).
TEST_F(TortureOutput, BinaryOutputIsByteExact) {
  constexpr size_t kBytes = 256 * 4099 + 17;  // not a multiple of anything convenient
  std::string file = job_file(json::array(
      {{{"name", "binary"}, {"cmd", {helper("flood"), std::to_string(kBytes), "--all-bytes"}}}}));
  std::string out_path = path("binary.out");
  Background bg = Background::procpool({"run", file}, {.stdout_path = out_path});
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  std::string expected(kBytes, '\0');
  for (size_t i = 0; i < kBytes; ++i) expected[i] = static_cast<char>(i & 0xff);
  std::string got = slurp(out_path);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "first difference at byte "
                               << std::mismatch(got.begin(), got.end(), expected.begin()).first -
                                      got.begin();
}

// 6. SIGINT / SIGTERM mid-batch: running jobs are stopped and reported cancelled, pending ones
// are cancelled without starting, finished ones are still reported.
class TortureInterrupt : public TortureTest {
 protected:
  void interrupt_mid_batch(int signo, int expected_exit) {
    std::string file = job_file(json::array({
        {{"name", "quick"}, {"cmd", "echo quick"}},
        {{"name", "long1"}, {"cmd", pid_then("long1.pid")}},
        {{"name", "long2"}, {"cmd", pid_then("long2.pid")}},
        {{"name", "never"}, {"cmd", "touch " + path("never")}},
    }));
    Background bg = Background::procpool({"run", "-j", "2", "--format", "jsonl", file});
    // With two workers, long2 starts only after quick has finished; once long1 and long2 run,
    // never is still pending.
    wait_for_pids("long1.pid");
    wait_for_pids("long2.pid");
    bg.signal(signo);
    auto r = bg.wait(kNoHang);

    ASSERT_FALSE(r.hung) << r.err;
    EXPECT_EQ(r.exit_status, expected_exit) << r.err;
    Report rep = parse_report(r.out);
    ASSERT_EQ(rep.jobs.size(), 4u) << r.out;
    EXPECT_EQ(rep.jobs["quick"]["status"], "ok");
    EXPECT_EQ(rep.jobs["quick"]["stdout"], "quick\n");
    for (const char* name : {"long1", "long2"}) {
      const json& job = rep.jobs[name];
      EXPECT_EQ(job["status"], "cancelled") << job.dump();
      EXPECT_EQ(job["attempts"], 1) << job.dump();
    }
    EXPECT_EQ(rep.jobs["never"]["status"], "cancelled");
    EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
    EXPECT_FALSE(file_exists(path("never"))) << "a pending job was started after the signal";
    EXPECT_EQ(rep.summary["cancelled"], 3) << rep.summary.dump();
    EXPECT_EQ(rep.summary["ok"], 1) << rep.summary.dump();
  }
};

using TortureSignalsInterrupt = TortureInterrupt;

TEST_F(TortureSignalsInterrupt, SigintCancelsRunningAndPendingJobs) {
  interrupt_mid_batch(SIGINT, 130);
}

TEST_F(TortureSignalsInterrupt, SigtermCancelsRunningAndPendingJobs) {
  interrupt_mid_batch(SIGTERM, 143);
}

// 6b. A second Ctrl-C kills at once, even when the term sequence would wait 30 s for a job that
// ignores SIGTERM.
TEST_F(TortureSignals, SecondSigintKillsAtOnce) {
  std::string file = job_file(json::array(
      {{{"name", "stubborn"},
        {"cmd", {helper("ignore_term"), path("stubborn.pid"), path("stubborn.term")}}}}));
  Background bg =
      Background::procpool({"run", "--term-seq", "TERM,30s,KILL", "--format", "jsonl", file});
  wait_for_pids("stubborn.pid");
  bg.signal(SIGINT);
  // The first stop step has been taken (the job got its TERM and ignored it): a second SIGINT
  // now cannot merge with the first one.
  ASSERT_TRUE(wait_for_file(path("stubborn.term"), kNoHang)) << bg.stderr_so_far();
  bg.signal(SIGINT);
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << "the second SIGINT did not end the run:\n" << r.err;
  EXPECT_LT(r.elapsed, 15s);  // the term sequence alone would take 30 s
  EXPECT_EQ(r.exit_status, 130) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["stubborn"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["stubborn"]["signal"], "SIGKILL") << r.out;
}

// 6b'. A stop ends the batch even while a pipe that is still open says nothing: it is read no
// further (a pipe may never end), so neither a signal nor a halt waits for its next line.
TEST_F(TortureSignals, SigintWhileAnOpenPipeIsSilentEndsTheBatch) {
  Background bg = Background::procpool(
      {"map", "--format", "jsonl", "echo > " + path("{}.started") + "; sleep 60"},
      {.stdout_path = "", .keep_stdin_open = true});
  bg.write_stdin("a\n");
  ASSERT_TRUE(wait_for_file(path("a.started"), kNoHang)) << bg.stderr_so_far();
  bg.signal(SIGINT);
  auto r = bg.wait(kNoHang);
  ASSERT_FALSE(r.hung) << "waited for input that never came:\n" << r.err;
  EXPECT_EQ(r.exit_status, 130) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.summary["total"], 1) << r.out;
  EXPECT_EQ(rep.summary["cancelled"], 1) << r.out;
}

// 6c. SIGHUP: nothing new starts, the running job finishes normally.
TEST_F(TortureSignals, SighupLetsRunningJobFinishAndStartsNothingNew) {
  std::string file = job_file(json::array({
      {{"name", "running"},
       {"cmd", pid_then("running.pid",
                        "while [ ! -e " + path("go") + " ]; do sleep 0.02; done; echo finished")}},
      {{"name", "never"}, {"cmd", "touch " + path("never")}},
  }));
  Background bg = Background::procpool({"run", "-j", "1", "--format", "jsonl", file});
  wait_for_pids("running.pid");
  bg.signal(SIGHUP);
  ASSERT_TRUE(bg.wait_for_stderr("SIGHUP", kNoHang)) << bg.stderr_so_far();
  dir_.write("go", "go");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["running"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["running"]["stdout"], "finished\n");
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << r.out;
  EXPECT_FALSE(file_exists(path("never")));
  EXPECT_EQ(r.exit_status, 1) << "a cancelled job is not ok\n" << r.err;
}

// 7. kill -9 of the worker that runs a job ($PPID of the job's shell).
TEST_F(TortureWorkerDeath, WithoutRetriesTheJobCrashesAndTheRestRuns) {
  std::string file = job_file(json::array({
      {{"name", "victim"},
       {"cmd", "echo $PPID > " + path("worker.pid") + "; " + pid_then("victim.pid")}},
      {{"name", "after"}, {"cmd", "echo after"}},
  }));
  Background bg = Background::procpool({"run", "-j", "1", "--format", "jsonl", file});
  pid_t job = wait_for_pids("victim.pid").at(0);
  pid_t worker = read_pid(path("worker.pid"));
  ASSERT_GT(worker, 1);
  ASSERT_NE(worker, bg.pid());
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  const json& victim = rep.jobs["victim"];
  EXPECT_EQ(victim["status"], "crashed") << victim.dump();
  EXPECT_NE(victim.value("error", "").find("worker"), std::string::npos) << victim.dump();
  EXPECT_EQ(rep.jobs["after"]["status"], "ok") << "the pool replaces a lost worker\n" << r.out;
  EXPECT_FALSE(alive(job)) << proc_stat(job);
}

TEST_F(TortureWorkerDeath, WithRetriesTheJobRunsAgainAndPasses) {
  // First attempt: records its worker and sleeps; second attempt (marker present): passes.
  std::string marker = path("first-attempt-done");
  std::string file = job_file(json::array({
      {{"name", "victim"},
       {"cmd", "if [ -e " + marker + " ]; then echo second; exit 0; fi; touch " + marker +
                   "; echo $PPID > " + path("worker.pid") + "; " + pid_then("victim.pid")}},
  }));
  Background bg =
      Background::procpool({"run", "-j", "1", "--retries", "1", "--format", "jsonl", file});
  pid_t job = wait_for_pids("victim.pid").at(0);
  pid_t worker = read_pid(path("worker.pid"));
  ASSERT_GT(worker, 1);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  const json& victim = rep.jobs["victim"];
  EXPECT_EQ(victim["status"], "ok") << victim.dump();
  EXPECT_EQ(victim["attempts"], 2) << victim.dump();
  EXPECT_EQ(victim["flaky"], true) << victim.dump();
  EXPECT_EQ(victim["stdout"], "second\n") << victim.dump();
  EXPECT_FALSE(alive(job)) << proc_stat(job);
}

// 8. --halt. Job "running" runs until told; "failing" fails once "running" has started; "never"
// waits for a free worker (-j 2) and must never start once the halt condition is met.
class TortureHaltTest : public TortureTest {
 protected:
  std::string halt_jobs(int failing_exit, const std::string& running_then) {
    return job_file(json::array({
        {{"name", "running"}, {"cmd", pid_then("running.pid", running_then)}},
        {{"name", "failing"},
         {"cmd", "while [ ! -s " + path("running.pid") + " ]; do sleep 0.01; done; exit " +
                     std::to_string(failing_exit)}},
        {{"name", "never"}, {"cmd", "touch " + path("never")}},
    }));
  }
};

using TortureHaltPolicy = TortureHaltTest;

// The halt is decided on the pool's thread just after the failed job's future completes, so the
// front end may have handled that job already and be waiting on a silent pipe: the decision
// itself must wake it. Repeated, since the window is small (1 run in 8 hung under load).
TEST_F(TortureHaltPolicy, HaltWhileAnOpenPipeIsSilentEndsTheBatch) {
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Background bg =
        Background::procpool({"run", "--lines", "--halt", "now,fail=1", "--format", "jsonl", "-"},
                             {.stdout_path = "", .keep_stdin_open = true});
    bg.write_stdin("exit 3\n");
    auto r = bg.wait(kNoHang);
    ASSERT_FALSE(r.hung) << "waited for input that never came:\n" << r.err;
    EXPECT_EQ(r.exit_status, 1) << r.err;
    Report rep = parse_report(r.out);
    EXPECT_EQ(rep.jobs["exit 3"]["status"], "failed") << r.out;
  }
}

TEST_F(TortureHaltPolicy, NowStopsRunningJobsAtOnce) {
  std::string file = halt_jobs(3, "exec sleep 1000");
  Background bg =
      Background::procpool({"run", "-j", "2", "--halt", "now,fail=1", "--format", "jsonl", file});
  wait_for_pids("running.pid");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["failing"]["status"], "failed") << r.out;
  EXPECT_EQ(rep.jobs["running"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
  EXPECT_FALSE(file_exists(path("never"))) << "a job was started after the halt condition";
  EXPECT_NE(r.err.find("halting"), std::string::npos) << r.err;
}

TEST_F(TortureHaltPolicy, FailFastIsHaltNowFailOne) {
  std::string file = halt_jobs(3, "exec sleep 1000");
  Background bg =
      Background::procpool({"run", "-j", "2", "--fail-fast", "--format", "jsonl", file});
  wait_for_pids("running.pid");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["failing"]["status"], "failed") << r.out;
  EXPECT_EQ(rep.jobs["running"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
  EXPECT_FALSE(file_exists(path("never"))) << "a job was started after the halt condition";
}

TEST_F(TortureHaltPolicy, SoonLetsTheRunningJobFinish) {
  std::string go = path("go");
  std::string file =
      halt_jobs(3, "while [ ! -e " + go + " ]; do sleep 0.02; done; echo running finished");
  Background bg =
      Background::procpool({"run", "-j", "2", "--halt", "soon,fail=1", "--format", "jsonl", file});
  wait_for_pids("running.pid");
  // The halt has been decided while "running" still runs; only then may it finish.
  ASSERT_TRUE(bg.wait_for_stderr("halting", kNoHang)) << bg.stderr_so_far();
  dir_.write("go", "go");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["failing"]["status"], "failed") << r.out;
  EXPECT_EQ(rep.jobs["running"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["running"]["stdout"], "running finished\n");
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
  EXPECT_FALSE(file_exists(path("never"))) << "a job was started after the halt condition";
}

TEST_F(TortureHaltPolicy, NowOnSuccessExitsZero) {
  std::string file = halt_jobs(0, "exec sleep 1000");
  Background bg = Background::procpool(
      {"run", "-j", "2", "--halt", "now,success=1", "--format", "jsonl", file});
  wait_for_pids("running.pid");
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["failing"]["status"], "ok") << r.out;  // it exits 0 here
  EXPECT_EQ(rep.jobs["running"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << r.out;
  EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
  EXPECT_FALSE(file_exists(path("never"))) << "a job was started after the halt condition";
}

// 9. Retries.
TEST_F(TortureRetry, FailsTwiceThenPassesIsFlaky) {
  std::string counter = path("counter");
  std::string file = job_file(json::array(
      {{{"name", "flaky"},
        {"cmd", "n=$(cat " + counter + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + counter +
                    "; echo attempt $n; [ $n -ge 3 ]"}}}));
  auto r = run({"run", "--retries", "2", "--format", "jsonl", file});

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  const json& job = rep.jobs["flaky"];
  EXPECT_EQ(job["status"], "ok") << job.dump();
  EXPECT_EQ(job["attempts"], 3) << job.dump();
  EXPECT_EQ(job["flaky"], true) << job.dump();
  EXPECT_EQ(job["stdout"], "attempt 3\n") << job.dump();
  EXPECT_EQ(slurp(counter), "3\n");
  EXPECT_EQ(rep.summary["flaky"], 1);
}

TEST_F(TortureRetry, RetryOnTimeoutDoesNotRetryAPlainFailure) {
  std::string counter = path("counter");
  std::string file = job_file(
      json::array({{{"name", "fails"},
                    {"cmd", "n=$(cat " + counter + " 2>/dev/null || echo 0); echo $((n+1)) > " +
                                counter + "; exit 4"}}}));
  auto r = run({"run", "--retries", "3", "--retry-on", "timeout", "--format", "jsonl", file});

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["fails"]["status"], "failed") << r.out;
  EXPECT_EQ(rep.jobs["fails"]["attempts"], 1) << r.out;
  EXPECT_EQ(rep.jobs["fails"]["exit_code"], 4) << r.out;
  EXPECT_EQ(slurp(counter), "1\n");
}

TEST_F(TortureRetry, RetryOnTimeoutRetriesATimeout) {
  std::string marker = path("first-attempt");
  std::string file = job_file(
      json::array({{{"name", "slow-once"},
                    {"timeout", "500ms"},
                    {"cmd", "if [ -e " + marker + " ]; then echo quick; exit 0; fi; touch " +
                                marker + "; " + pid_then("slow.pid")}}}));
  auto r = run({"run", "--retries", "1", "--retry-on", "timeout", "--format", "jsonl", file});
  wait_for_pids("slow.pid");

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["slow-once"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["slow-once"]["attempts"], 2) << r.out;
  EXPECT_EQ(rep.jobs["slow-once"]["stdout"], "quick\n") << r.out;
}

// 10. `procpool run FILE | head -1`: the reader leaves; procpool exits 141 quietly and stops the
// job still running.
TEST_F(TorturePipe, ReaderLeavingStopsTheRunQuietly) {
  std::string file = job_file(json::array({
      {{"name", "long"}, {"cmd", pid_then("long.pid")}},
      // Much more than a pipe holds, printed once "long" is surely running.
      {{"name", "lines"},
       {"cmd", "while [ ! -s " + path("long.pid") + " ]; do sleep 0.01; done; seq 1 200000"}},
  }));
  // bash: PIPESTATUS says how procpool itself ended.
  Background bg({"/bin/bash", "-c",
                 "\"$0\" run -j 2 \"$1\" | head -1; echo \"procpool=${PIPESTATUS[0]}\"",
                 procpool_bin(), file});
  auto r = bg.wait(kNoHang);
  wait_for_pids("long.pid");

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "1\nprocpool=141\n") << r.err;
  // Nothing but job headers on stderr: no EPIPE error, no broken-pipe noise.
  for (const auto& line : lines(r.err)) {
    EXPECT_TRUE(line.starts_with("[")) << "unexpected stderr line: " << line;
  }
  EXPECT_NE(r.err.find("[ok] lines"), std::string::npos) << r.err;
}

// 11. A job that reads stdin gets EOF at once, even while procpool's own stdin stays open.
TEST_F(TortureIsolation, JobsReadingStdinGetEof) {
  std::string file = job_file(json::array({
      {{"name", "cat"}, {"cmd", {"cat"}}},
      {{"name", "read"}, {"cmd", "if read line; then echo got \"$line\"; else echo eof; fi"}},
  }));
  Background bg = Background::procpool({"run", "--format", "jsonl", file},
                                       {.stdout_path = "", .keep_stdin_open = true});
  auto r = bg.wait(kNoHang);

  ASSERT_FALSE(r.hung) << "a job waited on stdin:\n" << r.err;
  EXPECT_LT(r.elapsed, 10s);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["cat"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["cat"]["stdout"], "");
  EXPECT_EQ(rep.jobs["read"]["stdout"], "eof\n");
}

// 12. A job sees exactly descriptors 0, 1 and 2: on the posix_spawn path and on the fork path
// (taken when a limit such as --nice is set), for argv and shell jobs.
class TortureFds : public TortureTest {
 protected:
  // Runs the fd-listing jobs through exec_clean_fds (procpool starts with exactly 0, 1, 2, plus
  // `leak` as an inherited descriptor without close-on-exec when it is not empty), on both spawn
  // paths, and checks that every job saw exactly 0, 1 and 2.
  void expect_only_standard_fds(const std::vector<std::string>& leak) {
    std::string file = job_file(json::array({
        {{"name", "argv"}, {"cmd", {helper("list_fds")}}},
        {{"name", "shell"}, {"cmd", helper("list_fds") + "; true"}},
    }));
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{}, std::vector<std::string>{"--nice", "1"}}) {
      std::vector<std::string> argv{helper("exec_clean_fds")};
      argv.insert(argv.end(), leak.begin(), leak.end());
      argv.insert(argv.end(), {procpool_bin(), "run", "--format", "jsonl"});
      argv.insert(argv.end(), extra.begin(), extra.end());
      argv.push_back(file);
      Background bg(argv);
      auto r = bg.wait(kNoHang);
      std::string how = extra.empty() ? "posix_spawn path" : "fork path (--nice 1)";

      ASSERT_FALSE(r.hung) << r.err;
      EXPECT_EQ(r.exit_status, 0) << how << "\n" << r.err;
      Report rep = parse_report(r.out);
      EXPECT_EQ(rep.jobs["argv"]["stdout"], "0 1 2\n") << how;
      EXPECT_EQ(rep.jobs["shell"]["stdout"], "0 1 2\n") << how;
    }
  }
};

using TortureIsolationFds = TortureFds;

TEST_F(TortureIsolationFds, JobSeesOnlyStandardDescriptors) {
  expect_only_standard_fds({});
}

// DESIGN.md: "a job sees exactly fds 0, 1, 2", even when whoever started procpool leaked a
// descriptor into it.
TEST_F(TortureIsolationFds, JobDoesNotSeeADescriptorProcpoolInherited) {
  expect_only_standard_fds({"--leak", "9"});
}

// 13. Resource limits end or fail a job, and the report names the limit.
TEST_F(TortureLimits, CpuLimitIsNamed) {
  std::string file = job_file(json::array({{{"name", "spin"}, {"cmd", "while :; do :; done"}}}));
  auto r = run({"run", "--cpu-limit", "1s", "--timeout", "15s", "--format", "jsonl", file});

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  const json& job = rep.jobs["spin"];
  EXPECT_EQ(job["status"], "crashed") << job.dump();
  EXPECT_TRUE(job["signal"] == "SIGXCPU" || job["signal"] == "SIGKILL") << job.dump();
  EXPECT_NE(job.value("error", "").find("CPU time limit"), std::string::npos) << job.dump();
}

TEST_F(TortureLimits, MemoryLimitIsNamed) {
  std::string file = job_file(json::array({{{"name", "hog"}, {"cmd", {helper("alloc"), "512"}}}}));
  auto r = run({"run", "--mem-limit", "64M", "--format", "jsonl", file});

  ASSERT_FALSE(r.hung) << r.err;
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  const json& job = rep.jobs["hog"];
  EXPECT_NE(job["status"], "ok") << job.dump();
  EXPECT_EQ(job["stdout"], "") << "the 512 MiB allocation succeeded under a 64M limit";
  EXPECT_NE(job.value("error", "").find("memory limit"), std::string::npos) << job.dump();
}

// 14. Bad flag values: exit 2, the flag is named, nothing ran.
TEST_F(TortureUsage, BadFlagValuesExitTwoAndRunNothing) {
  std::string touched = path("touched");
  std::string file = job_file(json::array({{{"name", "t"}, {"cmd", "touch " + touched}}}));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-j", "-1.5"},           {"-j", "abc"},
      {"--timeout", "-1"},      {"--halt", "sometimes"},
      {"--term-seq", "TERM,x"}, {"--retry-on", "nope"},
      {"--mem-limit", "12Q"},
  };
  for (const auto& [flag, value] : cases) {
    auto r = run({"run", flag, value, file});
    ASSERT_FALSE(r.hung) << flag << " " << value;
    EXPECT_EQ(r.exit_status, 2) << flag << " " << value << "\n" << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << flag << " " << value << "\n" << r.err;
    EXPECT_NE(r.err.find(value), std::string::npos) << flag << " " << value << "\n" << r.err;
    EXPECT_EQ(r.out, "") << flag << " " << value;
    EXPECT_FALSE(file_exists(touched)) << "a job ran despite " << flag << " " << value;
  }
}

// 15. procpool itself is SIGKILLed mid-job: its workers see EOF on their stdin and end their jobs
// (a polite one and one that ignores SIGTERM) within a bounded time.
TEST_F(TortureCoordinatorDeath, WorkersEndTheirJobsWhenProcpoolIsKilled) {
  std::string file = job_file(json::array({
      {{"name", "polite"}, {"cmd", pid_then("polite.pid")}},
      {{"name", "stubborn"}, {"cmd", {helper("ignore_term"), path("stubborn.pid")}}},
  }));
  Background bg = Background::procpool({"run", "-j", "2", "--format", "jsonl", file});
  pid_t polite = wait_for_pids("polite.pid").at(0);
  pid_t stubborn = wait_for_pids("stubborn.pid").at(0);
  bg.signal(SIGKILL);
  auto r = bg.wait(kNoHang);
  EXPECT_EQ(r.exit_status, 128 + SIGKILL);

  EXPECT_TRUE(eventually([&] { return !alive(polite); }, 10s)) << proc_stat(polite);
  EXPECT_TRUE(eventually([&] { return !alive(stubborn); }, 10s)) << proc_stat(stubborn);
  // The orphaned workers came to us (subreaper); once their jobs are gone they exit too.
  EXPECT_TRUE(eventually(
      [&] {
        for (pid_t kid : children_of_self()) {
          if (alive(kid)) return false;
        }
        return true;
      },
      10s))
      << "a worker outlived its coordinator";
  // Workers we inherited are zombies of ours now, not leftovers of the run: reap them here.
  for (pid_t kid : children_of_self()) ::waitpid(kid, nullptr, 0);
}

}  // namespace
}  // namespace procpool::testing
