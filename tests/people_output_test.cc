// CI log folding, the live status line, colours and the closing summary: what people and CI
// log viewers see. The status line is checked in a real pseudo-terminal.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"

using namespace procpool::testing;

namespace {

const char* kBatch = R"([
  {"name": "good", "cmd": "echo fine"},
  {"name": "bad", "cmd": "echo broke >&2; exit 3"},
  {"name": "nonl", "cmd": "printf 'no newline'"}
])";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

RunOutput run_with_env(const std::vector<std::string>& env, const std::vector<std::string>& args,
                       const std::string& input) {
  std::vector<std::string> argv{"env", "-u", "GITHUB_ACTIONS", "-u", "GITLAB_CI", "-u", "NO_COLOR"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(procpool_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, input);
}

// Runs procpool with stdout and stderr on a pseudo-terminal; returns all it wrote there.
std::string run_in_pty(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) throw std::runtime_error("forkpty");
  if (pid == 0) {
    ::unsetenv("NO_COLOR");
    ::setenv("TERM", "xterm", 1);  // a terminal that takes escape codes, whatever the test's
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<std::string> all{procpool_bin()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) break;  // EIO once the child side closed
  }
  int status;
  ::waitpid(pid, &status, 0);
  ::close(master);
  return out;
}

}  // namespace

TEST(PeopleCiFolding, GithubGroupsEachJobAndAnnotatesFailures) {
  TempDir dir;
  std::string file = dir.write("jobs.json", kBatch);
  auto r = run_with_env({"GITHUB_ACTIONS=true"}, {"run", "-j1", file}, "");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  // The whole log is on stdout, a block at a time; stderr has nothing to say here.
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(contains(r.out, "::group::[ok] good (")) << r.out;
  EXPECT_TRUE(contains(r.out, "::group::[failed] bad (exit 3")) << r.out;
  EXPECT_TRUE(contains(r.out, "::error title=bad::[failed] bad (exit 3")) << r.out;
  EXPECT_FALSE(contains(r.out, "::error title=good")) << r.out;
  // Three groups, each closed, each holding its job's output (the end marker on a line of its
  // own after output without a newline).
  size_t groups = 0, ends = 0;
  std::string inside;
  for (const auto& line : lines(r.out)) {
    groups += line.rfind("::group::", 0) == 0;
    ends += line == "::endgroup::";
    if (line.rfind("::", 0) != 0 && groups > ends) inside += line + "\n";
  }
  EXPECT_EQ(groups, 3u);
  EXPECT_EQ(ends, 3u);
  EXPECT_EQ(inside, "fine\nbroke\nno newline\n") << r.out;
}

TEST(PeopleCiFolding, GitlabSectionsStartAndEndWithTheSameName) {
  TempDir dir;
  std::string file = dir.write("jobs.json", kBatch);
  auto r = run_with_env({"GITLAB_CI=true"}, {"run", "-j1", file}, "");
  EXPECT_EQ(r.exit_status, 1);
  for (int id = 1; id <= 3; ++id) {
    std::string name = "procpool_job_" + std::to_string(id);
    EXPECT_TRUE(contains(r.out, ":" + name + "[collapsed=true]\r\x1b[0K[")) << r.out;
    EXPECT_TRUE(contains(r.out, "section_end:")) << r.out;
    EXPECT_TRUE(contains(r.out, ":" + name + "\r\x1b[0K")) << r.out;
  }
}

TEST(PeopleCiFolding, PlainAndAutoOutsideCiHaveNoMarkers) {
  TempDir dir;
  std::string file = dir.write("jobs.json", kBatch);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"run", file}, {"run", "--ci", "plain", file}}) {
    auto r = run_with_env({}, args, "");
    EXPECT_FALSE(contains(r.err, "::group::")) << r.err;
    EXPECT_FALSE(contains(r.err, "section_start")) << r.err;
    EXPECT_TRUE(contains(r.err, "[failed] bad (exit 3")) << r.err;
  }
  auto forced_plain = run_with_env({"GITHUB_ACTIONS=true"}, {"run", "--ci", "plain", file}, "");
  EXPECT_FALSE(contains(forced_plain.err, "::group::")) << forced_plain.err;
  auto bad = run_with_env({}, {"run", "--ci", "jenkins", file}, "");
  EXPECT_EQ(bad.exit_status, 2);
  EXPECT_TRUE(contains(bad.err, "--ci jenkins")) << bad.err;
}

TEST(PeopleSummary, NamesTheSlowestAndTheFailedOnes) {
  auto r = run_procpool({"run", "-j2", "-"}, R"([
    {"name": "slow", "cmd": "sleep 0.3"},
    {"name": "quick", "cmd": "true"},
    {"name": "bad", "cmd": "exit 4"},
    {"name": "lost", "cmd": ["/nonexistent/tool"]}
  ])");
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_TRUE(contains(r.err, "2 ok, 1 failed, 0 timed out, 1 could not start in")) << r.err;
  EXPECT_TRUE(contains(r.err, "slowest: slow ")) << r.err;
  EXPECT_TRUE(contains(r.err, "not ok: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "bad (exit 4)")) << r.err;
  EXPECT_TRUE(contains(r.err, "lost (could not start)")) << r.err;
}

TEST(PeopleProgress, StatusLineIsDrawnAndClearedOnATerminal) {
  TempDir dir;
  std::string file = dir.write(
      "jobs.json",
      R"([{"name":"a","cmd":"sleep 0.6; echo A"},{"name":"b","cmd":"sleep 0.6; echo B"}])");
  std::string screen = run_in_pty({"run", "-j1", file}, {});
  // Redrawn in place ("\r\x1b[K") with the count of the batch, then cleared before each block.
  EXPECT_TRUE(contains(screen, "\r\x1b[K[0/2] 1 running")) << screen;
  EXPECT_TRUE(contains(screen, "\r\x1b[K[1/2]")) << screen;
  EXPECT_TRUE(contains(screen, "elapsed")) << screen;
  EXPECT_TRUE(contains(screen, "\x1b[32m[ok]\x1b[0m a")) << screen;  // colour on a terminal
  EXPECT_TRUE(contains(screen, "2 ok, 0 failed, 0 timed out")) << screen;
  // The summary starts on a clean line: the status line was cleared right before it.
  EXPECT_TRUE(contains(screen, "\r\x1b[K2 ok")) << screen;
}

TEST(PeopleProgress, NoStatusLineOrColourWhenNotATerminalOrWhenAskedNot) {
  auto piped = run_procpool({"run", "-"}, R"([{"cmd":"true"}])");
  EXPECT_FALSE(contains(piped.err, "\x1b[")) << piped.err;
  TempDir dir;
  std::string file = dir.write("jobs.json", R"([{"name":"a","cmd":"true"}])");
  std::string screen = run_in_pty({"run", file}, {"NO_COLOR=1"});
  EXPECT_TRUE(contains(screen, "[ok] a")) << screen;
  EXPECT_FALSE(contains(screen, "\x1b[32m")) << screen;
  std::string never = run_in_pty({"run", "--color", "never", file}, {});
  EXPECT_FALSE(contains(never, "\x1b[32m")) << never;
}

TEST(PeopleProgress, ForcedProgressPrintsPlainLinesInLogs) {
  auto r = run_procpool({"run", "--progress", "-j1", "-"}, R"([{"cmd":"sleep 6"},{"cmd":"true"}])");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  // Every 5 s a whole line, never a carriage return or escape sequence in a log.
  EXPECT_TRUE(contains(r.err, "procpool: [0/2] 1 running, 0:0")) << r.err;
  EXPECT_FALSE(contains(r.err, "\r")) << r.err;
}
