// Machine faults under real processes: the coordinator must turn each one into the failure of
// the job that met it (or into a smaller pool), never into a dead, hung or falsely green batch.
//
//   descriptors    ulimit -n too small for -j workers: fewer at a time, with one warning; too
//                  small for any worker: exit 2, every job an error saying why
//   full TMPDIR    a job whose spilled output no longer fits: that job is an error, not the batch
//   stopped worker a worker under SIGSTOP cannot hold its job past timeout + grace, nor hold
//                  off SIGTERM; the job's group is ended by the coordinator itself
//   frame size     a command or environment larger than one frame: that job is an error
//   process limit  ulimit -u refusing new processes: retried while jobs end and free some;
//                  when nothing can start, the jobs fail after one shared, bounded window
//
// Every case also checks the two rules no fault may break (expect_sane_end): the run ends (a
// wait limit, then SIGKILL and a failure), and it never exits 0 when a job did not succeed.
// Cases that need root (mount, setpriv) or a tool (prlimit, setpriv) skip without it. Each
// process-limit case has its own spare uid, since RLIMIT_NPROC counts a real uid's processes
// machine-wide and ctest runs cases in parallel.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
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
#include "tests/support/tmpfs.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Wait limit for every run: each would otherwise hang for good (a stopped worker, a sleep 1000)
// or end in a few seconds. Proves "did not hang"; not a performance assertion.
constexpr auto kNoHang = 30s;

// The rules no fault may break: the run ended by itself, every job of the input is accounted
// for exactly once, and a batch with any job that did not succeed never exits 0.
void expect_sane_end(const BackgroundResult& r, const Report& rep, size_t jobs_in_input) {
  EXPECT_FALSE(r.hung) << "procpool had to be killed after " << kNoHang.count() << " s\n"
                       << r.err.substr(0, 4000);
  EXPECT_EQ(rep.job_records, jobs_in_input) << r.out.substr(0, 2000);
  EXPECT_EQ(rep.jobs.size(), jobs_in_input);
  ASSERT_TRUE(rep.summary.is_object()) << "no summary record:\n" << r.out.substr(0, 2000);
  EXPECT_EQ(rep.summary["total"], jobs_in_input) << rep.summary.dump();
  bool all_ok = true;
  for (const auto& [name, job] : rep.jobs) all_ok = all_ok && job["status"] == "ok";
  if (!all_ok) {
    EXPECT_NE(r.exit_status, 0) << "exit 0 although a job did not succeed";
  }
}

// Same, for a text-mode run: the headers on stderr tell which jobs did not succeed.
void expect_sane_text_end(const BackgroundResult& r) {
  EXPECT_FALSE(r.hung) << r.err.substr(0, 4000);
  bool all_ok = !std::regex_search(
      r.err, std::regex(R"((^|\n)\[(failed|error|timeout|crashed|cancelled|skipped)\])"));
  if (!all_ok) {
    EXPECT_NE(r.exit_status, 0) << "exit 0 although a job did not succeed";
  }
}

bool have_program(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// How many times `needle` occurs in `text`.
size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Pids of the processes whose real uid is `uid`, from /proc.
std::vector<pid_t> processes_of_uid(uid_t uid) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::istringstream status(slurp(std::string("/proc/") + e->d_name + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (!line.starts_with("Uid:")) continue;
      std::istringstream fields(line.substr(4));
      long real = -1;
      fields >> real;
      if (real == static_cast<long>(uid)) out.push_back(static_cast<pid_t>(std::stol(e->d_name)));
      break;
    }
  }
  ::closedir(proc);
  return out;
}

// The single state letter of /proc/PID/stat ('S', 'T', 'Z', ...), or '\0' when it is gone.
char state_of(pid_t pid) {
  std::string stat = proc_stat(pid);
  return stat.empty() ? '\0' : stat.back();
}

std::string cmdline_of(pid_t pid) {
  std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : cmdline) c = c == '\0' ? ' ' : c;
  return cmdline;
}

class FaultsTest : public JobDirTest {
 protected:
  // Anything a failed case left: the stopped processes it made, resumed and killed; then
  // whatever was re-parented to the test must not exist (live or zombie).
  void TearDown() override {
    for (pid_t pid : stopped_) {
      if (!process_gone(pid) && cmdline_of(pid).find("procpool") != std::string::npos) {
        ::kill(pid, SIGKILL);
        ::kill(pid, SIGCONT);
      }
    }
    for (pid_t pgid : groups_) {
      if (pgid > 1 && !group_gone(pgid)) {
        ::kill(-pgid, SIGKILL);
        ::kill(-pgid, SIGCONT);
      }
    }
    auto left = reaper_.leftovers();
    std::string listing;
    for (const auto& l : left) listing += "\n  " + l;
    EXPECT_TRUE(left.empty()) << "processes left behind by the run:" << listing;
  }

  ScopedSubreaper reaper_;
  std::vector<pid_t> stopped_;  // processes the test SIGSTOPped
  std::vector<pid_t> groups_;   // job process groups to clean up if a case failed
};

// ---- descriptors -----------------------------------------------------------------------------

class FaultsDescriptors : public FaultsTest {
 protected:
  void SetUp() override {
    if (!have_program("/usr/bin/prlimit")) GTEST_SKIP() << "prlimit (util-linux) missing";
  }
  // procpool ARGS... under `prlimit --nofile=LIMIT` (soft and hard).
  std::vector<std::string> under_nofile(int limit, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"/usr/bin/prlimit", "--nofile=" + std::to_string(limit),
                                  procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

// -j30 under ulimit -n 40: the pool is as large as the descriptors allow, says so once, and
// every job still runs and succeeds.
TEST_F(FaultsDescriptors, TooFewForEverySlotRunsFewerAtOnceWithOneWarning) {
  constexpr int kJobs = 40;
  json jobs = json::array();
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", "echo " + std::to_string(i)}});
  }
  std::string file = job_file(jobs);
  Background bg(under_nofile(40, {"run", "-j30", "--format", "jsonl", file}));
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, kJobs);

  EXPECT_EQ(r.exit_status, 0) << r.err;
  std::set<long> workers;
  for (int i = 0; i < kJobs; ++i) {
    const json& job = rep.jobs["j" + std::to_string(i)];
    EXPECT_EQ(job["status"], "ok") << job.dump();
    EXPECT_EQ(job["stdout"], std::to_string(i) + "\n") << job.dump();
    if (job["worker"].is_number()) workers.insert(job["worker"].get<long>());
  }
  EXPECT_EQ(rep.summary["ok"], kJobs) << rep.summary.dump();

  EXPECT_EQ(count_of(r.err, "only enough file descriptors"), 1u) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.err, m,
      std::regex(R"(warning: only enough file descriptors for (\d+) workers \(ulimit -n is 40\): )"
                 R"(running (\d+) jobs at a time instead of 30; )")))
      << r.err;
  int capacity = std::stoi(m[1]);
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GE(capacity, 1);
  EXPECT_LT(capacity, 30);
  // What the warning says is what happened: no more workers than it announced ever ran a job.
  EXPECT_GE(workers.size(), 1u);
  EXPECT_LE(workers.size(), static_cast<size_t>(capacity)) << r.out.substr(0, 2000);
}

// The same squeeze in text mode with outputs big enough to spill to temporary files (each one a
// descriptor in the coordinator): the pool must leave room for them, and every byte arrives.
TEST_F(FaultsDescriptors, SpillFilesStillFitUnderTheLimit) {
  constexpr int kJobs = 8;
  constexpr uint64_t kBytes = 2u << 20;  // past the 1 MiB kept in memory
  json jobs = json::array();
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back({{"name", "flood" + std::to_string(i)},
                    {"cmd", {helper("flood"), std::to_string(kBytes)}}});
  }
  std::string file = job_file(jobs);
  std::string out_path = path("out");
  Background bg(under_nofile(40, {"run", "-j30", file}), {.stdout_path = out_path});
  auto r = bg.wait(kNoHang);
  expect_sane_text_end(r);

  EXPECT_EQ(r.exit_status, 0) << r.err;
  size_t ok_headers = 0;
  for (const std::string& line : lines(r.err)) ok_headers += line.starts_with("[ok] flood");
  EXPECT_EQ(ok_headers, static_cast<size_t>(kJobs)) << r.err;
  EXPECT_EQ(std::filesystem::file_size(out_path), kJobs * kBytes);
  EXPECT_EQ(count_of(r.err, "only enough file descriptors"), 1u) << r.err;
}

// ulimit -n 12 leaves no descriptors for even one worker's pipes: exit 2 at once, with every
// job an error that says what to raise.
TEST_F(FaultsDescriptors, NoneLeftForAnyWorkerExitsTwo) {
  constexpr int kJobs = 10;
  json jobs = json::array();
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", "echo " + std::to_string(i)}});
  }
  std::string file = job_file(jobs);
  Background bg(under_nofile(12, {"run", "-j30", "--format", "jsonl", file}));
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, kJobs);

  EXPECT_EQ(r.exit_status, 2) << r.err;
  const std::string why =
      "could not start any worker: no file descriptors left for its pipes (ulimit -n is 12)";
  EXPECT_NE(r.err.find("procpool: error: " + why), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise the limit with ulimit -n"), std::string::npos) << r.err;
  for (const auto& [name, job] : rep.jobs) {
    EXPECT_EQ(job["status"], "error") << job.dump();
    EXPECT_EQ(job["attempts"], 0) << job.dump();
    EXPECT_NE(job.value("error", "").find(why), std::string::npos) << job.dump();
  }
  EXPECT_EQ(rep.summary["error"], kJobs) << rep.summary.dump();
  EXPECT_EQ(rep.summary["ok"], 0) << rep.summary.dump();
}

// ---- a full TMPDIR -----------------------------------------------------------------------------

class FaultsTmpdir : public FaultsTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    tmpfs_ = std::make_unique<ScopedTmpfs>(path("tmp"), "512k");
    if (!tmpfs_->mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << tmpfs_->error();
  }
  void TearDown() override {
    FaultsTest::TearDown();
    tmpfs_.reset();
  }

  // One job prints 3 MiB (1 MiB is kept in memory, the rest must spill into the 512 KiB
  // TMPDIR), the other a line.
  std::string spilling_batch() const {
    return job_file(json::array({
        {{"name", "big"}, {"cmd", {helper("flood"), std::to_string(3u << 20)}}},
        {{"name", "small"}, {"cmd", "echo small"}},
    }));
  }

  // procpool ARGS... with TMPDIR on the small tmpfs.
  std::vector<std::string> with_small_tmpdir(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"/usr/bin/env", "TMPDIR=" + path("tmp"), procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Nothing procpool wrote stays in the TMPDIR (spill files are unlinked from the start).
  void expect_tmpdir_empty() const {
    std::error_code ec;
    auto it = std::filesystem::directory_iterator(path("tmp"), ec);
    EXPECT_FALSE(ec) << ec.message();
    if (!ec) {
      EXPECT_TRUE(it == std::filesystem::directory_iterator()) << "left in TMPDIR: " << it->path();
    }
  }

  std::unique_ptr<ScopedTmpfs> tmpfs_;
};

TEST_F(FaultsTmpdir, OutputThatCannotBeKeptFailsOnlyItsJob) {
  std::string file = spilling_batch();
  Background bg(with_small_tmpdir({"run", "-j2", "--format", "jsonl", file}));
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, 2);

  EXPECT_EQ(r.exit_status, 1) << "a lost output is one job's failure, not a usage error\n" << r.err;
  const json& big = rep.jobs["big"];
  EXPECT_EQ(big["status"], "error") << big.dump().substr(0, 1000);
  EXPECT_EQ(big["exit_code"], 0) << "the job itself ran and exited 0";
  std::string error = big.value("error", "");
  EXPECT_NE(error.find("its output could not be kept"), std::string::npos) << error;
  EXPECT_NE(error.find(path("tmp")), std::string::npos) << "names the directory: " << error;
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_TRUE(std::regex_search(error, std::regex(R"(\d+ bytes were lost)"))) << error;
  EXPECT_NE(error.find("exited with status 0"), std::string::npos) << error;

  const json& small = rep.jobs["small"];
  EXPECT_EQ(small["status"], "ok") << small.dump();
  EXPECT_EQ(small["stdout"], "small\n") << small.dump();
  EXPECT_EQ(rep.summary["ok"], 1) << rep.summary.dump();
  EXPECT_EQ(rep.summary["error"], 1) << rep.summary.dump();
  expect_tmpdir_empty();
}

TEST_F(FaultsTmpdir, OutputThatCannotBeKeptInTextMode) {
  std::string file = spilling_batch();
  std::string out_path = path("out");
  Background bg(with_small_tmpdir({"run", "-j2", file}), {.stdout_path = out_path});
  auto r = bg.wait(kNoHang);
  expect_sane_text_end(r);

  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_NE(r.err.find("[error] big (its output could not be kept"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[ok] small"), std::string::npos) << r.err;
  std::string out = slurp(out_path);
  EXPECT_NE(out.find("small\n"), std::string::npos);
  // Whatever of big's output was kept is written, never more than it printed.
  EXPECT_LT(out.size(), (3u << 20) + 6);
  expect_tmpdir_empty();
}

// ---- a stopped worker --------------------------------------------------------------------------

class FaultsStoppedWorker : public FaultsTest {
 protected:
  // A shell job that writes "WORKER_PID JOB_PID" (its parent is the worker; the shell execs
  // sleep, so its pid is the job's process group) to `file`, then sleeps for good.
  std::string recording_sleeper(const std::string& file) const {
    std::string p = path(file);
    return "echo $PPID $$ > " + p + ".tmp && mv " + p + ".tmp " + p + "; exec sleep 1000";
  }

  // Waits for the sleeper's record, checks its worker is a procpool worker, and SIGSTOPs it.
  // Returns {worker, job}; {-1, -1} (with a failure recorded) when that did not work out.
  std::pair<pid_t, pid_t> stop_the_worker_of(const std::string& file) {
    std::string p = path(file);
    if (!wait_for_file(p, kNoHang)) {
      ADD_FAILURE() << "the job never wrote " << p;
      return {-1, -1};
    }
    std::istringstream in(slurp(p));
    long worker = -1, job = -1;
    in >> worker >> job;
    if (worker <= 1 || job <= 1) {
      ADD_FAILURE() << "bad record: " << slurp(p);
      return {-1, -1};
    }
    groups_.push_back(static_cast<pid_t>(job));
    std::string cmdline = cmdline_of(static_cast<pid_t>(worker));
    if (cmdline.find("worker") == std::string::npos) {
      ADD_FAILURE() << "pid " << worker << " is not a procpool worker: " << cmdline;
      return {-1, -1};
    }
    stopped_.push_back(static_cast<pid_t>(worker));
    EXPECT_EQ(::kill(static_cast<pid_t>(worker), SIGSTOP), 0);
    EXPECT_TRUE(eventually([&] { return state_of(static_cast<pid_t>(worker)) == 'T'; }))
        << proc_stat(static_cast<pid_t>(worker));
    return {static_cast<pid_t>(worker), static_cast<pid_t>(job)};
  }

  // Neither the stopped worker nor anything of the job survives the run.
  void expect_gone(pid_t worker, pid_t job) {
    EXPECT_TRUE(eventually([&] { return group_gone(job); }))
        << "the job's process group " << job << " survived: " << proc_stat(job);
    EXPECT_TRUE(eventually([&] { return process_gone(worker); }))
        << "the stopped worker " << worker << " survived: " << proc_stat(worker);
  }
};

// The job's timeout is reached while its worker is stopped: the coordinator ends the job itself
// within timeout + grace, reports it as a timeout, and the rest of the batch runs on a new
// worker (-j1: nothing else could run them).
TEST_F(FaultsStoppedWorker, TimeoutIsEnforcedWithoutTheWorker) {
  // 2 s rather than 1 s: the test must stop the worker before the worker itself acts on the
  // timeout, even on a loaded machine (checked below).
  std::string file = job_file(json::array({
      {{"name", "sleeper"}, {"cmd", recording_sleeper("sleeper.pids")}, {"timeout", "2s"}},
      {{"name", "a"}, {"cmd", "echo a"}},
      {{"name", "b"}, {"cmd", "echo b"}},
  }));
  Background bg = Background::procpool({"run", "-j1", "--format", "jsonl", file});
  auto [worker, job] = stop_the_worker_of("sleeper.pids");
  ASSERT_GT(worker, 0);
  // Alive (running or sleeping, not yet a zombie): the worker had not begun stopping it.
  char state = state_of(job);
  ASSERT_TRUE(state == 'S' || state == 'R' || state == 'D')
      << "the job had already ended before its worker was stopped: " << proc_stat(job)
      << "; the case proves nothing";
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, 3);

  EXPECT_LT(r.elapsed, 20s) << "2 s timeout + 2.2 s grace; the stopped worker would hang it";
  EXPECT_EQ(r.exit_status, 1) << r.err;
  const json& sleeper = rep.jobs["sleeper"];
  EXPECT_EQ(sleeper["status"], "timeout") << sleeper.dump();
  EXPECT_EQ(sleeper["worker"], worker) << sleeper.dump();
  EXPECT_NE(sleeper.value("error", "").find("its worker did not end it"), std::string::npos)
      << sleeper.dump();
  for (const char* name : {"a", "b"}) {
    const json& other = rep.jobs[name];
    EXPECT_EQ(other["status"], "ok") << other.dump();
    EXPECT_EQ(other["stdout"], std::string(name) + "\n") << other.dump();
    EXPECT_NE(other["worker"], worker) << "ran on the stopped worker? " << other.dump();
  }
  EXPECT_NE(r.err.find("worker " + std::to_string(worker)), std::string::npos)
      << "the stopped worker is named in a warning\n"
      << r.err;
  expect_gone(worker, job);
}

// No timeout, and the worker is stopped: SIGTERM still ends the batch within the grace, with
// the job cancelled, pending jobs cancelled unstarted, and procpool exiting 143.
TEST_F(FaultsStoppedWorker, SigtermIsNotHeldOffByIt) {
  std::string file = job_file(json::array({
      {{"name", "sleeper"}, {"cmd", recording_sleeper("sleeper.pids")}},
      {{"name", "never"}, {"cmd", "touch " + path("never")}},
  }));
  Background bg = Background::procpool({"run", "-j1", "--format", "jsonl", file});
  auto [worker, job] = stop_the_worker_of("sleeper.pids");
  ASSERT_GT(worker, 0);
  auto signalled = std::chrono::steady_clock::now();
  bg.signal(SIGTERM);
  auto r = bg.wait(kNoHang);
  auto after_signal = std::chrono::steady_clock::now() - signalled;
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, 2);

  EXPECT_LT(after_signal, 15s) << "the stop sequence plus 2.2 s grace; a stopped worker would "
                                  "hang it for good";
  EXPECT_EQ(r.exit_status, 128 + SIGTERM) << r.err;
  const json& sleeper = rep.jobs["sleeper"];
  EXPECT_EQ(sleeper["status"], "cancelled") << sleeper.dump();
  EXPECT_EQ(sleeper["attempts"], 1) << sleeper.dump();
  EXPECT_NE(sleeper.value("error", "").find("its worker did not end it"), std::string::npos)
      << sleeper.dump();
  EXPECT_EQ(rep.jobs["never"]["status"], "cancelled") << rep.jobs["never"].dump();
  EXPECT_EQ(rep.jobs["never"]["attempts"], 0) << rep.jobs["never"].dump();
  EXPECT_FALSE(file_exists(path("never")));
  expect_gone(worker, job);
}

// ---- commands larger than a frame --------------------------------------------------------------

class FaultsFrameSize : public FaultsTest {
 protected:
  // Runs `jobs` (jsonl) and checks the frame-size error of each job named in `too_large`, and
  // that `normal` succeeded.
  void expect_only_too_large_fail(const json& jobs, const std::vector<std::string>& too_large) {
    std::string file = job_file(jobs);
    Background bg = Background::procpool({"run", "-j2", "--format", "jsonl", file});
    auto r = bg.wait(kNoHang);
    Report rep = parse_report(r.out);
    expect_sane_end(r, rep, jobs.size());

    EXPECT_EQ(r.exit_status, 1) << r.err.substr(0, 4000);
    for (const std::string& name : too_large) {
      const json& job = rep.jobs[name];
      EXPECT_EQ(job["status"], "error") << name;
      EXPECT_EQ(job["attempts"], 0) << name;
      std::string error = job.value("error", "");
      EXPECT_NE(error.find("take more than the 16 MiB a job may send to its worker"),
                std::string::npos)
          << name << ": " << error.substr(0, 1000);
      EXPECT_NE(error.find("pass large data through a file"), std::string::npos) << error;
    }
    const json& normal = rep.jobs["normal"];
    EXPECT_EQ(normal["status"], "ok") << normal.dump();
    EXPECT_EQ(normal["stdout"], "fine\n") << normal.dump();
    EXPECT_EQ(rep.summary["ok"], 1) << rep.summary.dump();
    EXPECT_EQ(rep.summary["error"], too_large.size()) << rep.summary.dump();
    // No worker was lost to it: nothing crashed.
    EXPECT_EQ(rep.summary["crashed"], 0) << rep.summary.dump();
  }

  static constexpr size_t kOverAFrame = 17u << 20;  // kMaxFrameBytes is 16 MiB
};

TEST_F(FaultsFrameSize, CommandLargerThanAFrameFailsOnlyItsJob) {
  expect_only_too_large_fail(
      json::array({
          {{"name", "huge-shell"}, {"cmd", "true " + std::string(kOverAFrame, 'x')}},
          {{"name", "huge-argv"}, {"cmd", {"true", std::string(kOverAFrame, 'y')}}},
          {{"name", "normal"}, {"cmd", "echo fine"}},
      }),
      {"huge-shell", "huge-argv"});
}

TEST_F(FaultsFrameSize, EnvironmentLargerThanAFrameFailsOnlyItsJob) {
  expect_only_too_large_fail(json::array({
                                 {{"name", "huge-env"},
                                  {"cmd", "echo unreachable"},
                                  {"env", {{"BIG", std::string(kOverAFrame, 'z')}}}},
                                 {{"name", "normal"}, {"cmd", "echo fine"}},
                             }),
                             {"huge-env"});
}

// Just under a frame, but far over what exec accepts: the worker reports the exec error as
// that job's error, and stays alive for the next job (-j1).
TEST_F(FaultsFrameSize, CommandThatFitsAFrameButNotExecIsAnError) {
  std::string file = job_file(json::array({
      {{"name", "long"}, {"cmd", "true " + std::string(15u << 20, 'x')}},
      {{"name", "normal"}, {"cmd", "echo fine"}},
  }));
  Background bg = Background::procpool({"run", "-j1", "--format", "jsonl", file});
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, 2);

  EXPECT_EQ(r.exit_status, 1) << r.err.substr(0, 4000);
  const json& job = rep.jobs["long"];
  EXPECT_EQ(job["status"], "error");
  EXPECT_NE(job.value("error", "").find("Argument list too long"), std::string::npos)
      << job.value("error", "").substr(0, 1000);
  EXPECT_EQ(rep.jobs["normal"]["status"], "ok") << rep.jobs["normal"].dump();
  EXPECT_EQ(rep.jobs["normal"]["worker"], job["worker"]) << "the worker survived and went on";
}

// ---- the process limit (EAGAIN) ----------------------------------------------------------------

// Runs procpool as a spare uid under `prlimit --nproc`. RLIMIT_NPROC counts every task (threads
// too) of the real uid, machine-wide: the coordinator is two (main loop, pool manager), each
// worker one, each job process one.
class FaultsProcessLimit : public FaultsTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "running as a spare uid needs root";
    if (!have_program("/usr/bin/setpriv")) GTEST_SKIP() << "setpriv (util-linux) missing";
    if (!have_program("/usr/bin/prlimit")) GTEST_SKIP() << "prlimit (util-linux) missing";
    // The spare uid reads the job file from here and its jobs may write here.
    ::chmod(dir_.path().c_str(), 0777);
  }

  // procpool ARGS... as `uid` with at most `nproc` processes.
  std::vector<std::string> limited(uid_t uid, int nproc,
                                   const std::vector<std::string>& args) const {
    std::string id = std::to_string(uid);
    // LeakSanitizer checks at exit from a thread of its own, which the limit would refuse (and
    // then abort the run); leaks are checked everywhere else.
    std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=" + id,
                                  "--regid=" + id,    "--clear-groups",
                                  "/usr/bin/prlimit", "--nproc=" + std::to_string(nproc),
                                  "/usr/bin/env",     "ASAN_OPTIONS=detect_leaks=0",
                                  procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // `n` jobs of `sleep SECONDS`, named j0, j1, ...
  static json sleep_jobs(int n, const char* seconds) {
    json jobs = json::array();
    for (int i = 0; i < n; ++i) {
      jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", {"sleep", seconds}}});
    }
    return jobs;
  }

  // Runs `jobs` at `-j` as the spare `uid` under `--nproc`, in JSON lines, and checks the rules
  // every fault keeps.
  std::pair<BackgroundResult, Report> run_limited(uid_t uid, int nproc, const char* j,
                                                  const json& jobs) {
    Background bg(limited(uid, nproc, {"run", j, "--format", "jsonl", job_file(jobs)}));
    auto r = bg.wait(kNoHang);
    Report rep = parse_report(r.out);
    expect_sane_end(r, rep, jobs.size());
    return {r, rep};
  }

  // The uid must be unused, or its processes would eat into the limit.
  bool uid_is_free(uid_t uid) { return processes_of_uid(uid).empty(); }

  void expect_uid_has_nothing_left(uid_t uid) {
    EXPECT_TRUE(eventually([&] { return processes_of_uid(uid).empty(); }))
        << processes_of_uid(uid).size() << " processes of uid " << uid << " outlived the run";
  }
};

// nproc=5 at -j2: coordinator (2) + 2 workers + 1 job. Only one job process can exist at a
// time, so whenever both workers try to start a job together (both get their first job with
// their start, and each job sleeps 0.3 s), one is refused with EAGAIN: that refusal is
// transient (the other job's end frees a process) and must be retried, not reported.
TEST_F(FaultsProcessLimit, TransientRefusalIsRetriedUntilEveryJobRan) {
  constexpr uid_t kUid = 64011;
  if (!uid_is_free(kUid)) GTEST_SKIP() << "uid " << kUid << " already has processes";
  constexpr int kJobs = 8;
  auto [r, rep] = run_limited(kUid, 5, "-j2", sleep_jobs(kJobs, "0.3"));

  EXPECT_EQ(r.exit_status, 0) << r.err;
  for (const auto& [name, job] : rep.jobs) {
    EXPECT_EQ(job["status"], "ok") << job.dump();
    EXPECT_EQ(job["exit_code"], 0) << job.dump();
  }
  EXPECT_EQ(rep.summary["ok"], kJobs) << rep.summary.dump();
  EXPECT_EQ(r.err.find("limit on processes"), std::string::npos) << r.err;
  expect_uid_has_nothing_left(kUid);
}

// The same limit as above, but a batch longer than the 5 s refusal window. Only one job process
// fits, so the worker refused first keeps losing the race to the other one, which starts its
// next job the moment its last one ends. The refusal is judged for the whole pool (a job is
// handed back, and the pool fails one only when no job anywhere has started for 5 s), so a
// healthy, merely tight, batch passes whole. Judged per worker, 7 of these 24 jobs failed.
TEST_F(FaultsProcessLimit, RefusalWindowIsNotExhaustedWhileOtherJobsStart) {
  constexpr uid_t kUid = 64014;
  if (!uid_is_free(kUid)) GTEST_SKIP() << "uid " << kUid << " already has processes";
  constexpr int kJobs = 24;  // 24 x 0.3 s one at a time: well past the 5 s window
  auto [r, rep] = run_limited(kUid, 5, "-j2", sleep_jobs(kJobs, "0.3"));

  EXPECT_EQ(r.exit_status, 0) << r.err;
  for (const auto& [name, job] : rep.jobs) {
    EXPECT_EQ(job["status"], "ok") << job.dump();
  }
  EXPECT_EQ(rep.summary["ok"], kJobs) << rep.summary.dump();
  expect_uid_has_nothing_left(kUid);
}

// nproc=4 at -j2: the coordinator (2 threads count) and two workers take all the room, so no
// job can ever start while both workers live. One worker leaves, the pool stays one smaller,
// says so once, and every job runs.
TEST_F(FaultsProcessLimit, WorkersThatTakeTheJobsRoomShrinkThePool) {
  constexpr uid_t kUid = 64015;
  if (!uid_is_free(kUid)) GTEST_SKIP() << "uid " << kUid << " already has processes";
  constexpr int kJobs = 6;
  auto [r, rep] = run_limited(kUid, 4, "-j2", sleep_jobs(kJobs, "0.1"));

  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(rep.summary["ok"], kJobs) << rep.summary.dump();
  std::string warning =
      "the limit on processes leaves no room for the jobs of 2 workers: "
      "running 1 jobs at a time instead of 2";
  size_t at = r.err.find(warning);
  EXPECT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(warning, at + 1), std::string::npos) << "said more than once:\n" << r.err;
  expect_uid_has_nothing_left(kUid);
}

// nproc=3 at -j1: the coordinator (2) and its one worker use it all; no job process can ever be
// made. The jobs are errors that name the process limit (not the shell they would have run),
// after one bounded retry window shared by all of them: not ~5 s per job.
TEST_F(FaultsProcessLimit, NoRoomForAnyJobFailsThemAfterOneSharedWindow) {
  constexpr uid_t kUid = 64012;
  if (!uid_is_free(kUid)) GTEST_SKIP() << "uid " << kUid << " already has processes";
  constexpr int kJobs = 5;
  json jobs = json::array();
  for (int i = 0; i < kJobs; ++i) {
    // Shell syntax: each would run through /bin/sh, which must not be blamed.
    jobs.push_back(
        {{"name", "j" + std::to_string(i)}, {"cmd", "echo " + std::to_string(i) + "; echo done"}});
  }
  std::string file = job_file(jobs);
  Background bg(limited(kUid, 3, {"run", "-j1", "--format", "jsonl", file}));
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, kJobs);

  EXPECT_LT(r.elapsed, 20s) << "the refusal window must be shared, not paid per job";
  EXPECT_EQ(r.exit_status, 1) << r.err;
  for (const auto& [name, job] : rep.jobs) {
    EXPECT_EQ(job["status"], "error") << job.dump();
    std::string error = job.value("error", "");
    EXPECT_NE(error.find("the limit on processes was reached (ulimit -u is 3"), std::string::npos)
        << error;
    EXPECT_EQ(error.find("'sh'"), std::string::npos) << "blames the shell: " << error;
    EXPECT_EQ(error.find("not found"), std::string::npos) << error;
  }
  EXPECT_EQ(rep.summary["error"], kJobs) << rep.summary.dump();
  expect_uid_has_nothing_left(kUid);
}

// nproc=2: the coordinator alone uses it all, so no worker can start; after --worker-timeout
// that is exit 2 (no worker could be started), every job an error naming the refusal.
TEST_F(FaultsProcessLimit, NoRoomForAnyWorkerExitsTwoAfterTheWorkerTimeout) {
  constexpr uid_t kUid = 64013;
  if (!uid_is_free(kUid)) GTEST_SKIP() << "uid " << kUid << " already has processes";
  constexpr int kJobs = 3;
  json jobs = json::array();
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", "echo " + std::to_string(i)}});
  }
  std::string file = job_file(jobs);
  Background bg(
      limited(kUid, 2, {"run", "-j2", "--worker-timeout", "2s", "--format", "jsonl", file}));
  auto r = bg.wait(kNoHang);
  Report rep = parse_report(r.out);
  expect_sane_end(r, rep, kJobs);

  EXPECT_LT(r.elapsed, 20s);
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("could not start any worker for 2s"), std::string::npos) << r.err;
  for (const auto& [name, job] : rep.jobs) {
    EXPECT_EQ(job["status"], "error") << job.dump();
    EXPECT_NE(job.value("error", "").find("Resource temporarily unavailable"), std::string::npos)
        << job.dump();
  }
  expect_uid_has_nothing_left(kUid);
}

}  // namespace
}  // namespace procpool::testing
