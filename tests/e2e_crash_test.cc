// End-to-end tests of worker crash recovery: a worker is killed with SIGKILL while it runs a
// job. Only that job is affected (crashed, or rerun when it has retries left), the batch goes on,
// and nothing of the lost job survives the run.
#include <signal.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using json = nlohmann::json;
using namespace procpool::testing;

namespace {

// A job that records its worker ($PPID of the shell the worker spawned), its own process group
// (the shell leads it: $$) and its sleeping child, then blocks. Files are written under a
// temporary name and renamed, so whoever sees one sees all of it.
std::string blocking_cmd(const std::string& dir) {
  return "echo $$ > " + dir + "/pgid.tmp && mv " + dir + "/pgid.tmp " + dir + "/pgid; " +
         "sleep 30 & echo $! > " + dir + "/sleep.tmp && mv " + dir + "/sleep.tmp " + dir +
         "/sleep; " + "echo $PPID > " + dir + "/worker.tmp && mv " + dir + "/worker.tmp " + dir +
         "/worker; wait";
}

// The whole story of one run in which the test kills the worker of the blocking job.
struct CrashRun {
  RunOutput result;
  double seconds = 0;        // how long procpool ran
  pid_t killed_worker = -1;  // the worker the test killed
  pid_t job_pgid = -1;       // the blocked job's process group (first attempt)
  pid_t job_sleep = -1;      // its sleeping child
};

// Runs `procpool run args... jobs.json` in the background, waits for the blocking job to report
// its worker, checks that it is a procpool worker, and kills it with SIGKILL.
CrashRun run_and_kill_worker(const TempDir& dir, const json& jobs,
                             const std::vector<std::string>& flags) {
  CrashRun c;
  std::string file = dir.write("jobs.json", jobs.dump());
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(file);
  auto started = std::chrono::steady_clock::now();
  auto running = std::async(std::launch::async, [args] { return run_procpool(args); });

  std::string worker_file = dir.path() + "/worker";
  if (wait_for_file(worker_file)) {
    c.killed_worker = read_pid(worker_file);
    c.job_pgid = read_pid(dir.path() + "/pgid");
    c.job_sleep = read_pid(dir.path() + "/sleep");
    std::string cmdline = slurp("/proc/" + std::to_string(c.killed_worker) + "/cmdline");
    for (char& ch : cmdline) ch = ch == '\0' ? ' ' : ch;
    EXPECT_NE(cmdline.find("worker"), std::string::npos)
        << "pid " << c.killed_worker << " is not a procpool worker: " << cmdline;
    if (cmdline.find("worker") != std::string::npos) {
      EXPECT_EQ(::kill(c.killed_worker, SIGKILL), 0);
    }
  } else {
    ADD_FAILURE() << "the blocking job never wrote " << worker_file;
  }
  c.result = running.get();
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return c;
}

std::map<std::string, json> jobs_by_name(const std::string& out) {
  std::map<std::string, json> by_name;
  std::vector<json> records;
  EXPECT_NO_THROW(records = parse_json_lines(out)) << out;
  for (const auto& rec : records) {
    if (rec.value("type", "") == "job") by_name[rec.at("name").get<std::string>()] = rec;
    if (rec.value("type", "") == "summary") by_name["<summary>"] = rec;
  }
  return by_name;
}

// The killed job's own processes are gone: its group and its sleeping child.
void expect_job_processes_gone(const CrashRun& c) {
  ASSERT_GT(c.job_pgid, 0);
  ASSERT_GT(c.job_sleep, 0);
  EXPECT_TRUE(eventually([&] { return group_gone(c.job_pgid); }))
      << "process group " << c.job_pgid << " of the lost job survived: " << proc_stat(c.job_pgid);
  EXPECT_TRUE(eventually([&] { return process_gone(c.job_sleep); }))
      << "the lost job's child " << c.job_sleep << " survived: " << proc_stat(c.job_sleep);
  // Clean up whatever a failure left, so it cannot disturb later tests.
  if (!group_gone(c.job_pgid)) ::kill(-c.job_pgid, SIGKILL);
}

json job(const std::string& name, const json& cmd) {
  return {{"name", name}, {"cmd", cmd}};
}

TEST(E2eCrash, KilledWorkerFailsOnlyItsJob) {
  TempDir dir;
  ScopedSubreaper subreaper;  // anything leaked comes back to us to be cleaned up
  json blocker = job("blocker", blocking_cmd(dir.path()));
  blocker["timeout"] = 60;  // never the mechanism: the kill ends it long before
  json jobs = json::array({blocker});
  for (int i = 1; i <= 6; ++i) jobs.push_back(job("quick" + std::to_string(i), "echo quick"));

  auto c = run_and_kill_worker(dir, jobs, {"-j2", "--format", "jsonl"});
  EXPECT_EQ(c.result.exit_status, 1) << c.result.err;
  EXPECT_LT(c.seconds, 20.0) << "the run did not end soon after its worker was killed";
  auto by_name = jobs_by_name(c.result.out);
  const json& b = by_name["blocker"];
  EXPECT_EQ(b["status"], "crashed") << b;
  EXPECT_EQ(b["signal"], "SIGKILL") << b;
  EXPECT_EQ(b["exit_code"], nullptr) << b;
  EXPECT_EQ(b["attempts"], 1) << b;
  EXPECT_EQ(b["worker"], c.killed_worker) << b;
  EXPECT_NE(b.value("error", "").find("worker"), std::string::npos) << b;
  for (int i = 1; i <= 6; ++i) {
    const json& q = by_name["quick" + std::to_string(i)];
    EXPECT_EQ(q["status"], "ok") << q;
    EXPECT_EQ(q["stdout"], "quick\n") << q;
  }
  const json& s = by_name["<summary>"];
  EXPECT_EQ(s["total"], 7);
  EXPECT_EQ(s["ok"], 6);
  EXPECT_EQ(s["crashed"], 1);
  expect_job_processes_gone(c);
}

TEST(E2eCrash, KilledWorkerInTextMode) {
  TempDir dir;
  ScopedSubreaper subreaper;  // anything leaked comes back to us to be cleaned up
  json blocker = job("blocker", blocking_cmd(dir.path()));
  blocker["timeout"] = 60;
  json jobs = json::array({blocker, job("after", "echo after")});
  auto c = run_and_kill_worker(dir, jobs, {"-j2"});
  EXPECT_EQ(c.result.exit_status, 1) << c.result.err;
  EXPECT_EQ(c.result.out, "after\n");
  EXPECT_NE(c.result.err.find("[crashed] blocker (SIGKILL"), std::string::npos) << c.result.err;
  EXPECT_NE(c.result.err.find("[ok] after"), std::string::npos) << c.result.err;
  EXPECT_NE(c.result.err.find("1 ok, 0 failed, 0 timed out, 1 crashed in "), std::string::npos)
      << c.result.err;
  expect_job_processes_gone(c);
}

TEST(E2eCrash, KilledWorkerWithOneWorkerStillRunsTheRest) {
  TempDir dir;
  ScopedSubreaper subreaper;  // anything leaked comes back to us to be cleaned up
  json blocker = job("blocker", blocking_cmd(dir.path()));
  blocker["timeout"] = 60;
  // One worker: everything after the blocker needs the replacement worker.
  json jobs = json::array({blocker, job("next1", "echo next1"), job("next2", "echo next2")});
  auto c = run_and_kill_worker(dir, jobs, {"-j1", "--format", "jsonl"});
  EXPECT_EQ(c.result.exit_status, 1) << c.result.err;
  EXPECT_LT(c.seconds, 20.0);
  auto by_name = jobs_by_name(c.result.out);
  EXPECT_EQ(by_name["blocker"]["status"], "crashed") << by_name["blocker"];
  for (const char* n : {"next1", "next2"}) {
    EXPECT_EQ(by_name[n]["status"], "ok") << by_name[n];
    EXPECT_NE(by_name[n]["worker"], c.killed_worker) << by_name[n];
  }
  expect_job_processes_gone(c);
}

TEST(E2eCrash, JobWithRetriesIsRerunOnAReplacementWorker) {
  TempDir dir;
  ScopedSubreaper subreaper;
  std::string marker = dir.path() + "/first-attempt";
  // First attempt: leave a marker and block until the worker is killed. Second: succeed.
  json flaky = job("flaky", "if [ -e " + marker + " ]; then echo second attempt; exit 0; fi; " +
                                "touch " + marker + "; " + blocking_cmd(dir.path()));
  flaky["retries"] = 1;
  flaky["timeout"] = 60;
  json jobs = json::array({flaky, job("other", "echo other")});
  auto c = run_and_kill_worker(dir, jobs, {"-j2", "--format", "jsonl"});
  EXPECT_EQ(c.result.exit_status, 0) << c.result.err;
  EXPECT_LT(c.seconds, 20.0);
  auto by_name = jobs_by_name(c.result.out);
  const json& f = by_name["flaky"];
  EXPECT_EQ(f["status"], "ok") << f;
  EXPECT_EQ(f["attempts"], 2) << f;
  EXPECT_EQ(f["stdout"], "second attempt\n") << f;
  EXPECT_NE(f["worker"], c.killed_worker) << f;
  EXPECT_EQ(by_name["other"]["status"], "ok");
  EXPECT_EQ(by_name["<summary>"]["ok"], 2);
  EXPECT_EQ(by_name["<summary>"]["crashed"], 0);
  expect_job_processes_gone(c);
}

TEST(E2eCrash, JobWithoutRetriesLeftIsNotRerun) {
  TempDir dir;
  ScopedSubreaper subreaper;
  std::string count = dir.path() + "/attempts";
  json once = job("once", "echo x >> " + count + "; " + blocking_cmd(dir.path()));
  once["timeout"] = 60;
  auto c = run_and_kill_worker(dir, json::array({once}), {"-j1", "--format", "jsonl"});
  EXPECT_EQ(c.result.exit_status, 1) << c.result.err;
  EXPECT_EQ(slurp(count), "x\n") << "the job was started again without retries";
  auto by_name = jobs_by_name(c.result.out);
  EXPECT_EQ(by_name["once"]["status"], "crashed");
  expect_job_processes_gone(c);
}

TEST(E2eCrash, NothingIsLeftBehindAfterAWorkerIsKilled) {
  TempDir dir;
  ScopedSubreaper subreaper;  // whatever procpool leaves comes back to us, even zombies
  ASSERT_TRUE(subreaper.leftovers().empty());
  json blocker = job("blocker", blocking_cmd(dir.path()));
  blocker["timeout"] = 60;
  auto c = run_and_kill_worker(dir, json::array({blocker, job("b", "echo b")}), {"-j2"});
  EXPECT_EQ(c.result.exit_status, 1) << c.result.err;
  auto left = subreaper.leftovers();
  EXPECT_TRUE(left.empty()) << "left behind (pid comm state): " << ::testing::PrintToString(left);
}

}  // namespace
