// Scale-out tests against the real engines: workers started through ssh on network-namespace
// hosts (pph1, pph2, each with its own sshd and hostname) and through srun on a one-node Slurm
// cluster. tests/cluster/setup starts them; scripts/test (and so .ci/run) does that before
// ctest and exports what it printed. Without them these tests skip, unless
// PROCPOOL_REQUIRE_CLUSTER=1 says they must run (CI), which turns their absence into a failure.
//
// The namespace hosts share this machine's file system and pid space, so a test can hand jobs
// files and check by pid that a remote job and its grandchildren are gone.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <procpool/pool.h>
#include "cli/template.h"
#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Quoting for the shell, as procpool's own templates do it.
std::string sq(const std::string& s) {
  return shell_quote(s);
}

// Skips (or, when the cluster is required, fails) a test whose engine is not running.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ssh_config_ = env("PROCPOOL_SSH_CONFIG");
    bool required = env("PROCPOOL_REQUIRE_CLUSTER") == "1";
    if (ssh_config_.empty()) {
      if (required) FAIL() << "PROCPOOL_REQUIRE_CLUSTER=1 but tests/cluster/setup did not run";
      GTEST_SKIP() << "no test cluster: run tests/cluster/setup and source its env.sh";
    }
  }
  void need_slurm() {
    if (env("PROCPOOL_SLURM_OK") == "1") return;
    if (env("PROCPOOL_REQUIRE_CLUSTER") == "1") FAIL() << "the test cluster has no Slurm";
    GTEST_SKIP() << "the test cluster has no Slurm";
  }
  // `procpool run` on `hosts`, through the cluster's own ssh config (keys, pinned host keys,
  // keepalives).
  std::vector<std::string> run_on(std::vector<std::string> hosts) const {
    std::vector<std::string> args{"run", "--ssh-cmd", "ssh -F " + sq(ssh_config_)};
    for (auto& h : hosts) args.insert(args.end(), {"--ssh", h});
    return args;
  }
  std::string ssh_config_;
};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string job_file(const TempDir& dir, const json& jobs) {
  return dir.write("jobs.json", jobs.dump());
}

std::map<std::string, json> by_name(const std::string& jsonl) {
  std::map<std::string, json> out;
  for (auto& rec : parse_json_lines(jsonl)) {
    if (rec.contains("name") && rec.contains("status")) out[rec["name"]] = rec;
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Takes a namespace host's link down for the scope, and always brings it back.
class LinkDown {
 public:
  explicit LinkDown(std::string link) : link_(std::move(link)) {
    run_program({"ip", "link", "set", link_, "down"});
  }
  ~LinkDown() { run_program({"ip", "link", "set", link_, "up"}); }

 private:
  std::string link_;
};

// Cuts `link` while procpool runs and waits for it to end (bounded: a hang fails the test).
BackgroundResult wait_with_link_down(Background& pp, const std::string& link) {
  LinkDown cut(link);
  BackgroundResult r = pp.wait(120s);
  EXPECT_FALSE(r.hung) << "procpool hung after a host was cut off";
  return r;
}

// Runs `n` jobs that wait for each other (a barrier of files) on `hosts`, so every slot must
// hold one at once and every host is used, whichever worker says hello first. Each job prints
// its host name; returns the hosts the results name, checking each against what its job said.
std::set<std::string> hosts_of_a_barrier(const std::vector<std::string>& args, int n) {
  TempDir dir;
  json jobs = json::array();
  for (int i = 0; i < n; ++i) {
    jobs.push_back(
        {{"name", "j" + std::to_string(i)},
         {"cmd", "touch " + sq(dir.path()) + "/started." + std::to_string(i) +
                     "; i=0; while [ $(ls " + sq(dir.path()) + " | grep -c started) -lt " +
                     std::to_string(n) +
                     " ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; hostname"}});
  }
  RunOutput r = run_procpool(concat(args, {"--format", "jsonl", job_file(dir, jobs)}));
  EXPECT_EQ(r.exit_status, 0) << r.err;
  auto recs = by_name(r.out);
  EXPECT_EQ(recs.size(), static_cast<size_t>(n)) << r.out;
  std::set<std::string> hosts;
  for (auto& [name, rec] : recs) {
    EXPECT_EQ(rec["status"], "ok") << rec.dump();
    EXPECT_EQ(rec["host"], trimmed(rec["stdout"].get<std::string>())) << rec.dump();
    hosts.insert(rec["host"].get<std::string>());
  }
  return hosts;
}

TEST_F(ClusterTest, SshJobsReportTheHostTheyRanOn) {
  EXPECT_EQ(hosts_of_a_barrier(run_on({"2/pph1", "2/pph2"}), 4),
            (std::set<std::string>{"pph1", "pph2"}));
}

TEST_F(ClusterTest, ColonIsThisMachineBesideSshHosts) {
  EXPECT_EQ(hosts_of_a_barrier(run_on({"1/:", "1/pph1"}), 2),
            (std::set<std::string>{local_host_name(), "pph1"}));
}

TEST_F(ClusterTest, HeadersJunitAndJoblogNameTheHost) {
  TempDir dir;
  json jobs = json::array({{{"name", "broken"}, {"cmd", "exit 4"}}});
  std::string junit = dir.path() + "/junit.xml", joblog = dir.path() + "/joblog";
  RunOutput r = run_procpool(
      concat(run_on({"1/pph2"}), {"--junit", junit, "--joblog", joblog, job_file(dir, jobs)}));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_NE(r.err.find("[failed] broken (exit 4, "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", on pph2)"), std::string::npos) << r.err;
  EXPECT_NE(slurp(junit).find("message=\"exit 4 on pph2\""), std::string::npos) << slurp(junit);
  auto log = lines(slurp(joblog));
  ASSERT_EQ(log.size(), 2u) << slurp(joblog);
  EXPECT_EQ(log[1].substr(0, log[1].find('\t', 2)), "1\tpph2") << log[1];
}

TEST_F(ClusterTest, SshCarriesBinaryOutputByteForByte) {
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 256 * 1024; ++i) bytes += static_cast<char>((i * 7919 + i / 256) & 0xff);
  std::string file = dir.write("blob", bytes);
  json jobs =
      json::array({{{"name", "blob"}, {"cmd", "cat " + sq(file) + "; cat " + sq(file) + " >&2"}}});
  RunOutput r = run_procpool(concat(run_on({"1/pph1"}), {"-q", job_file(dir, jobs)}));
  ASSERT_EQ(r.exit_status, 0) << r.err.substr(0, 500);
  EXPECT_TRUE(r.out == bytes) << "stdout differs: " << r.out.size() << " bytes";
  EXPECT_TRUE(r.err == bytes) << "stderr differs: " << r.err.size() << " bytes";
}

TEST_F(ClusterTest, SshJobsGetTheirEnvAndTheLocalWorkingDirectory) {
  TempDir dir;
  json jobs = json::array(
      {{{"name", "here"}, {"cmd", "pwd; echo \"$GREETING\""}, {"env", {{"GREETING", "hi there"}}}},
       {{"name", "there"}, {"cmd", "pwd"}, {"cwd", dir.path()}}});
  RunOutput r =
      run_procpool(concat(run_on({"1/pph2"}), {"--format", "jsonl", job_file(dir, jobs)}));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  auto recs = by_name(r.out);
  EXPECT_EQ(recs["here"]["stdout"], std::filesystem::current_path().string() + "\nhi there\n");
  EXPECT_EQ(recs["there"]["stdout"], dir.path() + "\n");
  EXPECT_EQ(recs["here"]["host"], "pph2");
}

TEST_F(ClusterTest, RemoteTimeoutKillsTheJobAndItsGrandchildren) {
  TempDir dir;
  std::string d = sq(dir.path());
  json jobs = json::array(
      {{{"name", "stuck"},
        {"cmd", "sleep 300 & echo $! > " + d + "/gc.pid; echo $$ > " + d + "/job.pid; sleep 300"},
        {"timeout", "1s"}}});
  RunOutput r =
      run_procpool(concat(run_on({"1/pph1"}), {"--format", "jsonl", job_file(dir, jobs)}));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  auto recs = by_name(r.out);
  EXPECT_EQ(recs["stuck"]["status"], "timeout") << r.out;
  EXPECT_EQ(recs["stuck"]["host"], "pph1");
  for (const char* f : {"/gc.pid", "/job.pid"}) {
    pid_t pid = read_pid(dir.path() + f);
    ASSERT_GT(pid, 0) << f;
    EXPECT_TRUE(eventually([&] { return process_gone(pid); })) << f << ": " << proc_stat(pid);
  }
}

TEST_F(ClusterTest, CtrlCStopsRemoteJobsAndTheirGrandchildren) {
  TempDir dir;
  std::string d = sq(dir.path());
  json jobs = json::array();
  for (std::string n : {"a", "b"}) {
    jobs.push_back({{"name", n},
                    {"cmd", "sleep 300 & echo $! > " + d + "/gc." + n + "; echo $$ > " + d +
                                "/job." + n + "; sleep 300"}});
  }
  auto pp = Background::procpool(
      concat(run_on({"1/pph1", "1/pph2"}), {"--format", "jsonl", job_file(dir, jobs)}));
  for (std::string f : {"/gc.a", "/job.a", "/gc.b", "/job.b"}) {
    ASSERT_TRUE(wait_for_file(dir.path() + f)) << f << "\n" << pp.stderr_so_far();
  }
  pp.signal(SIGINT);
  BackgroundResult r = pp.wait(60s);
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(r.exit_status, 130) << r.err;
  auto recs = by_name(r.out);
  EXPECT_EQ(recs["a"]["status"], "cancelled") << r.out;
  EXPECT_EQ(recs["b"]["status"], "cancelled") << r.out;
  for (std::string f : {"/gc.a", "/job.a", "/gc.b", "/job.b"}) {
    pid_t pid = read_pid(dir.path() + f);
    EXPECT_TRUE(eventually([&] { return process_gone(pid); })) << f << ": " << proc_stat(pid);
  }
}

// --memfree is judged on the host that runs the job: a host without 100 TiB holds its jobs,
// the log names it, and a SIGTERM withdraws them unstarted.
TEST_F(ClusterTest, StartGatesAreJudgedOnTheRemoteHost) {
  TempDir dir;
  json jobs = json::array({{{"name", "held"}, {"cmd", "touch " + sq(dir.path() + "/ran")}}});
  auto pp = Background::procpool(
      concat(run_on({"1/pph1"}), {"--format", "jsonl", "--memfree", "100T", job_file(dir, jobs)}));
  ASSERT_TRUE(pp.wait_for_stderr("holding back job starts on pph1")) << pp.stderr_so_far();
  pp.signal(SIGTERM);
  BackgroundResult r = pp.wait(60s);
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(r.exit_status, 143) << r.err;
  EXPECT_EQ(by_name(r.out)["held"]["status"], "cancelled") << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/ran"));
}

TEST_F(ClusterTest, AHostCutOffMidRunLosesNoJob) {
  auto links = env("PROCPOOL_NETNS_LINKS");
  ASSERT_EQ(links.substr(0, links.find(' ')), "ppv1a") << "expected pph1's link first";
  TempDir dir;
  std::string d = sq(dir.path());
  // Every job writes where it started, then takes long enough for the cut to land mid-job.
  json jobs = json::array();
  for (int i = 0; i < 4; ++i) {
    std::string n = "j" + std::to_string(i);
    jobs.push_back(
        {{"name", n}, {"cmd", "touch " + d + "/" + n + ".$(hostname); sleep 1.5; echo " + n}});
  }
  auto pp = Background::procpool(concat(
      run_on({"1/pph1", "1/pph2"}), {"--format", "jsonl", "--retries", "2", job_file(dir, jobs)}));
  bool pph1_started = eventually(
      [&] {
        for (int i = 0; i < 4; ++i) {
          if (file_exists(dir.path() + "/j" + std::to_string(i) + ".pph1")) return true;
        }
        return false;
      },
      30s);
  ASSERT_TRUE(pph1_started) << pp.stderr_so_far();
  BackgroundResult r = wait_with_link_down(pp, "ppv1a");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  auto recs = by_name(r.out);
  ASSERT_EQ(recs.size(), 4u) << r.out;
  int rerun = 0;
  for (auto& [name, rec] : recs) {
    EXPECT_EQ(rec["status"], "ok") << rec.dump();
    EXPECT_EQ(rec["stdout"], name + "\n");
    if (rec["attempts"].get<int>() > 1) {
      ++rerun;
      EXPECT_EQ(rec["host"], "pph2") << "a lost job is rerun on the host that is left";
    }
  }
  EXPECT_GE(rerun, 1) << "the job running on pph1 when it was cut off must have been rerun";
  EXPECT_NE(r.err.find("pph1"), std::string::npos) << "the lost host is named:\n" << r.err;
}

TEST_F(ClusterTest, AHostCutOffWithoutRetriesReportsItsJobCrashedNamingTheHost) {
  TempDir dir;
  std::string d = sq(dir.path());
  json jobs = json::array({{{"name", "victim"}, {"cmd", "touch " + d + "/go; sleep 30"}}});
  auto pp =
      Background::procpool(concat(run_on({"1/pph1"}), {"--format", "jsonl", job_file(dir, jobs)}));
  ASSERT_TRUE(eventually([&] { return file_exists(dir.path() + "/go"); }, 30s))
      << pp.stderr_so_far();
  BackgroundResult r = wait_with_link_down(pp, "ppv1a");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  auto recs = by_name(r.out);
  EXPECT_EQ(recs["victim"]["status"], "crashed") << r.out;
  EXPECT_NE(recs["victim"]["error"].get<std::string>().find("pph1"), std::string::npos)
      << recs["victim"].dump();
}

// An ssh config of the cluster's own plus a host whose port refuses every connection.
std::string config_with_dead_host(const TempDir& dir, const std::string& cluster_config) {
  // The Include comes first: inside a Host block it would apply to that host alone.
  return dir.write("ssh_config", "Include " + cluster_config +
                                     "\nHost nowhere\n  HostName 127.0.0.1\n  Port 9\n");
}

TEST_F(ClusterTest, AnUnreachableHostIsNamedAndTheBatchRunsOnTheOthers) {
  TempDir dir;
  std::string config = config_with_dead_host(dir, ssh_config_);
  json jobs = json::array();
  for (int i = 0; i < 4; ++i) jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", "true"}});
  RunOutput r = run_procpool({"run", "--format", "jsonl", "--ssh-cmd", "ssh -F " + sq(config),
                              "--ssh", "2/nowhere", "--ssh", "1/pph1", job_file(dir, jobs)});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  auto recs = by_name(r.out);
  ASSERT_EQ(recs.size(), 4u);
  for (auto& [name, rec] : recs) EXPECT_EQ(rec["host"], "pph1") << rec.dump();
  EXPECT_NE(r.err.find("worker on nowhere"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << "ssh's own words:\n" << r.err;
}

TEST_F(ClusterTest, NoReachableHostFailsWithTheHostAndSshsError) {
  TempDir dir;
  std::string config = config_with_dead_host(dir, ssh_config_);
  json jobs = json::array({{{"name", "j"}, {"cmd", "true"}}});
  RunOutput r = run_procpool(
      {"run", "--ssh-cmd", "ssh -F " + sq(config), "--ssh", "1/nowhere", job_file(dir, jobs)});
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("could not start any worker"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
}

TEST_F(ClusterTest, AWorkerThatNeverStartsIsGivenUpAfterTheWorkerTimeout) {
  TempDir dir;
  // ssh waits on a proxy that never answers: a host that hangs, with no packet sent anywhere.
  std::string config =
      dir.write("ssh_config", "Include " + ssh_config_ + "\nHost hang\n  ProxyCommand sleep 300\n");
  json jobs = json::array({{{"name", "j"}, {"cmd", "true"}}});
  RunOutput r = run_procpool({"run", "--worker-timeout", "1s", "--ssh-cmd", "ssh -F " + sq(config),
                              "--ssh", "1/hang", job_file(dir, jobs)});
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("worker on hang did not start within 1s"), std::string::npos) << r.err;
}

// A batch with every kind of ending, compared field by field between local and Slurm workers.
json mixed_batch(const TempDir& dir) {
  return json::array({
      {{"name", "ok"}, {"cmd", "echo out; echo err >&2"}},
      {{"name", "fails"}, {"cmd", "echo nope >&2; exit 3"}},
      {{"name", "argv"}, {"cmd", json::array({"printf", "%s|", "a b", "$HOME"})}},
      {{"name", "env"}, {"cmd", "echo $X"}, {"env", {{"X", "from the job file"}}}},
      {{"name", "cwd"}, {"cmd", "pwd"}, {"cwd", dir.path()}},
      {{"name", "slow"}, {"cmd", "sleep 30"}, {"timeout", "500ms"}},
      {{"name", "segv"}, {"cmd", "kill -SEGV $$"}},
      {{"name", "missing"}, {"cmd", json::array({"no-such-program-here"})}},
  });
}

TEST_F(ClusterTest, SlurmGivesTheSameResultsAsLocalWorkers) {
  need_slurm();
  if (HasFatalFailure() || IsSkipped()) return;
  TempDir dir;
  std::string file = job_file(dir, mixed_batch(dir));
  RunOutput local = run_procpool({"run", "-j2", "--format", "jsonl", file});
  RunOutput slurm = run_procpool({"run", "-j2", "--slurm", "--format", "jsonl", file});
  EXPECT_EQ(local.exit_status, 1) << local.err;
  EXPECT_EQ(slurm.exit_status, 1) << slurm.err;
  auto a = by_name(local.out), b = by_name(slurm.out);
  ASSERT_EQ(a.size(), 8u) << local.out;
  ASSERT_EQ(b.size(), 8u) << slurm.out;
  for (auto& [name, rec] : a) {
    for (const char* field : {"status", "exit_code", "signal", "stdout", "stderr", "attempts"}) {
      EXPECT_EQ(rec[field], b[name][field]) << name << "." << field;
    }
  }
  EXPECT_EQ(a["slow"]["status"], "timeout");
  EXPECT_EQ(a["segv"]["status"], "crashed");
}

TEST_F(ClusterTest, SlurmWorksInsideAnAllocation) {
  need_slurm();
  if (HasFatalFailure() || IsSkipped()) return;
  TempDir dir;
  json jobs = json::array();
  for (int i = 0; i < 4; ++i) {
    jobs.push_back({{"name", "j" + std::to_string(i)}, {"cmd", "echo $SLURM_JOB_ID"}});
  }
  RunOutput r = run_program({"salloc", "--ntasks=2", "--quiet", procpool_bin(), "run", "-j2",
                             "--slurm", "--format", "jsonl", job_file(dir, jobs)});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  auto recs = by_name(r.out);
  ASSERT_EQ(recs.size(), 4u) << r.out;
  std::set<std::string> ids;
  for (auto& [name, rec] : recs) ids.insert(rec["stdout"].get<std::string>());
  EXPECT_EQ(ids.size(), 1u) << "every step runs in the one allocation";
  EXPECT_NE(*ids.begin(), "\n");
}

}  // namespace
}  // namespace procpool::testing
