// The library as a host program meets it (tests/helpers/library_host.cc, forgetful_host.cc):
// its log lines never on the program's stdout, and where they go is the program's to choose; a
// pool with no worker command runs the procpool binary it finds (PROCPOOL_WORKER, the install's
// bin directory, PATH) or says where it looked; a program can be its own worker through
// procpool::worker_main(); and one that forgets the hook ends with a clear error, not a recursion.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/pool.h>
#include "common/worker_command.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using namespace procpool;
using namespace procpool::testing;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Runs library_host with `args` under `env` (arguments of env(1): "-u NAME", "NAME=VALUE").
RunOutput run_host(const std::vector<std::string>& env, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(helper("library_host"));
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

// The text of the lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& line : lines(text)) {
    if (line.starts_with(prefix)) found.push_back(line);
  }
  return found;
}

bool installed_worker_exists() {
  return ::access(installed_worker().c_str(), X_OK) == 0;
}

}  // namespace

TEST(LibraryLogTest, WithoutSetUpTheLibraryLogsOnStderrNeverOnStdout) {
  // The worker cannot start, so the library has things to say; the program says one line.
  RunOutput r = run_host({}, {"logs", "default"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "job ended: error\n");
  EXPECT_FALSE(lines_starting(r.err, "procpool: warning: ").empty()) << r.err;
}

TEST(LibraryLogTest, AHandlerTakesTheLinesAndNullptrGivesThemBackToStderr) {
  RunOutput r = run_host({}, {"logs", "handler"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "job ended: error\njob ended: error\n");
  size_t removed = r.err.find("handler removed\n");
  ASSERT_NE(removed, std::string::npos) << r.err;
  std::string with_handler = r.err.substr(0, removed);
  std::string after = r.err.substr(removed);
  // The handler got the lines, as text without the prefix, each with its level.
  auto taken = lines_starting(with_handler, "handler: warn: ");
  ASSERT_FALSE(taken.empty()) << r.err;
  EXPECT_TRUE(contains(taken[0], "the worker command '/bin/false' did not answer")) << taken[0];
  EXPECT_FALSE(contains(with_handler, "procpool: ")) << r.err;
  // nullptr: stderr again.
  EXPECT_FALSE(lines_starting(after, "procpool: warning: ").empty()) << r.err;
  EXPECT_FALSE(contains(after, "handler: ")) << r.err;
}

TEST(LibraryLogTest, LevelOffSilencesTheLibrary) {
  RunOutput r = run_host({}, {"logs", "off"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "job ended: error\n");
  EXPECT_EQ(r.err, "");
}

TEST(WorkerLookupTest, ProcpoolWorkerVariableComesFirst) {
  // A procpool on PATH too: the variable wins.
  TempDir dir;
  std::filesystem::create_symlink(procpool_bin(), dir.path() + "/procpool");
  RunOutput r = run_host(
      {"PROCPOOL_WORKER=" + procpool_bin(), "PATH=" + dir.path() + ":/usr/bin:/bin"}, {"which"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  auto started = lines_starting(r.out, "started worker ");
  ASSERT_EQ(started.size(), 1u) << r.out << r.err;
  EXPECT_TRUE(started[0].ends_with(" (" + procpool_bin() + " worker)")) << started[0];
  EXPECT_TRUE(r.out.starts_with("job ended: ok: hi\n")) << r.out;
}

TEST(WorkerLookupTest, WithoutTheVariableProcpoolOnPathRuns) {
  if (installed_worker_exists()) {
    GTEST_SKIP() << installed_worker() << " exists: it comes before PATH";
  }
  TempDir dir;
  std::filesystem::create_symlink(procpool_bin(), dir.path() + "/procpool");
  // An empty entry and a directory without procpool come first: neither is taken.
  RunOutput r = run_host(
      {"-u", "PROCPOOL_WORKER", "PATH=:/nonexistent:" + dir.path() + ":/usr/bin:/bin"}, {"which"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  auto started = lines_starting(r.out, "started worker ");
  ASSERT_EQ(started.size(), 1u) << r.out << r.err;
  EXPECT_TRUE(started[0].ends_with(" (" + dir.path() + "/procpool worker)")) << started[0];
  EXPECT_TRUE(r.out.starts_with("job ended: ok: hi\n")) << r.out;
}

TEST(WorkerLookupTest, NoWorkerFoundIsAClearErrorNamingTheThreePlaces) {
  if (installed_worker_exists()) GTEST_SKIP() << installed_worker() << " exists";
  RunOutput r = run_host({"-u", "PROCPOOL_WORKER", "PATH=/nonexistent"}, {"which"});
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "no procpool worker found")) << r.err;
  EXPECT_TRUE(contains(r.err, "PROCPOOL_WORKER")) << r.err;
  EXPECT_TRUE(contains(r.err, installed_worker())) << r.err;
  EXPECT_TRUE(contains(r.err, "PATH")) << r.err;
  EXPECT_TRUE(contains(r.err, "worker_main")) << r.err;
}

TEST(WorkerHookTest, AProgramIsItsOwnWorkerThroughTheHook) {
  // No procpool anywhere: the program needs none. Its jobs do not inherit the worker's mark.
  RunOutput r = run_host({"-u", "PROCPOOL_WORKER", "PATH=/usr/bin:/bin"}, {"hook"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "job ended: ok: from a job, PROCPOOL_IN_WORKER=unset\n");
  EXPECT_EQ(r.err, "");
}

TEST(WorkerHookTest, AJobOfAProcpoolWorkerMayRunAPoolOfItsOwn) {
  // Nested pools are fine: only a process started as a worker that is none is refused.
  RunOutput r = run_procpool({"run", "--lines"}, helper("library_host") + " hook\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "job ended: ok: from a job, PROCPOOL_IN_WORKER=unset\n") << r.err;
}

TEST(WorkerHookTest, AProgramWithoutTheHookEndsWithAClearErrorNotARecursion) {
  // forgetful_host names itself as its worker but never calls the hook: started as its worker,
  // it runs its main again, and its pool must refuse to start. Every start of it is counted.
  ScopedSubreaper reaper;
  TempDir dir;
  std::string count = dir.path() + "/starts";
  RunOutput r = run_program({"/usr/bin/env", "-u", "FORGETFUL_DEPTH", "FORGETFUL_COUNT=" + count,
                             helper("forgetful_host")});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("job ended: error: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "did not answer as a procpool worker")) << r.out;
  EXPECT_TRUE(contains(r.out, "forgetful_host procpool-worker")) << r.out;
  EXPECT_TRUE(contains(r.out, "instead of running procpool::worker_main()")) << r.out;
  // The program itself and its two workers, each perhaps started again a few times before the
  // pool gives up (at most five starts a slot): never a second level.
  size_t starts = lines(slurp(count)).size();
  EXPECT_GE(starts, 2u);
  EXPECT_LE(starts, 1u + 2u * 5u) << slurp(count);
  EXPECT_TRUE(reaper.leftovers().empty());
}

TEST(WorkerHookTest, APoolInAProcessStartedAsAWorkerIsRefused) {
  ::setenv(kInWorkerVariable, "1", 1);
  PoolOptions options;
  options.workers = 1;
  options.worker_command = {procpool_bin(), "worker"};
  try {
    ProcessPool pool(options);
    ADD_FAILURE() << "the pool started";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "started as a pool's worker")) << e.what();
  }
  ::unsetenv(kInWorkerVariable);
}

TEST(WorkerHookTest, ACommandThatIsNoWorkerIsNamedWithWhatItDid) {
  struct Case {
    std::vector<std::string> command;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"/bin/echo", "hello", "world"},
            "the worker command '/bin/echo hello world' did not answer as a procpool worker (it "
            "printed: hello world)"},
           {{"/bin/true"},
            "the worker command '/bin/true' did not answer as a procpool worker (it exited with "
            "status 0)"},
       }) {
    PoolOptions options;
    options.workers = 1;
    options.worker_command = c.command;
    ProcessPool pool(options);
    Job job;
    job.shell = "true";
    Future f = pool.submit(job);
    const Result& r = f.result(Duration(20.0));
    EXPECT_EQ(r.status, Status::kError);
    EXPECT_TRUE(contains(r.error, "could not start any worker: " + c.says)) << r.error;
  }
}
