// Tests of the library API (common/pool.h) where a host program takes control of the pool:
// releasing it from any thread (its own included), dropping map results, jobs with `needs`,
// the signal state the pool leaves the host, and stopping one running job. Real worker
// processes: the built procpool's `worker` subcommand, started by a ProcessPool in this process.
#include <dirent.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/pool.h>
#include "tests/support/e2e.h"
#include "tests/support/pools.h"
#include "tests/support/process_checks.h"

using namespace procpool;
using procpool::testing::eventually;
using procpool::testing::file_exists;
using procpool::testing::group_gone;
using procpool::testing::kPatience;
using procpool::testing::pool_options;
using procpool::testing::proc_stat;
using procpool::testing::read_pid;
using procpool::testing::shell_job;
using procpool::testing::slurp;
using procpool::testing::TempDir;
using procpool::testing::wait_for_file;

namespace {

// A shell snippet that waits (bounded, about 20 s) until `path` exists.
std::string wait_for(const std::string& path) {
  return "i=0; while [ ! -e " + path + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ";
}

// A shell snippet that writes `text` to `path` whole (a reader never sees it half written).
std::string write_file(const std::string& path, const std::string& text) {
  return "echo " + text + " > " + path + ".tmp && mv " + path + ".tmp " + path + "; ";
}

std::string out(const Result& r) {
  return r.output.text(Stream::kStdout);
}

// The threads of this process, by id.
std::vector<std::string> threads() {
  std::vector<std::string> tids;
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return tids;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') tids.emplace_back(e->d_name);
  }
  ::closedir(dir);
  return tids;
}

// ---- releasing the pool ----------------------------------------------------------------------

// The last owner of the pool is a done-callback, released when it runs: on the pool's own
// thread, which cannot wait for itself. The jobs still waiting run all the same, and the
// thread ends on its own once they are done, its workers gone.
TEST(PoolRelease, LastOwnerReleasedInADoneCallbackLetsThePoolFinishOnItsOwn) {
  TempDir dir;
  std::string go = dir.path() + "/go";
  size_t threads_before = threads().size();
  auto pool = std::make_shared<ProcessPool>(pool_options(1));
  Future first = pool->submit(shell_job("first", "echo first"));
  Future later = pool->submit(shell_job("later", wait_for(go) + "echo later"));
  std::atomic<bool> released{false};
  first.add_done_callback([keep = pool, &released](const Future&) mutable {
    keep.reset();  // the last owner: ~ProcessPool runs here, on the pool's thread
    released = true;
  });
  pool.reset();
  EXPECT_EQ(first.result(kPatience).status, Status::kOk);
  ASSERT_TRUE(eventually([&] { return released.load(); }));
  // Released before `later` could finish: the pool runs it to its end all the same.
  dir.write("go", "");
  const Result& r = later.result(kPatience);
  EXPECT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(out(r), "later\n");
  EXPECT_TRUE(eventually([&] { return procpool::testing::process_gone(r.worker_pid); }))
      << "the released pool's worker was left: " << proc_stat(r.worker_pid);
  EXPECT_TRUE(eventually([&] { return threads().size() == threads_before; }))
      << "the released pool's thread did not end: " << threads().size() << " threads, "
      << threads_before << " before";
}

// Nobody but a callback holds the pool, and nobody holds that callback's future: the pool is
// destroyed when the manager drops its last copy of the future, in the middle of its loop.
TEST(PoolRelease, PoolHeldOnlyByTheCallbackOfAFutureNobodyHolds) {
  TempDir dir;
  std::string go = dir.path() + "/go";
  size_t threads_before = threads().size();
  auto pool = std::make_shared<ProcessPool>(pool_options(2));
  pool->submit(shell_job("first", "true")).add_done_callback([keep = pool](const Future&) {});
  Future later = pool->submit(shell_job("later", wait_for(go) + "echo later"));
  pool.reset();
  dir.write("go", "");
  const Result& r = later.result(kPatience);
  EXPECT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(out(r), "later\n");
  EXPECT_TRUE(eventually([&] { return threads().size() == threads_before; }))
      << "the released pool's thread did not end";
}

// A done-callback that asks for a waiting shutdown cannot wait for its own thread: it returns,
// and the pool shuts down as asked.
TEST(PoolRelease, ShutdownFromADoneCallbackReturnsAndShutsDown) {
  ProcessPool pool(pool_options(1));
  std::atomic<bool> returned{false};
  std::string raised;
  Future f = pool.submit(shell_job("first", "true"));
  f.add_done_callback([&](const Future&) {
    try {
      pool.shutdown(/*wait=*/true);
    } catch (const std::exception& e) {
      raised = e.what();
    }
    returned = true;
  });
  EXPECT_EQ(f.result(kPatience).status, Status::kOk);
  ASSERT_TRUE(eventually([&] { return returned.load(); }));
  EXPECT_EQ(raised, "");
  EXPECT_THROW(pool.submit(shell_job("late", "true")), std::runtime_error);
}

// ---- map ---------------------------------------------------------------------------------------

// One worker, held by a job that waits for `go`: the map's other jobs cannot have started. Each
// of them would leave a file behind if it ever ran.
struct HeldMap {
  TempDir dir;
  std::string started = dir.path() + "/started";
  std::string go = dir.path() + "/go";
  std::vector<Job> jobs() const {
    std::vector<Job> jobs{shell_job("held", write_file(started, "1") + wait_for(go) + "echo held")};
    for (int i = 0; i < 5; ++i) {
      jobs.push_back(shell_job("p" + std::to_string(i), "touch " + ran(i)));
    }
    return jobs;
  }
  std::string ran(int i) const { return dir.path() + "/ran" + std::to_string(i); }
  // The first job ran on to its end; none of the others ever ran.
  void expect_only_the_held_job_ran(const std::vector<Future>& futures) const {
    ASSERT_EQ(futures.size(), 6u);
    const Result& held = futures[0].result(kPatience);
    EXPECT_EQ(held.status, Status::kOk) << held.error;
    EXPECT_EQ(out(held), "held\n");
    for (size_t i = 1; i < futures.size(); ++i) {
      EXPECT_TRUE(futures[i].cancelled()) << futures[i].job().name;
      EXPECT_EQ(futures[i].result(Duration(0)).status, Status::kCancelled);
      EXPECT_FALSE(file_exists(ran(static_cast<int>(i - 1)))) << futures[i].job().name << " ran";
    }
  }
};

TEST(PoolMap, DroppingTheResultsCancelsWhatHasNotStarted) {
  HeldMap held;
  ProcessPool pool(pool_options(1));
  std::vector<Future> futures;
  {
    auto results = pool.map(held.jobs());
    futures = results.futures();  // copies share the state: they outlive the results
    ASSERT_TRUE(wait_for_file(held.started));
  }
  held.dir.write("go", "");
  pool.shutdown(/*wait=*/true);
  held.expect_only_the_held_job_ran(futures);
}

TEST(PoolMap, TimeoutCancelsWhatHasNotStarted) {
  HeldMap held;
  ProcessPool pool(pool_options(1));
  auto results = pool.map(held.jobs(), Duration(0.2));
  ASSERT_TRUE(wait_for_file(held.started));
  EXPECT_THROW(results.next(), TimeoutError);
  held.dir.write("go", "");
  pool.shutdown(/*wait=*/true);
  held.expect_only_the_held_job_ran(results.futures());
}

TEST(PoolMap, MovedResultsCancelNothing) {
  ProcessPool pool(pool_options(1));
  std::vector<Job> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(shell_job("m" + std::to_string(i), "echo m"));
  auto results = pool.map(std::move(jobs));
  auto moved = std::move(results);
  int ok = 0;
  while (auto r = moved.next()) ok += r->status == Status::kOk;
  EXPECT_EQ(ok, 3);
}

// The natural line `as_completed(pool.map(jobs).futures())`: the temporary hands its futures
// over, so its end cancels nothing (with one worker, all but the first would not have started).
TEST(PoolMap, FuturesTakenFromATemporaryAreNotCancelled) {
  ProcessPool pool(pool_options(1));
  std::vector<Job> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(shell_job("t" + std::to_string(i), "echo t"));
  std::vector<Future> futures = pool.map(std::move(jobs)).futures();
  ASSERT_EQ(futures.size(), 4u);
  for (const Future& f : futures) EXPECT_EQ(f.result().status, Status::kOk) << f.job().name;
}

// ---- needs -------------------------------------------------------------------------------------

TEST(PoolNeeds, SubmitRefusesAJobThatNeedsAnother) {
  ProcessPool pool(pool_options(1));
  Job j = shell_job("second", "true");
  j.needs = {"first"};
  try {
    pool.submit(std::move(j));
    FAIL() << "a job with needs was taken";
  } catch (const std::invalid_argument& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("'second'"), std::string::npos) << what;
    EXPECT_NE(what.find("does not order jobs"), std::string::npos) << what;
    EXPECT_NE(what.find("done-callback"), std::string::npos) << what;
  }
  // The pool is not harmed.
  EXPECT_EQ(pool.submit(shell_job("after", "echo ok")).result(kPatience).status, Status::kOk);
}

TEST(PoolNeeds, MapWithAJobThatNeedsAnotherSubmitsNothing) {
  TempDir dir;
  ProcessPool pool(pool_options(1));
  std::vector<Job> jobs{shell_job("first", "touch " + dir.path() + "/ran")};
  jobs.push_back(shell_job("second", "true"));
  jobs.back().needs = {"first"};
  EXPECT_THROW(pool.map(std::move(jobs)), std::invalid_argument);
  pool.shutdown(/*wait=*/true);
  EXPECT_FALSE(file_exists(dir.path() + "/ran")) << "part of a refused map ran";
}

// ---- signals -----------------------------------------------------------------------------------

std::atomic<int> sigpipes_seen{0};
void count_sigpipe(int) {
  ++sigpipes_seen;
}

sigset_t blocked_here() {
  sigset_t set;
  sigemptyset(&set);
  pthread_sigmask(SIG_BLOCK, nullptr, &set);
  return set;
}

bool same_set(const sigset_t& a, const sigset_t& b) {
  for (int s = 1; s < NSIG; ++s) {
    if (sigismember(&a, s) != sigismember(&b, s)) return false;
  }
  return true;
}

// The mask a thread created now gets.
sigset_t mask_of_a_new_thread() {
  sigset_t set;
  std::thread([&] { set = blocked_here(); }).join();
  return set;
}

// Whether `tid` of this process has SIGPIPE pending (/proc/self/task/TID/status, SigPnd).
bool sigpipe_pending_in(const std::string& tid) {
  std::string status = slurp("/proc/self/task/" + tid + "/status");
  size_t at = status.find("SigPnd:");
  if (at == std::string::npos) return false;
  uint64_t mask = std::stoull(status.substr(at + 7), nullptr, 16);
  return (mask >> (SIGPIPE - 1)) & 1;
}

// Runs a pool whose first worker dies right after its hello, before it reads its first job (its
// stdin is /dev/null, the pipe's read end closed): the run frame the pool writes meets a pipe
// with no reader, EPIPE and a SIGPIPE on the pool's own thread. The job runs on the replacement.
void run_a_pool_that_writes_to_a_dead_worker() {
  TempDir dir;
  std::string flag = dir.path() + "/first-worker";
  std::string starter = "if [ -e " + flag + " ]; then exec " + std::string(PROCPOOL_BIN) +
                        " worker; fi; touch " + flag + "; exec " + std::string(PROCPOOL_BIN) +
                        " worker < /dev/null";
  PoolOptions options = pool_options(1, {"/bin/sh", "-c", starter});
  options.start_delay = Millis(1);  // the job is sent once the worker has said hello
  std::vector<std::string> before = threads();
  ProcessPool pool(std::move(options));
  std::vector<std::string> pool_threads;
  for (const auto& t : threads()) {
    if (std::find(before.begin(), before.end(), t) == before.end()) pool_threads.push_back(t);
  }
  Future f = pool.submit(shell_job("job", "echo ran"));
  const Result& r = f.result(kPatience);
  EXPECT_EQ(r.status, Status::kOk) << r.error;
  EXPECT_EQ(out(r), "ran\n");
  ASSERT_TRUE(file_exists(flag));
  // Proof that the scenario happened: the SIGPIPE is pending, blocked, on the pool's thread.
  ASSERT_EQ(pool_threads.size(), 1u);
  EXPECT_TRUE(sigpipe_pending_in(pool_threads[0]))
      << "the pool never wrote to the dead worker: the test proves nothing";
  pool.shutdown(/*wait=*/true);
}

void expect_signal_state_unchanged(void (*handler)(int)) {
  struct sigaction mine {};
  mine.sa_handler = handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGPIPE, &mine, &saved), 0);
  sigset_t mask_before = blocked_here();
  sigset_t new_thread_before = mask_of_a_new_thread();
  sigpipes_seen = 0;

  run_a_pool_that_writes_to_a_dead_worker();

  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, handler) << "the pool changed the process's SIGPIPE disposition";
  EXPECT_EQ(sigpipes_seen.load(), 0) << "the pool's SIGPIPE reached the host's handler";
  EXPECT_TRUE(same_set(blocked_here(), mask_before)) << "the calling thread's mask changed";
  EXPECT_TRUE(same_set(mask_of_a_new_thread(), new_thread_before))
      << "threads created after the pool get another mask";
  ::sigaction(SIGPIPE, &saved, nullptr);
}

TEST(PoolSignals, DefaultSigpipeStaysDefaultAndNoThreadMaskChanges) {
  // SIGPIPE taken with its default action would end this test program.
  expect_signal_state_unchanged(SIG_DFL);
}

TEST(PoolSignals, HostSigpipeHandlerStaysAndNeverRunsForThePool) {
  expect_signal_state_unchanged(count_sigpipe);
}

// ---- stopping one job --------------------------------------------------------------------------

// A job that prints, then sleeps; stopped in the middle, with the pool's stop sequence.
TEST(PoolStop, StopEndsARunningJobAsCancelledKeepingWhatItPrinted) {
  TempDir dir;
  std::string pgid_file = dir.path() + "/pgid", go = dir.path() + "/go";
  ProcessPool pool(pool_options(2));
  Future sleeper = pool.submit(shell_job(
      "sleeper", "echo before; " + write_file(pgid_file, "$$") + "sleep 30; echo not-stopped"));
  ASSERT_TRUE(wait_for_file(pgid_file));
  Future other = pool.submit(shell_job("other", wait_for(go) + "echo other"));
  pid_t pgid = read_pid(pgid_file);
  ASSERT_GT(pgid, 0);

  EXPECT_TRUE(pool.stop(sleeper));
  const Result& r = sleeper.result(kPatience);  // throws TimeoutError if it was not stopped
  EXPECT_EQ(r.status, Status::kCancelled);
  // It ran: finished, as after terminate(); cancelled() stays for what never started.
  EXPECT_EQ(sleeper.state(), Future::State::kFinished);
  EXPECT_EQ(out(r), "before\n");
  EXPECT_NE(r.error.find("stopped"), std::string::npos) << r.error;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_TRUE(eventually([&] { return group_gone(pgid); }))
      << "the stopped job's group " << pgid << " survived: " << proc_stat(pgid);
  EXPECT_FALSE(pool.stop(sleeper)) << "a job already stopped has nothing left to stop";

  // Its worker goes on: the next job runs there (the other worker is held by `other`).
  Future next = pool.submit(shell_job("next", "echo $PPID"));
  const Result& n = next.result(kPatience);
  EXPECT_EQ(n.status, Status::kOk) << n.error;
  EXPECT_EQ(n.worker_pid, r.worker_pid) << "the stopped job's worker was replaced";
  EXPECT_EQ(out(n), std::to_string(r.worker_pid) + "\n");
  // The other job was not touched.
  EXPECT_FALSE(other.done());
  dir.write("go", "");
  const Result& o = other.result(kPatience);
  EXPECT_EQ(o.status, Status::kOk) << o.error;
  EXPECT_EQ(out(o), "other\n");
}

TEST(PoolStop, StopOfAPendingJobCancelsIt) {
  TempDir dir;
  std::string started = dir.path() + "/started", go = dir.path() + "/go";
  ProcessPool pool(pool_options(1));
  Future held = pool.submit(shell_job("held", write_file(started, "1") + wait_for(go) + "true"));
  Future waiting = pool.submit(shell_job("waiting", "touch " + dir.path() + "/ran"));
  ASSERT_TRUE(wait_for_file(started));
  EXPECT_TRUE(pool.stop(waiting));
  EXPECT_TRUE(waiting.cancelled());
  EXPECT_EQ(waiting.result(Duration(0)).status, Status::kCancelled);
  dir.write("go", "");
  EXPECT_EQ(held.result(kPatience).status, Status::kOk);
  pool.shutdown(/*wait=*/true);
  EXPECT_FALSE(file_exists(dir.path() + "/ran"));
  EXPECT_FALSE(pool.stop(held)) << "a finished job has nothing to stop";
}

}  // namespace
