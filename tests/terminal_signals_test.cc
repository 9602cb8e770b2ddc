// Signals the way a person sends them: procpool runs at a real pseudo-terminal (its session's
// controlling terminal, its process group in the foreground, stdin, stdout and stderr on it), so
// the status line is on, and the test types Ctrl-C on the keyboard side. The terminal driver
// turns it into SIGINT for the foreground process group, as for a user; procpool's workers and
// jobs lead process groups of their own, so only procpool gets it. Other signals come from
// kill(), as from another terminal or a supervisor. torture_test.cc covers the same signals
// with stderr on a pipe; this file is about the terminal: the status line cleared before the
// summary, files complete after Ctrl-C, death by the signal so a shell loop stops, dispositions
// inherited from nohup or `&`, input typed at the terminal, and the coordinator's two threads.
//
// Every wait is for an event (text on the terminal, a file a job writes) and bounded, so a
// broken run fails instead of hanging; the test is a child subreaper, and whatever a run leaves
// behind fails the test and is killed.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/job_dir_test.h"
#include "tests/support/process_checks.h"
#include "tests/support/pty.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Bound for waiting on an event or an exit that should take well under a second: proves "did
// not hang", with room for a loaded 2-core machine. Not a performance assertion.
constexpr auto kNoHang = 20s;
// What the status line always says while a batch runs ("[1/5] 2 running, 0:00 elapsed").
const std::string kStatusLine = " running, ";
// procpool's clearing of the status line: back to the line's start, erase to its end.
const std::string kClear = "\r\x1b[K";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The screen as text: escape sequences (colours, line clearing) and carriage returns removed.
// The status line's redraws then run into the next line, which substring checks do not mind.
std::string text_of(const std::string& screen) {
  std::string out;
  for (size_t i = 0; i < screen.size(); ++i) {
    if (screen[i] == '\x1b' && i + 1 < screen.size() && screen[i + 1] == '[') {
      i += 2;
      while (i < screen.size() && !(screen[i] >= 0x40 && screen[i] <= 0x7e)) ++i;
      continue;
    }
    if (screen[i] != '\r') out += screen[i];
  }
  return out;
}

// The value of `field` ("Threads", "SigBlk", ...) in /proc/PID[/task/TID]/status, or "".
std::string status_field(const std::string& status_path, const std::string& field) {
  std::istringstream in(slurp(status_path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", field.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "";
}

std::string proc_status_path(pid_t pid) {
  return "/proc/" + std::to_string(pid) + "/status";
}

// Whether a /proc signal mask (hex, "0000000000004003") has `signo` in it.
bool mask_has(const std::string& hex, int signo) {
  if (hex.empty()) return false;
  unsigned long long mask = std::stoull(hex, nullptr, 16);
  return (mask >> (signo - 1)) & 1ULL;
}

int thread_count(pid_t pid) {
  std::string n = status_field(proc_status_path(pid), "Threads");
  return n.empty() ? -1 : std::stoi(n);
}

// "" when every thread of `pid` blocks SIGINT, SIGTERM and SIGHUP (no thread can take one with
// its default action); else which thread does not.
std::string threads_not_blocking(pid_t pid) {
  std::string bad;
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
    std::string mask = status_field(t.path().string() + "/status", "SigBlk");
    std::string name = status_field(t.path().string() + "/status", "Name");
    if (mask.empty()) continue;  // it ended meanwhile
    for (int s : {SIGINT, SIGTERM, SIGHUP}) {
      if (!mask_has(mask, s)) {
        bad += " thread " + t.path().filename().string() + " (" + name + ") SigBlk=" + mask +
               " lacks " + ::sigabbrev_np(s) + ";";
      }
    }
  }
  return bad;
}

class TerminalSignals : public JobDirTest {
 protected:
  // A job body that runs until the test creates the file "go", then prints "finished".
  std::string gated(const std::string& pidfile) const {
    return pid_then(pidfile,
                    "while [ ! -e " + path("go") + " ]; do sleep 0.02; done; echo finished");
  }

  // Waits for the pid file of a running job; the pid is checked to be gone at the end.
  void wait_for_pid(const std::string& pidfile) {
    std::string p = path(pidfile);
    ASSERT_TRUE(wait_for_file(p, kNoHang)) << "the job never wrote " << p;
    pid_t pid = read_pid(p);
    ASSERT_GT(pid, 0) << slurp(p);
    pids_to_check_.push_back(pid);
  }

  // Starts procpool at a terminal, with an environment that is a person's, not a CI runner's
  // (CI folding would turn the status line off).
  std::unique_ptr<PtySession> start(const std::vector<std::string>& args,
                                    std::vector<int> ignored_signals = {}) {
    std::vector<std::string> argv{procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    PtyOptions options;
    options.unset_env = {"NO_COLOR", "GITHUB_ACTIONS", "GITLAB_CI"};
    options.set_env = {"TERM=xterm"};
    options.ignored_signals = std::move(ignored_signals);
    return std::make_unique<PtySession>(argv, options);
  }

  // Waits until the status line is on the screen: what a person sees before pressing Ctrl-C.
  static void wait_for_status_line(PtySession& pty) {
    ASSERT_TRUE(pty.wait_for(kStatusLine, kNoHang)) << "no status line:\n" << pty.screen();
  }

  // The ending a person should see: the status line cleared right before the summary (which
  // starts with `summary`), and nothing of it drawn again after: the terminal is left on a
  // fresh line, not on half a status line.
  static void expect_clean_ending(const PtyResult& r, const std::string& summary) {
    const std::string& s = r.screen;
    size_t at = s.rfind(summary);
    ASSERT_NE(at, std::string::npos) << "no summary '" << summary << "':\n" << text_of(s);
    EXPECT_TRUE(at >= kClear.size() && s.compare(at - kClear.size(), kClear.size(), kClear) == 0)
        << "the status line was not cleared right before the summary:\n"
        << ::testing::PrintToString(s.substr(at >= 80 ? at - 80 : 0, 120));
    std::string tail = s.substr(at);
    EXPECT_FALSE(contains(tail, kStatusLine)) << "status line after the summary: " << tail;
    EXPECT_FALSE(contains(tail, "elapsed")) << "status line after the summary: " << tail;
    EXPECT_FALSE(contains(tail, "\x1b[K")) << "status line redrawn after the summary: " << tail;
    EXPECT_TRUE(tail.ends_with("\r\n")) << "the terminal is left mid-line: " << tail;
  }

  // No job process the test saw is alive, and nothing at all was left behind.
  void TearDown() override {
    for (pid_t pid : pids_to_check_) {
      EXPECT_TRUE(eventually(
          [&] {
            std::string st = proc_stat(pid);
            return st.empty() || st.ends_with(" Z");
          },
          5s))
          << "job process " << pid << " (" << proc_stat(pid) << ") is still alive";
    }
    auto left = reaper_.leftovers();
    std::string listing;
    for (const auto& l : left) listing += "\n  " + l;
    EXPECT_TRUE(left.empty()) << "processes left behind by the run:" << listing;
  }

  // A batch stopped by `signo` at a terminal, typed as Ctrl-C or sent with kill(). With -j2,
  // "quick" and "bad" start first and long1 and long2 each start only after one of them
  // finished: once both long jobs run, two jobs are done, two run and "never" waits. The first
  // two take 20 ms: after jobs that short (under 5 ms), the next jobs would be sent ahead, and
  // "never" could start on bad's worker before long2, waiting behind long1, was taken back.
  PtyResult interrupt_mid_batch(const std::vector<std::string>& flags, int signo,
                                bool from_keyboard) {
    std::string file = job_file(json::array({
        {{"name", "quick"}, {"cmd", "sleep 0.02; echo quick"}},
        {{"name", "bad"}, {"cmd", "sleep 0.02; echo broke >&2; exit 3"}},
        {{"name", "long1"}, {"cmd", pid_then("long1.pid")}},
        {{"name", "long2"}, {"cmd", pid_then("long2.pid")}},
        {{"name", "never"}, {"cmd", "touch " + path("never")}},
    }));
    std::vector<std::string> args{"run", "-j", "2"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(file);
    auto pty = start(args);
    PtyResult r;
    wait_for_pid("long1.pid");
    wait_for_pid("long2.pid");
    wait_for_status_line(*pty);
    if (::testing::Test::HasFatalFailure()) return r;
    if (from_keyboard) {
      pty->ctrl_c();
    } else {
      pty->signal(signo);
    }
    r = pty->wait(kNoHang);

    std::string text = text_of(r.screen);
    EXPECT_FALSE(r.hung) << text;
    EXPECT_TRUE(r.died_of(signo)) << "procpool ended with " << r.how()
                                  << ", not by the signal: a shell loop around it would go on\n"
                                  << text;
    EXPECT_TRUE(contains(
        text, signo == SIGINT ? "interrupted: stopping all jobs" : "SIGTERM: stopping all jobs"))
        << text;
    // Its own lines start on a clean line: the warning cleared the status line first.
    EXPECT_TRUE(contains(r.screen, kClear + "procpool: ")) << ::testing::PrintToString(r.screen);
    EXPECT_TRUE(contains(text, "[ok] quick (")) << text;
    EXPECT_TRUE(contains(text, "quick\n")) << text;
    EXPECT_TRUE(contains(text, "[failed] bad (exit 3")) << text;
    EXPECT_TRUE(contains(text, "[cancelled] long1 (stopped before it finished)")) << text;
    EXPECT_TRUE(contains(text, "[cancelled] long2 (stopped before it finished)")) << text;
    EXPECT_TRUE(contains(text, "[cancelled] never (not started)")) << text;
    EXPECT_FALSE(file_exists(path("never"))) << "a pending job was started after the signal";
    expect_clean_ending(r, "1 ok, 1 failed, 0 timed out, 3 cancelled in ");
    return r;
  }

  ScopedSubreaper reaper_;
  std::vector<pid_t> pids_to_check_;  // every pid a job wrote down
};

// 1. Ctrl-C with the status line on (by default: stderr is the terminal): every job accounted
// for, the summary on a clean line, and death by SIGINT.
TEST_F(TerminalSignals, CtrlCCancelsRunningAndPendingJobsClearsTheLineAndDiesBySigint) {
  interrupt_mid_batch({}, SIGINT, /*from_keyboard=*/true);
}

// 1b. The same with the status line asked for explicitly.
TEST_F(TerminalSignals, CtrlCWithProgressFlagEndsTheSameWay) {
  interrupt_mid_batch({"--progress"}, SIGINT, /*from_keyboard=*/true);
}

// 2. After Ctrl-C, the JUnit file is complete, valid XML with a testcase for every job
// (finished, stopped and never started), and the HTML report is the whole report, not the
// "still running" placeholder it holds while the batch runs.
TEST_F(TerminalSignals, CtrlCLeavesCompleteJunitAndHtmlReport) {
  std::string xml = path("results.xml"), html_path = path("report.html");
  PtyResult r =
      interrupt_mid_batch({"--junit", xml, "--report", html_path}, SIGINT, /*from_keyboard=*/true);
  ASSERT_FALSE(r.hung);

  std::string html = slurp(html_path);
  EXPECT_TRUE(contains(html, "</html>")) << "the report was not finished:\n" << html;
  EXPECT_FALSE(contains(html, "still running this batch")) << "only the placeholder:\n" << html;
  EXPECT_TRUE(contains(html, "id=\"count-ok\">1<")) << html;
  EXPECT_TRUE(contains(html, "id=\"count-failed\">1<")) << html;
  EXPECT_TRUE(contains(html, "id=\"count-cancelled\">3<")) << html;
  // Every job is in the page's data (its job list is drawn from it by script).
  for (const char* name : {"quick", "bad", "long1", "long2", "never"}) {
    EXPECT_TRUE(contains(html, std::string("\"") + name + "\"")) << "job " << name;
  }

  std::string junit = slurp(xml);
  EXPECT_TRUE(contains(junit, "</testsuites>")) << junit;
  for (const char* name : {"quick", "bad", "long1", "long2", "never"}) {
    EXPECT_TRUE(contains(junit, std::string("<testcase name=\"") + name + "\"")) << junit;
  }
  if (run_program({"sh", "-c", "command -v xmllint"}).exit_status != 0) {
    GTEST_SKIP() << "xmllint missing (package libxml2-utils; scripts/setup installs it)";
  }
  std::string xsd = (std::filesystem::path(__FILE__).parent_path() / "data/junit.xsd").string();
  RunOutput valid = run_program({"xmllint", "--noout", "--schema", xsd, xml});
  EXPECT_EQ(valid.exit_status, 0) << valid.err << "\n" << junit;
  auto xpath = [&](const std::string& expr) {
    std::string out = run_program({"xmllint", "--xpath", expr, xml}).out;
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  EXPECT_EQ(xpath("count(//testcase)"), "5") << junit;
  for (const char* name : {"quick", "bad", "long1", "long2", "never"}) {
    EXPECT_EQ(xpath(std::string("count(//testcase[@name='") + name + "'])"), "1") << name;
  }
  EXPECT_EQ(xpath("string(//testsuite/@tests)"), "5") << junit;
  EXPECT_EQ(xpath("string(//testsuite/@failures)"), "1") << junit;
  EXPECT_EQ(xpath("string(//testsuite/@skipped)"), "3") << junit;
  EXPECT_EQ(xpath("count(//testcase[@name='quick']/*[self::failure or self::skipped])"), "0");
  EXPECT_EQ(xpath("string(//testcase[@name='bad']/failure/@type)"), "failed") << junit;
  EXPECT_EQ(xpath("string(//testcase[@name='never']/skipped/@message)"), "cancelled: not started")
      << junit;
  for (const char* name : {"long1", "long2"}) {
    EXPECT_EQ(xpath(std::string("string(//testcase[@name='") + name + "']/skipped/@message)"),
              "cancelled: stopped before it finished")
        << junit;
  }
}

// 3. SIGTERM from kill() while the status line is on: the same clean ending, death by SIGTERM.
TEST_F(TerminalSignals, SigtermWithTheStatusLineEndsCleanlyAndDiesBySigterm) {
  interrupt_mid_batch({}, SIGTERM, /*from_keyboard=*/false);
}

// 4. A second Ctrl-C kills the running jobs at once, even jobs that ignore SIGINT and SIGTERM
// and a stop sequence that would give them 30 s.
TEST_F(TerminalSignals, SecondCtrlCKillsJobsThatIgnoreIntAndTermAtOnce) {
  std::string file = job_file(json::array({
      {{"name", "stubborn"},
       {"cmd", {helper("ignore_term"), path("stubborn.pid"), path("stubborn.term")}}},
      {{"name", "trapping"},
       {"cmd", "trap '' INT TERM; " + pid_then("trapping.pid", "sleep 1000")}},
  }));
  auto pty = start({"run", "-j", "2", "--term-seq", "TERM,30s,KILL", file});
  wait_for_pid("stubborn.pid");
  wait_for_pid("trapping.pid");
  wait_for_status_line(*pty);
  ASSERT_FALSE(HasFatalFailure());
  pty->ctrl_c();
  // The first Ctrl-C was taken (its warning is out, so a second one cannot merge with it) and
  // its TERM step reached the jobs, which ignored it.
  ASSERT_TRUE(pty->wait_for("again to kill them at once", kNoHang)) << text_of(pty->screen());
  ASSERT_TRUE(wait_for_file(path("stubborn.term"), kNoHang)) << text_of(pty->screen());
  pty->ctrl_c();
  PtyResult r = pty->wait(kNoHang);

  std::string text = text_of(r.screen);
  ASSERT_FALSE(r.hung) << "the second Ctrl-C did not end the batch:\n" << text;
  EXPECT_LT(r.elapsed, 15s) << "the stop sequence alone would take 30 s";
  EXPECT_TRUE(r.died_of(SIGINT)) << r.how() << "\n" << text;
  EXPECT_TRUE(contains(text, "[cancelled] stubborn (stopped before it finished)")) << text;
  EXPECT_TRUE(contains(text, "[cancelled] trapping (stopped before it finished)")) << text;
  expect_clean_ending(r, "0 ok, 0 failed, 0 timed out, 2 cancelled in ");
}

// 5. SIGHUP (README: start nothing new, let running jobs finish) with the status line on.
TEST_F(TerminalSignals, SighupStartsNothingNewAndLetsTheRunningJobFinish) {
  std::string file = job_file(json::array({
      {{"name", "running"}, {"cmd", gated("running.pid")}},
      {{"name", "never"}, {"cmd", "touch " + path("never")}},
  }));
  auto pty = start({"run", "-j", "1", file});
  wait_for_pid("running.pid");
  wait_for_status_line(*pty);
  ASSERT_FALSE(HasFatalFailure());
  pty->signal(SIGHUP);
  ASSERT_TRUE(pty->wait_for("SIGHUP: starting no new jobs", kNoHang)) << text_of(pty->screen());
  dir_.write("go", "go");
  PtyResult r = pty->wait(kNoHang);

  std::string text = text_of(r.screen);
  ASSERT_FALSE(r.hung) << text;
  EXPECT_TRUE(r.exited_with(1)) << r.how() << " (a cancelled job is not ok)\n" << text;
  EXPECT_TRUE(contains(text, "[ok] running (")) << text;
  EXPECT_TRUE(contains(text, "finished\n")) << text;
  EXPECT_TRUE(contains(text, "[cancelled] never (not started)")) << text;
  EXPECT_FALSE(file_exists(path("never"))) << "a job started after SIGHUP";
  expect_clean_ending(r, "1 ok, 0 failed, 0 timed out, 1 cancelled in ");
}

// 5b. Started with SIGHUP ignored, as `nohup` does: it stays ignored, and a SIGHUP changes
// nothing. (kill() drops a signal its target ignores at once, so once kill() returned, the
// SIGHUP is gone; only then may the job end.)
TEST_F(TerminalSignals, SighupIgnoredAtStartAsUnderNohupChangesNothing) {
  std::string file = job_file(json::array({
      {{"name", "running"}, {"cmd", gated("running.pid")}},
      {{"name", "next"}, {"cmd", "touch " + path("next")}},
  }));
  auto pty = start({"run", "-j", "1", file}, {SIGHUP});
  wait_for_pid("running.pid");
  wait_for_status_line(*pty);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(mask_has(status_field(proc_status_path(pty->pid()), "SigIgn"), SIGHUP))
      << "procpool no longer ignores the SIGHUP it was started with";
  pty->signal(SIGHUP);
  dir_.write("go", "go");
  PtyResult r = pty->wait(kNoHang);

  std::string text = text_of(r.screen);
  ASSERT_FALSE(r.hung) << text;
  EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << text;
  EXPECT_FALSE(contains(text, "SIGHUP")) << text;
  EXPECT_TRUE(contains(text, "[ok] running (")) << text;
  EXPECT_TRUE(contains(text, "[ok] next (")) << text;
  EXPECT_TRUE(file_exists(path("next")));
  expect_clean_ending(r, "2 ok, 0 failed, 0 timed out in ");
}

// 6. Started with SIGINT ignored, as a shell's `&` starts a background job: Ctrl-C at the
// terminal (and a kill -INT) change nothing. The terminal echoes "^C" only after it sent the
// signal, and an ignored signal is dropped when sent: once the echo is on the screen, the
// Ctrl-C has come and gone.
TEST_F(TerminalSignals, CtrlCIgnoredAtStartAsInABackgroundJobChangesNothing) {
  std::string file = job_file(json::array({
      {{"name", "running"}, {"cmd", gated("running.pid")}},
      {{"name", "next"}, {"cmd", "touch " + path("next")}},
  }));
  auto pty = start({"run", "-j", "1", file}, {SIGINT});
  wait_for_pid("running.pid");
  wait_for_status_line(*pty);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(mask_has(status_field(proc_status_path(pty->pid()), "SigIgn"), SIGINT))
      << "procpool no longer ignores the SIGINT it was started with";
  size_t before = pty->size();
  pty->ctrl_c();
  ASSERT_TRUE(pty->wait_for("^C", kNoHang, before)) << text_of(pty->screen());
  pty->signal(SIGINT);
  dir_.write("go", "go");
  PtyResult r = pty->wait(kNoHang);

  std::string text = text_of(r.screen);
  ASSERT_FALSE(r.hung) << text;
  EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << text;
  EXPECT_FALSE(contains(text, "interrupted")) << text;
  EXPECT_TRUE(contains(text, "[ok] running (")) << text;
  EXPECT_TRUE(contains(text, "[ok] next (")) << text;
  expect_clean_ending(r, "2 ok, 0 failed, 0 timed out in ");
}

// 7. The coordinator is the main loop and the pool's manager thread, nothing else: not with the
// status line at a terminal, not with stderr on a pipe, not while reading input typed at the
// terminal. And every one of its threads blocks SIGINT, SIGTERM and SIGHUP, so none can take
// one with its default action.
TEST_F(TerminalSignals, CoordinatorHasTwoThreadsAllBlockingTheSignals) {
  {
    SCOPED_TRACE("status line at a terminal");
    std::string file = job_file(json::array({{{"name", "running"}, {"cmd", gated("t.pid")}}}));
    auto pty = start({"run", file});
    wait_for_pid("t.pid");
    wait_for_status_line(*pty);
    ASSERT_FALSE(HasFatalFailure());
    // Sampled over three redraws of the status line (the loop's timer at work).
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(thread_count(pty->pid()), 2);
      EXPECT_EQ(threads_not_blocking(pty->pid()), "");
      ASSERT_TRUE(pty->wait_for("elapsed", kNoHang, pty->size())) << text_of(pty->screen());
    }
    dir_.write("go", "go");
    PtyResult r = pty->wait(kNoHang);
    EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << text_of(r.screen);
    std::filesystem::remove(path("go"));
  }
  {
    SCOPED_TRACE("stderr on a pipe");
    std::string file = job_file(json::array({{{"name", "running"}, {"cmd", gated("p.pid")}}}));
    Background bg = Background::procpool({"run", file});
    wait_for_pid("p.pid");
    ASSERT_FALSE(HasFatalFailure());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(thread_count(bg.pid()), 2);
      EXPECT_EQ(threads_not_blocking(bg.pid()), "");
      std::this_thread::sleep_for(20ms);  // sampling, not synchronising
    }
    dir_.write("go", "go");
    BackgroundResult r = bg.wait(kNoHang);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    std::filesystem::remove(path("go"));
  }
  {
    SCOPED_TRACE("procpool map reading lines typed at the terminal");
    auto pty = start({"map", "-j", "1", gated("{}.pid")});
    pty->type("one\n");
    wait_for_pid("one.pid");
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(thread_count(pty->pid()), 2) << "an input thread for a terminal, which polls";
    EXPECT_EQ(threads_not_blocking(pty->pid()), "");
    pty->type("\x04");  // Ctrl-D at the start of a line: end of input
    dir_.write("go", "go");
    PtyResult r = pty->wait(kNoHang);
    std::string text = text_of(r.screen);
    EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << text;
    EXPECT_TRUE(contains(text, "[ok] one (")) << text;
    expect_clean_ending(r, "1 ok, 0 failed, 0 timed out in ");
  }
}

// 8. procpool map reading its inputs from the terminal as the user types them, then Ctrl-C
// (with half a line typed, which the terminal discards): running jobs are stopped and reported,
// the half line never runs, procpool dies by SIGINT, and it does not wait for more input first.
TEST_F(TerminalSignals, MapReadingTheTerminalEndsOnCtrlC) {
  auto pty = start({"map", "-j", "2", pid_then("{}.pid")});
  pty->type("one\n");
  wait_for_pid("one.pid");
  pty->type("two\n");
  wait_for_pid("two.pid");
  ASSERT_FALSE(HasFatalFailure());
  pty->type("thr");
  ASSERT_TRUE(pty->wait_for("thr", kNoHang)) << text_of(pty->screen());
  pty->ctrl_c();
  // Bounded tighter than kNoHang: a hang here costs every run of the suite its full bound.
  PtyResult r = pty->wait(10s);

  std::string text = text_of(r.screen);
  ASSERT_FALSE(r.hung) << "procpool did not end after Ctrl-C while reading the terminal: it "
                          "waits for more input although it stopped reading\n"
                       << text.substr(0, 2000);
  EXPECT_TRUE(r.died_of(SIGINT)) << r.how() << "\n" << text;
  EXPECT_TRUE(contains(text, "[cancelled] one (stopped before it finished)")) << text;
  EXPECT_TRUE(contains(text, "[cancelled] two (stopped before it finished)")) << text;
  EXPECT_FALSE(file_exists(path("thr.pid"))) << "the discarded half line ran";
  expect_clean_ending(r, "0 ok, 0 failed, 0 timed out, 2 cancelled in ");
}

}  // namespace
}  // namespace procpool::testing
