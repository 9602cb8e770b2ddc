// --load and --memfree (PoolOptions::max_load, min_memory_available): the worker holds a job back
// while its host's load average or available memory say no, and starts it once they say yes.
// Held and released on purpose through a fake /proc (PROCPOOL_PROC_ROOT, read by the worker:
// worker/start_gate.h), or with a --memfree no machine can meet; never by timing.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/logging.h>
#include <procpool/pool.h>
#include "cli/flags.h"
#include "cli/map_inputs.h"
#include "common/messages.h"
#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/pools.h"
#include "tests/support/process_checks.h"
#include "worker/start_gate.h"

namespace procpool::testing {
namespace {

namespace fs = std::filesystem;

// MemTotal of this machine, in bytes.
uint64_t total_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

// A --memfree this machine can never meet: twice its memory.
std::string beyond_this_machine() {
  uint64_t total = total_memory();
  return std::to_string(std::max<uint64_t>(total, 1u << 30) / 1024 * 2) + "K";
}

// Replaces `path` with `content` in one step (a rename), so a worker never reads half of it.
void write_atomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
  }
  fs::rename(tmp, path);
}

std::string loadavg_line(double one_minute) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f 0.50 0.40 1/123 4567\n", one_minute);
  return buf;
}

bool have_program(const std::string& name) {
  return run_program({"sh", "-c", "command -v " + name}).exit_status == 0;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  auto v = lines(text);
  std::sort(v.begin(), v.end());
  return v;
}

// --- the values of the flags ---

TEST(StartGateFlags, LoadForms) {
  LoadLimit four = parse_load("4");
  EXPECT_EQ(four.per_cpu, 0);
  EXPECT_EQ(four.plus, 4);
  EXPECT_EQ(four.on(16), 4);
  EXPECT_EQ(parse_load("2.5").on(8), 2.5);
  LoadLimit all = parse_load("100%");
  EXPECT_EQ(all.per_cpu, 1);
  EXPECT_EQ(all.plus, 0);
  EXPECT_EQ(all.on(8), 8);
  EXPECT_EQ(parse_load("50%").on(8), 4);
  EXPECT_EQ(parse_load("250%").on(2), 5);
  EXPECT_EQ(parse_load("+2").on(8), 10);
  EXPECT_EQ(parse_load("-2").on(8), 6);
  // As GNU parallel's: never below 0.01, so --load 0 still starts jobs on an idle host.
  EXPECT_DOUBLE_EQ(parse_load("0").on(8), 0.01);
  EXPECT_DOUBLE_EQ(parse_load("-9").on(8), 0.01);
}

TEST(StartGateFlags, BadLoadsSayWhatIsAccepted) {
  for (const char* text : {"", "abc", "4x", "%", "-", "+", "x%", "1.5.2", "--2", "1e999"}) {
    try {
      parse_load(text);
      ADD_FAILURE() << "accepted --load '" << text << "'";
    } catch (const UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("--load"), std::string::npos) << what;
      EXPECT_NE(what.find("100%"), std::string::npos) << what;
    }
  }
}

// --memfree's SIZE is read by the one parser of GNU parallel's unit prefixes (parse_count, also
// --block's and -N's): K M G T P are powers of 1024, k m g t p of 1000.
TEST(StartGateFlags, SizesAsGnuParallelReadsThem) {
  EXPECT_EQ(parse_count("--memfree", "100"), 100u);
  EXPECT_EQ(parse_count("--memfree", "1K"), 1024u);
  EXPECT_EQ(parse_count("--memfree", "1k"), 1000u);
  EXPECT_EQ(parse_count("--memfree", "2M"), 2u << 20);
  EXPECT_EQ(parse_count("--memfree", "2m"), 2'000'000u);
  EXPECT_EQ(parse_count("--memfree", "3G"), uint64_t{3} << 30);
  EXPECT_EQ(parse_count("--memfree", "3g"), 3'000'000'000u);
  EXPECT_EQ(parse_count("--memfree", "1T"), uint64_t{1} << 40);
  EXPECT_EQ(parse_count("--memfree", "1t"), 1'000'000'000'000u);
  EXPECT_EQ(parse_count("--memfree", "1P"), uint64_t{1} << 50);
  EXPECT_EQ(parse_count("--memfree", "1p"), 1'000'000'000'000'000u);
}

TEST(StartGateFlags, BadSizesNameTheFlag) {
  for (const char* text : {"", "k", "M", "12Q", "-1", "1KK", "1 G", "x1G", "99999P"}) {
    try {
      parse_count("--memfree", text);
      ADD_FAILURE() << "accepted --memfree '" << text << "'";
    } catch (const UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("--memfree"), std::string::npos) << what;
    }
  }
}

// --- what the worker reads ---

TEST(StartGateReadings, LoadAverageIsTheFirstField) {
  EXPECT_EQ(parse_loadavg("0.52 0.58 0.59 1/123 4567\n"), 0.52);
  EXPECT_EQ(parse_loadavg("12.00 1 1 1/1 1"), 12.0);
  EXPECT_EQ(parse_loadavg(""), std::nullopt);
  EXPECT_EQ(parse_loadavg("busy 1 1"), std::nullopt);
  EXPECT_EQ(parse_loadavg("-1 1 1"), std::nullopt);
}

TEST(StartGateReadings, AvailableMemory) {
  EXPECT_EQ(parse_mem_available("MemTotal: 8000 kB\nMemFree: 100 kB\nMemAvailable: 5000 kB\n"
                                "Buffers: 10 kB\nCached: 20 kB\n"),
            5000u * 1024);
  // Kernels before 3.14 have no MemAvailable: free, buffers and cache, as GNU parallel counts.
  EXPECT_EQ(parse_mem_available("MemTotal: 8000 kB\nMemFree: 100 kB\nBuffers: 10 kB\n"
                                "Cached: 20 kB\nSwapCached: 5 kB\n"),
            130u * 1024);
  EXPECT_EQ(parse_mem_available("MemTotal: 8000 kB\n"), std::nullopt);
  EXPECT_EQ(parse_mem_available("MemAvailableX: 1 kB\n"), std::nullopt);
  EXPECT_EQ(parse_mem_available(""), std::nullopt);
  // This machine's own, as the worker reads it.
  std::ifstream in("/proc/meminfo");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto here = parse_mem_available(text);
  ASSERT_TRUE(here.has_value());
  EXPECT_GT(*here, 0u);
  EXPECT_LE(*here, total_memory());
}

TEST(StartGateReadings, TheGateHoldsOnlyWhatItsConditionsSay) {
  TempDir root;
  root.write("loadavg", loadavg_line(5));
  root.write("meminfo", "MemTotal: 4000000 kB\nMemAvailable: 1048576 kB\n");
  StartGate gate(root.path());
  Task task;
  task.id = 1;
  EXPECT_EQ(gate.check(task).held, "");  // no conditions: nothing read
  task.max_load = LoadLimit{0, 4};
  std::string held = gate.check(task).held;
  EXPECT_NE(held.find("5.00"), std::string::npos) << held;
  EXPECT_NE(held.find("--load"), std::string::npos) << held;
  task.max_load = LoadLimit{0, 5.5};
  EXPECT_EQ(gate.check(task).held, "");
  task.min_memory_available = uint64_t{2} << 30;
  held = gate.check(task).held;
  EXPECT_NE(held.find("1 GiB"), std::string::npos) << held;
  EXPECT_NE(held.find("2 GiB"), std::string::npos) << held;
  task.min_memory_available = uint64_t{1} << 30;
  GateVerdict v = gate.check(task);
  EXPECT_EQ(v.held, "");
  EXPECT_EQ(v.unknown, "");
}

TEST(StartGateReadings, WithoutProcTheGateIsOpenAndSaysSoOnce) {
  StartGate gate("/nonexistent/proc");
  Task task;
  task.id = 1;
  task.max_load = LoadLimit{0, 0};
  task.min_memory_available = uint64_t{1} << 50;
  GateVerdict first = gate.check(task);
  EXPECT_EQ(first.held, "");
  EXPECT_NE(first.unknown.find("/nonexistent/proc/loadavg"), std::string::npos) << first.unknown;
  EXPECT_NE(first.unknown.find("/nonexistent/proc/meminfo"), std::string::npos) << first.unknown;
  GateVerdict again = gate.check(task);
  EXPECT_EQ(again.held, "");
  EXPECT_EQ(again.unknown, "");
}

// --- on the wire ---

TEST(StartGateMessages, ConditionsTravelOnlyWhenSet) {
  Task plain;
  plain.id = 7;
  plain.shell = "true";
  std::string frame;
  append_message(frame, plain);
  std::string body = frame.substr(4);
  EXPECT_EQ(describe_message(body).find("load"), std::string::npos) << describe_message(body);
  EXPECT_EQ(describe_message(body).find("memfree"), std::string::npos) << describe_message(body);
  Task back = std::get<Task>(decode_to_worker(body));
  EXPECT_FALSE(back.max_load);
  EXPECT_FALSE(back.min_memory_available);

  Task gated = plain;
  gated.max_load = LoadLimit{1, -2};
  gated.min_memory_available = uint64_t{3} << 30;
  frame.clear();
  append_message(frame, gated);
  back = std::get<Task>(decode_to_worker(frame.substr(4)));
  ASSERT_TRUE(back.max_load);
  EXPECT_EQ(back.max_load->per_cpu, 1);
  EXPECT_EQ(back.max_load->plus, -2);
  EXPECT_EQ(back.min_memory_available, uint64_t{3} << 30);

  frame.clear();
  append_message(frame, Gate{7, true, "busy"});
  Gate gate = std::get<Gate>(decode_from_worker(frame.substr(4)));
  EXPECT_EQ(gate.id, 7u);
  EXPECT_TRUE(gate.held);
  EXPECT_EQ(gate.why, "busy");
}

// --- procpool run and map ---

TEST(StartGateRuns, BadValuesExitTwoAndRunNothing) {
  TempDir dir;
  std::string touched = dir.path() + "/touched";
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--load", "lots"}, {"--load", "5x"}, {"--memfree", "12Q"}, {"--memfree", "lots"}}) {
    RunOutput mapped = run_procpool({"map", flag, value, "touch " + touched});
    EXPECT_EQ(mapped.exit_status, 2) << flag << " " << value << "\n" << mapped.err;
    EXPECT_NE(mapped.err.find(flag + " " + value), std::string::npos) << mapped.err;
    RunOutput ran = run_procpool({"run", "--lines", flag, value}, "touch " + touched + "\n");
    EXPECT_EQ(ran.exit_status, 2) << flag << " " << value << "\n" << ran.err;
    EXPECT_NE(ran.err.find(flag + " " + value), std::string::npos) << ran.err;
    EXPECT_FALSE(fs::exists(touched)) << "a job ran despite " << flag << " " << value;
  }
}

TEST(StartGateRuns, ALoadNoMachineReachesRunsEverything) {
  // --memfree 0 asks for nothing, as in GNU parallel.
  RunOutput mapped = run_procpool(
      {"map", "-j2", "--load", "1000000", "--memfree", "0", "echo {}", ":::", "a", "b", "c"});
  EXPECT_EQ(mapped.exit_status, 0) << mapped.err;
  EXPECT_EQ(sorted_lines(mapped.out), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(mapped.err.find("holding back"), std::string::npos) << mapped.err;
  RunOutput ran = run_procpool({"run", "--lines", "--load", "1000000%", "--memfree", "1k"},
                               "echo one\necho two\n");
  EXPECT_EQ(ran.exit_status, 0) << ran.err;
  EXPECT_EQ(sorted_lines(ran.out), (std::vector<std::string>{"one", "two"}));
}

// More memory than the machine has: every job is held back, none starts, and SIGTERM ends the
// batch cleanly, each job cancelled without having started.
TEST(StartGateRuns, MemfreeAboveTheMachinesMemoryHoldsEveryJobBack) {
  ASSERT_GT(total_memory(), 0u);
  TempDir dir;
  std::string jobs = dir.write("jobs", "touch " + dir.path() + "/1\ntouch " + dir.path() +
                                           "/2\ntouch " + dir.path() + "/3\n");
  auto bg =
      Background::procpool({"run", "-j2", "--lines", "--memfree", beyond_this_machine(), jobs});
  ASSERT_TRUE(bg.wait_for_stderr("holding back job starts")) << bg.stderr_so_far();
  std::string said = bg.stderr_so_far();
  EXPECT_NE(said.find("--memfree"), std::string::npos) << said;
  EXPECT_NE(said.find("of memory available"), std::string::npos) << said;
  // Said once for the two workers holding a job each.
  EXPECT_EQ(said.find("holding back"), said.rfind("holding back")) << said;
  for (const char* name : {"1", "2", "3"}) EXPECT_FALSE(fs::exists(dir.path() + "/" + name));
  bg.signal(SIGTERM);
  BackgroundResult r = bg.wait();
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(r.exit_status, 128 + SIGTERM) << r.err;
  for (const char* name : {"1", "2", "3"}) EXPECT_FALSE(fs::exists(dir.path() + "/" + name));
  EXPECT_NE(r.err.find("cancelled before it started"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 cancelled"), std::string::npos) << r.err;
}

// A host too loaded holds the jobs back; once its load falls they all run.
TEST(StartGateRuns, LoadHoldsJobsBackUntilItFalls) {
  TempDir root, out;
  write_atomically(root.path() + "/loadavg", loadavg_line(50));
  auto bg = Background({"env", "PROCPOOL_PROC_ROOT=" + root.path(), procpool_bin(), "map", "-j2",
                        "--load", "4", "touch " + out.path() + "/{}", ":::", "a", "b", "c"});
  ASSERT_TRUE(bg.wait_for_stderr("holding back job starts")) << bg.stderr_so_far();
  std::string said = bg.stderr_so_far();
  EXPECT_NE(said.find("its 1-minute load average is 50.00, not below the 4 of --load"),
            std::string::npos)
      << said;
  for (const char* name : {"a", "b", "c"}) EXPECT_FALSE(fs::exists(out.path() + "/" + name));
  write_atomically(root.path() + "/loadavg", loadavg_line(0.5));
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  for (const char* name : {"a", "b", "c"}) EXPECT_TRUE(fs::exists(out.path() + "/" + name));
  EXPECT_NE(r.err.find("job starts resume"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("holding back"), r.err.rfind("holding back")) << r.err;
}

// A job's timeout counts from when it starts, not from when it was handed to its worker: held
// past its timeout (and past the coordinator's backstop of timeout + stop sequence + grace), a
// quick job still succeeds. The wait creates the condition; nothing is asserted about time.
TEST(StartGateRuns, TimeoutCountsFromTheStartNotFromTheHold) {
  TempDir root, out;
  write_atomically(root.path() + "/loadavg", loadavg_line(50));
  auto bg = Background({"env", "PROCPOOL_PROC_ROOT=" + root.path(), procpool_bin(), "map", "--load",
                        "4", "--timeout", "1", "--term-seq", "TERM,100ms,KILL",
                        "touch " + out.path() + "/{}", ":::", "a"});
  ASSERT_TRUE(bg.wait_for_stderr("holding back job starts")) << bg.stderr_so_far();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  write_atomically(root.path() + "/loadavg", loadavg_line(0.5));
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_TRUE(fs::exists(out.path() + "/a")) << r.err;
}

// /proc unreadable: the gate is open, and the log says so once (three workers, one line).
TEST(StartGateRuns, WithoutProcJobsRunAndTheLogSaysSo) {
  RunOutput r =
      run_program({"env", "PROCPOOL_PROC_ROOT=/nonexistent/proc", procpool_bin(), "map", "-j3",
                   "--load", "0", "--memfree", "1P", "echo {}", ":::", "1", "2", "3", "4"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(sorted_lines(r.out), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_NE(r.err.find("cannot read the load average from /nonexistent/proc/loadavg"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("cannot read the available memory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("cannot read the load"), r.err.rfind("cannot read the load")) << r.err;
}

// --halt soon starts nothing new: a job its host holds back is withdrawn, not started later.
TEST(StartGateRuns, HaltSoonWithdrawsHeldJobs) {
  TempDir root, out;
  write_atomically(root.path() + "/loadavg", loadavg_line(0));
  std::string raised = out.path() + "/raised";
  std::string go = out.path() + "/go";
  auto bg = Background({"env", "PROCPOOL_PROC_ROOT=" + root.path(), procpool_bin(), "run",
                        "--lines", "-j2", "--load", "4", "--halt", "soon,fail=1"},
                       {.stdout_path = "", .keep_stdin_open = true});
  // The first job raises the load, says so, and fails once told to.
  bg.write_stdin("echo '50.00 0.50 0.40 1/123 4567' > " + root.path() + "/loadavg.new && mv " +
                 root.path() + "/loadavg.new " + root.path() + "/loadavg && echo 1 > " + raised +
                 " && while [ ! -e " + go + " ]; do sleep 0.02; done; exit 1\n");
  ASSERT_TRUE(wait_for_file(raised)) << bg.stderr_so_far();
  bg.write_stdin("touch " + out.path() + "/second\n");
  ASSERT_TRUE(bg.wait_for_stderr("holding back job starts")) << bg.stderr_so_far();
  write_atomically(go, "1");
  ASSERT_TRUE(bg.wait_for_stderr("cancelled before it started")) << bg.stderr_so_far();
  write_atomically(root.path() + "/loadavg", loadavg_line(0));  // it must not start even now
  bg.close_stdin();
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_FALSE(fs::exists(out.path() + "/second")) << r.err;
}

// --- the library ---

// PoolOptions::min_memory_available: a held job waits, and stop() ends it without it starting.
TEST(StartGatePool, AHeldJobCanBeStopped) {
  std::mutex mu;
  std::condition_variable cv;
  std::string held;
  set_log_handler([&](LogLevel, std::string_view line) {
    std::lock_guard lock(mu);
    if (line.find("holding back") != std::string_view::npos) held = line;
    cv.notify_all();
  });
  struct Restore {
    ~Restore() { set_log_handler(nullptr); }
  } restore;  // also when an assertion returns early: the handler refers to this frame
  TempDir dir;
  std::string touched = dir.path() + "/touched";
  {
    PoolOptions options = pool_options(1);
    options.min_memory_available = total_memory() * 2;
    ProcessPool pool(options);
    Future f = pool.submit(shell_job("never", "touch " + touched));
    {
      std::unique_lock lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return !held.empty(); }));
    }
    EXPECT_FALSE(f.done());
    EXPECT_TRUE(pool.stop(f));
    const Result& r = f.result(kPatience);
    EXPECT_EQ(r.status, Status::kCancelled);
    EXPECT_NE(r.error.find("before it started"), std::string::npos) << r.error;
  }
  EXPECT_FALSE(fs::exists(touched));
}

// --- side by side with GNU parallel ---

// `parallel ARGS` and `procpool map ARGS` (which echo 1, 2, 3) both succeed, printing the same.
void both_run_every_job(const std::vector<std::string>& args) {
  std::vector<std::string> gnu{"parallel", "--will-cite"};
  gnu.insert(gnu.end(), args.begin(), args.end());
  RunOutput theirs = run_program(gnu);
  std::vector<std::string> ours{"map"};
  ours.insert(ours.end(), args.begin(), args.end());
  RunOutput mine = run_procpool(ours);
  EXPECT_EQ(theirs.exit_status, 0) << theirs.err;
  EXPECT_EQ(mine.exit_status, 0) << mine.err;
  EXPECT_EQ(sorted_lines(mine.out), sorted_lines(theirs.out));
  EXPECT_EQ(sorted_lines(mine.out), (std::vector<std::string>{"1", "2", "3"}));
}

// The N% form: a percentage of the CPUs, which both read the same way. So large that no
// machine's load reaches it, so both must run every job whatever else the machine is doing.
TEST(StartGateGnu, LoadPercentOfTheCpusRunsEverything) {
  if (!have_program("parallel")) GTEST_SKIP() << "GNU parallel missing: scripts/setup installs it";
  std::vector<std::string> args{"--load", "100000%", "echo {}", ":::", "1", "2", "3"};
  both_run_every_job(args);
}

// --load 100%: one per CPU. On a machine that is busy (a parallel build, the rest of the test
// suite) either tool may rightly wait for as long as it stays busy, so this runs only on a quiet
// one.
TEST(StartGateGnu, LoadOnePerCpuRunsEverythingOnAQuietMachine) {
  if (!have_program("parallel")) GTEST_SKIP() << "GNU parallel missing: scripts/setup installs it";
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (load >= cpus / 2.0) {
    GTEST_SKIP() << "this machine is busy (load " << load << " on " << cpus
                 << " CPUs): --load 100% could hold jobs back for as long as it stays so";
  }
  std::vector<std::string> args{"--load", "100%", "echo {}", ":::", "1", "2", "3"};
  both_run_every_job(args);
}

}  // namespace
}  // namespace procpool::testing
