// A finished job leaves nothing behind: whatever is still under its worker when the job's main
// process has ended (daemons that escaped the job's process group with setsid or setpgid, and
// were re-parented to the worker, a child subreaper) is stopped before the job is reported, so
// the next job, and the person reading the result, find it gone.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

constexpr auto kNoHang = 30s;

class Strays : public JobDirTest {
 protected:
  // The pids a daemonize job wrote to `name` (empty when it wrote none).
  std::vector<pid_t> pids_in(const std::string& name) const {
    std::istringstream in(slurp(path(name)));
    std::vector<pid_t> out;
    for (pid_t pid; in >> pid;) out.push_back(pid);
    return out;
  }

  // A job that leaves daemons behind with tests/helpers/daemonize, their pids in `pidfile`.
  std::string daemonize(const std::string& pidfile, const std::string& how) const {
    return helper("daemonize") + " " + path(pidfile) + " " + how;
  }

  // Runs `first` as the first job of a batch that is still going on (procpool reads its job
  // lines from a pipe that stays open), and checks that once `first` is reported (`header`
  // on stderr), the `count` processes it left (pids in `pidfile`) are gone: while procpool
  // runs, and for the next job on the same worker (-j1), which looks for them itself.
  void expect_gone_when_reported(const std::string& first, const std::string& pidfile, size_t count,
                                 const std::vector<std::string>& flags = {},
                                 const std::string& header = "[ok] ") {
    std::vector<std::string> args{"run", "-j1", "--lines"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("-");
    Background bg = Background::procpool(args, {.stdout_path = "", .keep_stdin_open = true});
    bg.write_stdin(first + "\n");
    ASSERT_TRUE(bg.wait_for_stderr(header, kNoHang)) << bg.stderr_so_far();
    std::vector<pid_t> left = pids_in(pidfile);
    ASSERT_EQ(left.size(), count) << slurp(path(pidfile));
    for (pid_t pid : left) {
      // Reported only once they were reaped: no waiting here.
      EXPECT_TRUE(process_gone(pid)) << "process " << pid << " left by the job is still there ("
                                     << proc_stat(pid) << ") after its result:\n"
                                     << bg.stderr_so_far();
    }
    EXPECT_EQ(::waitpid(bg.pid(), nullptr, WNOHANG), 0) << "procpool is meant to be still running";
    std::string check;
    for (pid_t pid : left) {
      check += "kill -0 " + std::to_string(pid) + " 2>/dev/null && echo still " +
               std::to_string(pid) + "; ";
    }
    bg.write_stdin(check + "echo checked\n");
    bg.close_stdin();
    auto r = bg.wait(kNoHang);
    ASSERT_FALSE(r.hung) << r.err;
    EXPECT_EQ(lines(r.out).back(), "checked") << r.out;
    EXPECT_EQ(r.out.find("still"), std::string::npos) << "the next job found them:\n" << r.out;
  }

  ScopedSubreaper subreaper_;  // whatever a failing case leaves comes back here and is killed
};

TEST_F(Strays, SetsidDaemonIsGoneWhenItsJobIsReported) {
  expect_gone_when_reported(daemonize("d.pids", "setsid"), "d.pids", 1);
}

TEST_F(Strays, SetsidFromTheShellIsGoneWhenItsJobIsReported) {
  // The shape from the issue: a test server started in the background with setsid. It records
  // its own pid once in its new session, and the job waits for that before it ends (else the
  // group kill could catch it before it escaped).
  std::string p = path("server.pid");
  expect_gone_when_reported("setsid sh -c 'echo $$ > " + p + ".tmp && mv " + p + ".tmp " + p +
                                "; exec sleep 1000' < /dev/null > /dev/null 2>&1 & "
                                "while [ ! -e " +
                                p + " ]; do sleep 0.01; done",
                            "server.pid", 1);
}

TEST_F(Strays, DoubleForkDaemonIsGone) {
  // Leads neither its session nor its group: found as the worker's child, not through a group.
  expect_gone_when_reported(daemonize("d.pids", "double-fork"), "d.pids", 1);
}

TEST_F(Strays, DaemonInANewProcessGroupOfTheSameSessionIsGone) {
  expect_gone_when_reported(daemonize("d.pids", "setpgid"), "d.pids", 1);
}

TEST_F(Strays, DaemonThatIgnoresSigtermIsGone) {
  expect_gone_when_reported(daemonize("d.pids", "setsid --ignore-term"), "d.pids", 1);
}

TEST_F(Strays, DaemonInAnotherSessionUnderAStrayIsGoneToo) {
  // The second one comes back to the worker only when the first is killed.
  expect_gone_when_reported(daemonize("d.pids", "nested --ignore-term"), "d.pids", 2);
}

TEST_F(Strays, StraysAreAskedToStopBeforeTheyAreKilled) {
  // The job's stop sequence (TERM first): a daemon that cleans up on SIGTERM gets to.
  std::string marker = path("cleaned-up");
  expect_gone_when_reported(daemonize("d.pids", "setsid --term-marker " + marker), "d.pids", 1);
  EXPECT_TRUE(file_exists(marker)) << "the daemon was not sent SIGTERM";
}

TEST_F(Strays, StraysOfATimedOutJobAreGone) {
  expect_gone_when_reported(daemonize("d.pids", "setsid --ignore-term") + " && exec sleep 1000",
                            "d.pids", 1, {"--timeout", "500ms"}, "[timeout] ");
}

// Guard: a job that left strays is reported by its main process's ending, as before.
TEST_F(Strays, TheJobsOwnResultIsKept) {
  std::string file = job_file(json::array({
      {{"name", "fails"}, {"cmd", daemonize("f.pids", "setsid") + "; exit 3"}},
      {{"name", "passes"}, {"cmd", daemonize("p.pids", "double-fork --ignore-term")}},
  }));
  auto r = run_procpool({"run", "-j2", "--format", "jsonl", file});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["fails"]["status"], "failed") << r.out;
  EXPECT_EQ(rep.jobs["fails"]["exit_code"], 3) << r.out;
  EXPECT_EQ(rep.jobs["fails"]["stdout"], "left 1\n") << r.out;
  EXPECT_EQ(rep.jobs["passes"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["passes"]["stdout"], "left 1\n") << r.out;
  auto left = subreaper_.leftovers();
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

// Guard: processes re-parented to the worker while their job still runs are the job's to use
// (a server it talks to); only its end stops them. And a batch without strays runs as before.
TEST_F(Strays, StraysLiveUntilTheirJobEndsAndOrdinaryJobsAreUntouched) {
  std::string p = path("d.pids");
  std::string file = job_file(json::array({
      // An orphan that exits (the worker reaps it) before the job checks on its daemon.
      {{"name", "uses-its-daemon"},
       {"cmd", daemonize("d.pids", "double-fork") + " && (sh -c 'exit 0' &) && sleep 0.2 && " +
                   "kill -0 $(cat " + p + ") && echo daemon alive"}},
      {{"name", "plain"}, {"cmd", "echo plain"}},
      {{"name", "waits"}, {"cmd", "sleep 0.01 & wait; echo waited"}},
      {{"name", "fails"}, {"cmd", "echo out; exit 4"}},
  }));
  auto r = run_procpool({"run", "-j2", "--format", "jsonl", file});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  Report rep = parse_report(r.out);
  EXPECT_EQ(rep.jobs["uses-its-daemon"]["status"], "ok") << r.out;
  EXPECT_EQ(rep.jobs["uses-its-daemon"]["stdout"], "left 1\ndaemon alive\n") << r.out;
  EXPECT_EQ(rep.jobs["plain"]["stdout"], "plain\n");
  EXPECT_EQ(rep.jobs["waits"]["stdout"], "waited\n");
  EXPECT_EQ(rep.jobs["fails"]["exit_code"], 4);
  EXPECT_EQ(rep.summary["ok"], 3) << r.out;
  auto left = subreaper_.leftovers();
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

}  // namespace
}  // namespace procpool::testing
