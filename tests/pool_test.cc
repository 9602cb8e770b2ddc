// Tests of the library API (common/pool.h) on real worker processes: the built procpool's
// `worker` subcommand, started by a ProcessPool in this test process.
#include <procpool/as_completed.h>
#include <procpool/pool.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"
#include "tests/support/pools.h"
#include "tests/support/process_checks.h"

using namespace procpool;
using procpool::testing::eventually;
using procpool::testing::group_gone;
using procpool::testing::kPatience;
using procpool::testing::pool_options;
using procpool::testing::proc_stat;
using procpool::testing::read_pid;
using procpool::testing::shell_job;
using procpool::testing::TempDir;
using procpool::testing::wait_for_file;

namespace {

Job argv_job(const std::string& name, std::vector<std::string> argv) {
  Job j;
  j.name = name;
  j.argv = std::move(argv);
  return j;
}

// A shell snippet that waits (bounded, about 20 s) until `path` exists.
std::string wait_for(const std::string& path) {
  return "i=0; while [ ! -e " + path + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ";
}

// `slow` cannot finish before `fast`: it waits for the file `fast` creates after printing,
// then sleeps a second more.
std::vector<Job> ordered_pair(const TempDir& dir) {
  std::string go = dir.path() + "/go";
  return {shell_job("slow", wait_for(go) + "sleep 1; echo slow"),
          shell_job("fast", "echo fast; touch " + go)};
}

std::string out(const Result& r) {
  return r.output.text(Stream::kStdout);
}

TEST(ProcessPoolTest, SubmitReturnsFuturesThatCompleteWithResults) {
  ProcessPool pool(pool_options(2));
  EXPECT_EQ(pool.workers(), 2);
  Future echo = pool.submit(shell_job("echo", "echo out; echo err >&2"));
  Future argv = pool.submit(argv_job("argv", {"printf", "%s", "a b"}));
  Future fails = pool.submit(shell_job("fails", "exit 7"));
  Future unnamed = pool.submit(argv_job("", {"true"}));

  const Result& e = echo.result(kPatience);
  EXPECT_EQ(e.status, Status::kOk);
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(out(e), "out\n");
  EXPECT_EQ(e.output.text(Stream::kStderr), "err\n");
  EXPECT_EQ(e.attempts, 1);
  EXPECT_GT(e.worker_pid, 0);
  EXPECT_FALSE(e.host.empty());
  EXPECT_GT(e.ended_us, 0);
  EXPECT_LE(e.started_us, e.ended_us);
  EXPECT_EQ(out(argv.result(kPatience)), "a b");
  const Result& f = fails.result(kPatience);
  EXPECT_EQ(f.status, Status::kFailed);
  EXPECT_EQ(f.exit_code, 7);
  EXPECT_EQ(unnamed.result(kPatience).status, Status::kOk);
  EXPECT_FALSE(unnamed.job().name.empty()) << "a job without a name is named by its command";

  // Ids are given in submission order, distinct.
  std::set<uint64_t> ids{echo.job().id, argv.job().id, fails.job().id, unnamed.job().id};
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_LT(echo.job().id, fails.job().id);
  for (const Future& fut : {echo, argv, fails, unnamed}) {
    EXPECT_TRUE(fut.done());
    EXPECT_EQ(fut.state(), Future::State::kFinished);
  }
  EXPECT_FALSE(pool.broken());
}

TEST(ProcessPoolTest, SubmitAfterShutdownThrows) {
  ProcessPool pool(pool_options(1));
  pool.shutdown();
  EXPECT_THROW(pool.submit(shell_job("late", "true")), std::runtime_error);
}

TEST(ProcessPoolTest, MapYieldsResultsInInputOrder) {
  TempDir dir;
  ProcessPool pool(pool_options(2));
  std::vector<Job> jobs = ordered_pair(dir);
  for (int i = 0; i < 4; ++i)
    jobs.push_back(shell_job("n" + std::to_string(i), "echo " + std::to_string(i)));
  auto results = pool.map(std::move(jobs), kPatience);
  std::vector<std::string> got;
  while (auto r = results.next()) got.push_back(out(*r));
  EXPECT_EQ(got, (std::vector<std::string>{"slow\n", "fast\n", "0\n", "1\n", "2\n", "3\n"}));
  EXPECT_FALSE(results.next());
  ASSERT_EQ(results.futures().size(), 6u);
  EXPECT_EQ(results.futures()[0].job().name, "slow");
}

TEST(ProcessPoolTest, MapTimeoutThrows) {
  TempDir dir;
  ProcessPool pool(pool_options(1));
  std::string started = dir.path() + "/started";
  auto results = pool.map({shell_job("waits", "echo 1 > " + started + "; " +
                                                  wait_for(dir.path() + "/go") + "echo done")},
                          Duration(0.2));
  // It has started by the time next() meets the timeout, which so cancels nothing: it runs on.
  ASSERT_TRUE(wait_for_file(started));
  EXPECT_THROW(results.next(), TimeoutError);
  // Let the job end so the pool can shut down at once.
  dir.write("go", "");
  EXPECT_EQ(results.futures()[0].result(kPatience).status, Status::kOk);
}

TEST(ProcessPoolTest, AsCompletedYieldsInFinishingOrder) {
  TempDir dir;
  ProcessPool pool(pool_options(2));
  std::vector<Future> futures;
  for (auto& j : ordered_pair(dir)) futures.push_back(pool.submit(std::move(j)));
  std::vector<std::string> order;
  for (const Future& f : as_completed(futures, kPatience)) {
    order.push_back(f.job().name);
    EXPECT_EQ(f.result().status, Status::kOk);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"fast", "slow"}));
}

TEST(ProcessPoolTest, ShutdownWithCancelPendingCancelsWhatHasNotStarted) {
  std::vector<Future> futures;
  {
    ProcessPool pool(pool_options(1));
    for (int i = 0; i < 20; ++i)
      futures.push_back(pool.submit(shell_job("s" + std::to_string(i), "sleep 0.2")));
    pool.shutdown(/*wait=*/true, /*cancel_pending=*/true);
  }
  int cancelled = 0, ok = 0;
  for (const Future& f : futures) {
    ASSERT_TRUE(f.done()) << f.job().name << " was lost by shutdown";
    const Result& r = f.result(Duration(0));
    if (f.cancelled()) {
      ++cancelled;
      EXPECT_EQ(r.status, Status::kCancelled);
      EXPECT_EQ(r.attempts, 0);
    } else {
      ++ok;
      EXPECT_EQ(r.status, Status::kOk) << f.job().name;
    }
  }
  EXPECT_GE(cancelled, 1);
  EXPECT_EQ(cancelled + ok, 20);
}

TEST(ProcessPoolTest, ShutdownWithCancelPendingLetsTheRunningJobFinish) {
  TempDir dir;
  std::string started = dir.path() + "/started", go = dir.path() + "/go";
  ProcessPool pool(pool_options(1));
  std::vector<Future> futures;
  futures.push_back(pool.submit(
      shell_job("running", "echo 1 > " + started + "; " + wait_for(go) + "echo finished")));
  for (int i = 0; i < 19; ++i)
    futures.push_back(pool.submit(shell_job("p" + std::to_string(i), "true")));
  // The one worker holds the first job, so the other 19 cannot have started.
  ASSERT_TRUE(wait_for_file(started));
  pool.shutdown(/*wait=*/false, /*cancel_pending=*/true);
  dir.write("go", "");
  pool.shutdown(/*wait=*/true);

  const Result& first = futures[0].result(Duration(0));
  EXPECT_EQ(first.status, Status::kOk);
  EXPECT_EQ(out(first), "finished\n");
  for (size_t i = 1; i < futures.size(); ++i) {
    EXPECT_TRUE(futures[i].cancelled()) << futures[i].job().name;
    EXPECT_EQ(futures[i].result(Duration(0)).status, Status::kCancelled);
  }
}

TEST(ProcessPoolTest, MaxTasksPerWorkerOneGivesEveryJobItsOwnWorker) {
  PoolOptions options = pool_options(2);
  options.max_tasks_per_worker = 1;
  ProcessPool pool(std::move(options));
  std::vector<Future> futures;
  for (int i = 0; i < 6; ++i)
    futures.push_back(pool.submit(shell_job("w" + std::to_string(i), "echo $PPID")));
  std::set<int64_t> workers;
  for (const Future& f : futures) {
    const Result& r = f.result(kPatience);
    ASSERT_EQ(r.status, Status::kOk) << r.error;
    // The job's shell is the worker's child: its $PPID is the worker the result names.
    EXPECT_EQ(out(r), std::to_string(r.worker_pid) + "\n");
    workers.insert(r.worker_pid);
  }
  EXPECT_EQ(workers.size(), 6u);
}

TEST(ProcessPoolTest, WorkersAreReusedWithoutMaxTasks) {
  ProcessPool pool(pool_options(1));
  std::vector<Future> futures;
  for (int i = 0; i < 4; ++i)
    futures.push_back(pool.submit(shell_job("r" + std::to_string(i), "true")));
  std::set<int64_t> workers;
  for (const Future& f : futures) workers.insert(f.result(kPatience).worker_pid);
  EXPECT_EQ(workers.size(), 1u);
}

TEST(ProcessPoolTest, TerminateStopsRunningJobsAndCancelsPendingOnes) {
  TempDir dir;
  std::string pgid_file = dir.path() + "/pgid";
  ProcessPool pool(pool_options(1));
  Future sleeper =
      pool.submit(shell_job("sleeper", "echo $$ > " + pgid_file + ".tmp && mv " + pgid_file +
                                           ".tmp " + pgid_file + "; sleep 30; echo not-stopped"));
  Future waiting = pool.submit(shell_job("waiting", "echo never"));
  ASSERT_TRUE(wait_for_file(pgid_file));
  pid_t pgid = read_pid(pgid_file);
  auto asked = Clock::now();
  pool.terminate();
  const Result& r = sleeper.result(Duration(10.0));  // throws TimeoutError if not stopped
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - asked).count(), 10.0);
  EXPECT_EQ(r.status, Status::kCancelled);
  EXPECT_EQ(out(r).find("not-stopped"), std::string::npos);
  EXPECT_EQ(waiting.result(kPatience).status, Status::kCancelled);
  EXPECT_TRUE(waiting.cancelled());
  pool.shutdown(/*wait=*/true);
  ASSERT_GT(pgid, 0);
  EXPECT_TRUE(eventually([&] { return group_gone(pgid); }))
      << "the stopped job's group " << pgid << " survived: " << proc_stat(pgid);
  EXPECT_THROW(pool.submit(shell_job("late", "true")), std::runtime_error);
}

TEST(ProcessPoolTest, TimeoutEndsAJobAsTimedOut) {
  ProcessPool pool(pool_options(1));
  Job j = shell_job("slow", "sleep 30");
  j.timeout = Millis(200);
  Future f = pool.submit(std::move(j));
  const Result& r = f.result(kPatience);
  EXPECT_EQ(r.status, Status::kTimeout);
  // The pool goes on after a timeout.
  EXPECT_EQ(pool.submit(shell_job("after", "echo ok")).result(kPatience).status, Status::kOk);
}

TEST(ProcessPoolTest, RetriesRerunAFailingJob) {
  TempDir dir;
  std::string marker = dir.path() + "/tried";
  ProcessPool pool(pool_options(1));
  Job flaky = shell_job(
      "flaky", "if [ -e " + marker + " ]; then echo second; else touch " + marker + "; exit 1; fi");
  flaky.retries = 2;
  Job hopeless = shell_job("hopeless", "exit 3");
  hopeless.retries = 2;
  Future f = pool.submit(std::move(flaky));
  Future h = pool.submit(std::move(hopeless));
  const Result& fr = f.result(kPatience);
  EXPECT_EQ(fr.status, Status::kOk);
  EXPECT_EQ(fr.attempts, 2);
  EXPECT_EQ(out(fr), "second\n");
  const Result& hr = h.result(kPatience);
  EXPECT_EQ(hr.status, Status::kFailed);
  EXPECT_EQ(hr.exit_code, 3);
  EXPECT_EQ(hr.attempts, 3);
}

// Submits `n` jobs to a pool that cannot start workers. The pool may already know it is broken
// when a submission arrives; then submit throws with the reason instead of returning a future.
void expect_every_job_errors(ProcessPool& pool, int n, const std::string& reason_part) {
  std::vector<Future> futures;
  for (int i = 0; i < n; ++i) {
    try {
      futures.push_back(pool.submit(shell_job("j" + std::to_string(i), "echo hi")));
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(reason_part), std::string::npos) << e.what();
    }
  }
  for (const Future& f : futures) {
    const Result& r = f.result(kPatience);  // throws TimeoutError on a hang
    EXPECT_EQ(r.status, Status::kError) << f.job().name;
    EXPECT_NE(r.error.find(reason_part), std::string::npos) << r.error;
    EXPECT_EQ(r.attempts, 0);
  }
  auto broken = pool.broken();
  ASSERT_TRUE(broken.has_value());
  EXPECT_NE(broken->find(reason_part), std::string::npos) << *broken;
}

TEST(ProcessPoolTest, WorkerCommandThatCannotStartBreaksThePool) {
  ProcessPool pool(pool_options(2, {"/nonexistent/procpool", "worker"}));
  expect_every_job_errors(pool, 3, "/nonexistent/procpool");
  pool.shutdown(/*wait=*/true);
}

TEST(ProcessPoolTest, WorkerCommandThatExitsAtOnceBreaksThePool) {
  ProcessPool pool(pool_options(2, {"/bin/false"}));
  expect_every_job_errors(pool, 3, "could not start any worker");
  pool.shutdown(/*wait=*/true);
}

TEST(ProcessPoolTest, WorkerCommandThatSpeaksNonsenseBreaksThePool) {
  // Not the frame protocol: "hell" read as a frame length is far beyond any sane frame.
  ProcessPool pool(pool_options(1, {"/bin/echo", "hello world"}));
  expect_every_job_errors(pool, 2, "could not start any worker");
  pool.shutdown(/*wait=*/true);
}

TEST(ProcessPoolTest, ASlotWhoseWorkerStopsStartingIsGivenUpNotRespawnedForever) {
  // The first worker starts and runs one job; every later start fails at once, as when the
  // binary vanished mid-run. The slot is given up after five failed starts in a row, and the
  // job left is reported instead of waiting on a respawn loop.
  TempDir dir;
  std::string flag = dir.path() + "/started";
  std::string starter = "[ -e " + flag + " ] && exit 1; touch " + flag + "; exec " +
                        std::string(PROCPOOL_BIN) + " worker";
  PoolOptions options = pool_options(1, {"/bin/sh", "-c", starter});
  options.max_tasks_per_worker = 1;
  ProcessPool pool(std::move(options));
  Future first = pool.submit(shell_job("first", "true"));
  Future second = pool.submit(shell_job("second", "true"));
  EXPECT_EQ(first.result(kPatience).status, Status::kOk);
  const Result& r = second.result(kPatience);
  EXPECT_EQ(r.status, Status::kError);
  EXPECT_NE(r.error.find("every worker slot was lost"), std::string::npos) << r.error;
  pool.shutdown(/*wait=*/true);
}

TEST(ProcessPoolTest, DestructorWaitsForSubmittedJobs) {
  TempDir dir;
  std::string done = dir.path() + "/done";
  Future f(shell_job("placeholder", "true"));
  {
    ProcessPool pool(pool_options(1));
    f = pool.submit(shell_job("last", "sleep 0.3; touch " + done));
  }
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(Duration(0)).status, Status::kOk);
  EXPECT_TRUE(procpool::testing::file_exists(done));
}

// A halt hook that says `halt` at the first job that did not succeed, as --halt WHEN,fail=1.
std::function<Halt(const Future&)> halt_on_failure(Halt halt) {
  return [halt](const Future& f) { return f.result().status == Status::kOk ? Halt::kNo : halt; };
}

}  // namespace

// The halt hook is consulted before the failed job's worker gets another job: with one worker,
// nothing submitted after the failure ever starts.
TEST(ProcessPoolTest, HaltHookOnTheFirstFailureStartsNothingAfterIt) {
  TempDir dir;
  PoolOptions options = pool_options(1);
  options.halt_when = halt_on_failure(Halt::kSoon);
  ProcessPool pool(options);
  Future bad = pool.submit(shell_job("bad", "exit 3"));
  std::vector<Future> later;
  for (int i = 0; i < 5; ++i) {
    later.push_back(
        pool.submit(shell_job("later", "touch " + dir.path() + "/ran" + std::to_string(i))));
  }
  EXPECT_EQ(bad.result(kPatience).status, Status::kFailed);
  for (auto& f : later) EXPECT_EQ(f.result(kPatience).status, Status::kCancelled);
  EXPECT_EQ(pool.halted(), Halt::kSoon);
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/ran" + std::to_string(i))) << i;
  }
}

TEST(ProcessPoolTest, HaltHookNowStopsTheRunningJobs) {
  TempDir dir;
  PoolOptions options = pool_options(2);
  options.halt_when = halt_on_failure(Halt::kNow);
  ProcessPool pool(options);
  std::string started = dir.path() + "/started";
  Future slow = pool.submit(shell_job("slow", "echo x > " + started + "; sleep 30"));
  ASSERT_TRUE(wait_for_file(started));
  Future bad = pool.submit(shell_job("bad", "exit 3"));
  EXPECT_EQ(bad.result(kPatience).status, Status::kFailed);
  EXPECT_EQ(slow.result(kPatience).status, Status::kCancelled);
  EXPECT_EQ(pool.halted(), Halt::kNow);
}

// The coordinator's backstop: a worker that is stopped (SIGSTOP, a frozen cgroup, a debugger)
// cannot report the timeout, so past timeout + stop sequence + grace the pool ends the job and
// the worker itself.
TEST(ProcessPoolTest, StoppedWorkerCannotHoldATimedOutJob) {
  TempDir dir;
  PoolOptions options = pool_options(1);
  options.backstop_grace = Millis(300);
  options.stop = {{SIGTERM, Millis(200)}, {SIGKILL, Millis(0)}};
  ProcessPool pool(options);
  std::string worker_pid = dir.path() + "/worker";
  Job j = shell_job("frozen", "echo $PPID > " + worker_pid + ".tmp && mv " + worker_pid + ".tmp " +
                                  worker_pid + "; sleep 30");
  j.timeout = Millis(300);
  Future f = pool.submit(std::move(j));
  ASSERT_TRUE(wait_for_file(worker_pid));
  pid_t worker = read_pid(worker_pid);
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGSTOP), 0);
  const Result& r = f.result(kPatience);  // throws TimeoutError if the batch were held
  EXPECT_EQ(r.status, Status::kTimeout) << r.error;
  EXPECT_TRUE(eventually([&] { return procpool::testing::process_gone(worker); }))
      << "the stopped worker was left: " << proc_stat(worker);
  // The pool replaces the worker and goes on.
  EXPECT_EQ(pool.submit(shell_job("after", "echo ok")).result(kPatience).status, Status::kOk);
}

// Whatever escapes the manager's loop (here a callback throwing what is not a std::exception)
// completes every future, running ones included, saying what failed: nothing waits forever.
TEST(ProcessPoolTest, AnythingUnexpectedInTheManagerStillCompletesEveryFuture) {
  PoolOptions options = pool_options(2);
  options.on_output = [](const Job&, Stream, std::string_view) { throw 42; };
  ProcessPool pool(options);
  std::vector<Future> futures;
  futures.push_back(pool.submit(shell_job("quiet", "sleep 30")));
  futures.push_back(pool.submit(shell_job("talks", "echo hi; sleep 30")));
  for (int i = 0; i < 4; ++i) futures.push_back(pool.submit(shell_job("waiting", "sleep 30")));
  for (auto& f : futures) {
    const Result& r = f.result(kPatience);  // throws TimeoutError if a future was forgotten
    EXPECT_EQ(r.status, Status::kError) << f.job().name;
    EXPECT_NE(r.error.find("the process pool's manager failed"), std::string::npos) << r.error;
  }
  ASSERT_TRUE(pool.broken().has_value());
  EXPECT_THROW(pool.submit(shell_job("late", "true")), std::runtime_error);
}
