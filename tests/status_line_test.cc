// The live status line at a real terminal, and the rules for escape codes and colours.
//
// tmux is the terminal (skipped when it is not installed): procpool runs in a tmux pane of a
// given width, its jobs wait on files the test creates, and `tmux capture-pane` shows what a
// person would see at each checkpoint: the status line on one row, never wrapped, within the
// width (tmux's own idea of where the line ends, its cursor, agrees with procpool's), no row
// left holding a fragment of an earlier status line, and counts that are exact ("2 running"
// when two jobs run and a third waits for them). The window is resized mid-run and the line
// follows. Every wait is for an event (a file, text on the screen) and bounded.
//
// Without tmux: TERM=dumb (and no TERM) at a pseudo-terminal gets no escape byte at all;
// FORCE_COLOR / CLICOLOR_FORCE colour headers on a pipe; NO_COLOR beats them; --color beats
// the environment. And the pure pieces: display width, elision, fitting.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "common/visible_text.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"
#include "tests/support/pty.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Bound for an event that should take well under a second: proves "did not hang".
constexpr auto kNoHang = 20s;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------------------------
// The pure pieces.

TEST(StatusLineWidth, CountsColumnsNotBytes) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("h\xc3\xa9llo"), 5u);              // é, precomposed
  EXPECT_EQ(display_width("he\xcc\x81llo"), 5u);             // e + U+0301 combining acute
  EXPECT_EQ(display_width("\xe6\xa7\x8b\xe7\xaf\x89"), 4u);  // 構築: wide
  EXPECT_EQ(display_width("\xef\xbc\xa1"), 2u);              // U+FF21 fullwidth A
  EXPECT_EQ(display_width("\xf0\x9f\x9a\x80"), 2u);          // U+1F680 rocket
  EXPECT_EQ(display_width("a\xe2\x80\x8b"
                          "b"),
            2u);                         // zero-width space
  EXPECT_EQ(display_width("\xff"), 1u);  // not UTF-8: one column a byte
}

TEST(StatusLineWidth, CutsAtCharactersNeverInside) {
  std::string wide = "\xe6\xa7\x8b\xe7\xaf\x89\xe3\x83\x86";    // 構築テ: 6 columns
  EXPECT_EQ(head_within(wide, 5), "\xe6\xa7\x8b\xe7\xaf\x89");  // a wide one does not half-fit
  EXPECT_EQ(head_within(wide, 1), "");
  EXPECT_EQ(tail_within(wide, 3), "\xe3\x83\x86");
  // A combining mark stays with its letter at the head, and is never the tail's first.
  EXPECT_EQ(head_within("ae\xcc\x81z", 2), "ae\xcc\x81");
  EXPECT_EQ(tail_within("ae\xcc\x81z", 2), "e\xcc\x81z");
  EXPECT_EQ(tail_within("ae\xcc\x81z", 1), "z");
}

TEST(StatusLineWidth, ElidesTheMiddleLikeNinja) {
  EXPECT_EQ(elide_middle("short", 10), "short");
  EXPECT_EQ(elide_middle("abcdefghijklmnop", 10), "abcd...nop");
  EXPECT_EQ(display_width(elide_middle("abcdefghijklmnop", 10)), 10u);
  std::string wide;
  for (int i = 0; i < 20; ++i) wide += "\xe6\xa7\x8b";  // 40 columns
  std::string cut = elide_middle(wide, 11);
  EXPECT_LE(display_width(cut), 11u);
  EXPECT_TRUE(contains(cut, "...")) << cut;
  EXPECT_EQ(elide_middle("abcdef", 2), "..");
}

TEST(StatusLineFit, NameFirstThenTrailingCountsThenTheEnd) {
  StatusText t;
  t.counts = {"[2/5] 2 running", "1 failed", "1 timed out", "0:03 elapsed", "ETA 0:04"};
  t.longest = "integration-tests-of-the-whole-thing";
  t.for_how_long = "0:03";
  std::string whole =
      "[2/5] 2 running, 1 failed, 1 timed out, 0:03 elapsed, ETA 0:04; longest: "
      "integration-tests-of-the-whole-thing 0:03";
  EXPECT_EQ(fit_status(t, 200), whole);
  EXPECT_EQ(fit_status(t, whole.size()), whole);
  // The name is elided in its middle, the rest kept.
  std::string elided = fit_status(t, 90);
  EXPECT_EQ(display_width(elided), 90u) << elided;
  EXPECT_TRUE(
      elided.starts_with("[2/5] 2 running, 1 failed, 1 timed out, 0:03 elapsed, ETA "
                         "0:04; longest: integ"))
      << elided;
  EXPECT_TRUE(elided.ends_with("hing 0:03")) << elided;
  EXPECT_TRUE(contains(elided, "...")) << elided;
  // No room for a useful part of the name: the counts alone, then fewer of them from the end.
  EXPECT_EQ(fit_status(t, 70), "[2/5] 2 running, 1 failed, 1 timed out, 0:03 elapsed, ETA 0:04");
  EXPECT_EQ(fit_status(t, 55), "[2/5] 2 running, 1 failed, 1 timed out, 0:03 elapsed");
  EXPECT_EQ(fit_status(t, 39), "[2/5] 2 running, 1 failed, 1 timed out");
  EXPECT_EQ(fit_status(t, 30), "[2/5] 2 running, 1 failed");
  EXPECT_EQ(fit_status(t, 12), "[2/5] 2 r...");
  EXPECT_EQ(fit_status(t, 2), "[2");
  for (size_t w = 0; w < 130; ++w) EXPECT_LE(display_width(fit_status(t, w)), w) << w;
}

// ---------------------------------------------------------------------------------------------
// A real terminal: tmux.

bool have_tmux() {
  return run_program({"/bin/sh", "-c", "command -v tmux >/dev/null"}).exit_status == 0;
}

// What `tmux capture-pane` shows of the pane, history included, wrapped rows joined (a status
// line that wrapped would be one row longer than the window here), and where tmux's cursor is.
struct Screen {
  std::vector<std::string> rows;  // trailing spaces and empty rows at the end removed
  int cursor_x = -1;
  std::string text() const {
    std::string out;
    for (const auto& r : rows) out += r + "\n";
    return out;
  }
  // The rows that show any part of a status line.
  std::vector<std::string> status_rows() const {
    std::vector<std::string> out;
    static const std::regex part(R"(running|elapsed|longest|ETA \d|^\[\d+/\d+\] )");
    for (const auto& r : rows) {
      if (std::regex_search(r, part)) out.push_back(r);
    }
    return out;
  }
  // The live status line: the last row, when it is one.
  std::optional<std::string> status() const {
    if (rows.empty()) return std::nullopt;
    static const std::regex line(R"(^\[\d+(/\d+)?\] \d+ running)");
    if (!std::regex_search(rows.back(), line)) return std::nullopt;
    return rows.back();
  }
};

class Tmux {
 public:
  // Runs `args` (procpool's) in a new tmux server of its own (a socket in `dir`), in a window
  // `columns` wide; the exit status lands in dir/exit.status.
  Tmux(const TempDir& dir, int columns, const std::vector<std::string>& args)
      : dir_(dir.path()), socket_(dir.path() + "/tmux.sock") {
    std::string command = "cd '" + dir_ + "' && env -u NO_COLOR -u FORCE_COLOR -u " +
                          "CLICOLOR_FORCE -u CLICOLOR -u GITHUB_ACTIONS -u GITLAB_CI " +
                          "LC_ALL=C.UTF-8 '" + procpool_bin() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    command += "; echo $? > '" + dir_ + "/exit.status'; exec sleep 600";
    std::string script = dir.write("run.sh", command + "\n");
    RunOutput r =
        tmux({"new-session", "-d", "-x", std::to_string(columns), "-y", "12", "sh", script});
    if (r.exit_status != 0) throw std::runtime_error("tmux new-session: " + r.err);
  }
  ~Tmux() { tmux({"kill-server"}); }

  Screen screen() const {
    // One command list: the capture and the cursor of the same moment.
    RunOutput r = tmux({"capture-pane", "-p", "-J", "-S", "-", ";", "display-message", "-p",
                        "@@cursor #{cursor_x}"});
    Screen s;
    std::vector<std::string> all = lines(r.out);
    if (!all.empty() && all.back().starts_with("@@cursor ")) {
      s.cursor_x = std::stoi(all.back().substr(9));
      all.pop_back();
    }
    for (auto& row : all) s.rows.push_back(rstrip(row));
    while (!s.rows.empty() && s.rows.back().empty()) s.rows.pop_back();
    return s;
  }

  // Polls the screen until `ok` holds (bounded); the last screen seen is in `last`.
  bool wait_until(const std::function<bool(const Screen&)>& ok, Screen& last,
                  std::chrono::milliseconds limit = kNoHang) const {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      last = screen();
      if (ok(last)) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
  }

  void resize(int columns) const {
    RunOutput r = tmux({"resize-window", "-x", std::to_string(columns)});
    ASSERT_EQ(r.exit_status, 0) << r.err;
  }

  int exit_status() const {
    if (!wait_for_file(dir_ + "/exit.status", kNoHang)) return -1;
    return std::stoi(slurp(dir_ + "/exit.status"));
  }

 private:
  RunOutput tmux(std::vector<std::string> args) const {
    // A server of its own (-S), no user configuration, UTF-8 whatever the locale says; never
    // nested into a tmux the tests may run in.
    std::vector<std::string> argv{"env", "-u",        "TMUX", "LC_ALL=C.UTF-8", "tmux", "-u",
                                  "-f",  "/dev/null", "-S",   socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv);
  }

  std::string dir_, socket_;
};

// The live status line fits: within `columns` - 1 by procpool's width, and tmux's cursor is
// right after it (so tmux counts the same columns, and it did not wrap).
::testing::AssertionResult fits(const Screen& s, int columns) {
  auto line = s.status();
  if (!line) return ::testing::AssertionFailure() << "no status line:\n" << s.text();
  size_t width = display_width(*line);
  if (width > static_cast<size_t>(columns - 1)) {
    return ::testing::AssertionFailure()
           << width << " columns in a " << columns << "-column window: " << *line;
  }
  if (s.cursor_x != static_cast<int>(width)) {
    return ::testing::AssertionFailure() << "tmux's cursor at column " << s.cursor_x
                                         << ", the line takes " << width << ": " << *line;
  }
  return ::testing::AssertionSuccess();
}

// Only the live status line shows any part of a status line: no earlier one left behind.
::testing::AssertionResult no_fragments(const Screen& s) {
  auto parts = s.status_rows();
  bool live = s.status().has_value();
  if (parts.size() == (live ? 1u : 0u)) return ::testing::AssertionSuccess();
  auto out = ::testing::AssertionFailure();
  out << "rows holding a status line (or part of one), besides the live one:\n";
  for (const auto& p : parts) out << "  |" << p << "|\n";
  return out << "screen:\n" << s.text();
}

// Two jobs that wait for the test, a third that needs the first, one that fails and one that
// times out: with -j4, once both ends are shown, exactly 2 run.
class StatusLineAtTmux : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tmux()) GTEST_SKIP() << "tmux is not installed (scripts/setup installs it)";
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string waits(const std::string& name) const {
    return "echo started > '" + path(name + ".started") + "'; while [ ! -e '" + path(name + ".go") +
           "' ]; do sleep 0.02; done";
  }
  void let_go(const std::string& name) const { std::ofstream(path(name + ".go")) << "go\n"; }
  // Waits for the status line to read exactly `line`; then it must fit `columns`, with nothing
  // of an earlier line left on the screen.
  static void expect_status(Tmux& tmux, const std::string& line, int columns) {
    Screen s;
    ASSERT_TRUE(tmux.wait_until(
        [&line](const Screen& s) { return s.status() == std::optional<std::string>(line); }, s))
        << s.text();
    EXPECT_TRUE(fits(s, columns));
    EXPECT_TRUE(no_fragments(s));
  }
  // The last job let go: procpool ends with status 1 and the summary in the same words as the
  // line, which is cleared for good.
  void expect_end(Tmux& tmux) const {
    let_go("b");
    EXPECT_EQ(tmux.exit_status(), 1);
    Screen s;
    ASSERT_TRUE(tmux.wait_until(
        [](const Screen& s) { return contains(s.text(), "3 ok, 1 failed, 1 timed out in "); }, s))
        << s.text();
    EXPECT_TRUE(no_fragments(s));
    EXPECT_FALSE(s.status().has_value()) << s.text();
  }
  std::string job_file() const {
    json jobs = json::array({
        {{"name", "blocker-a"}, {"cmd", waits("a")}},
        {{"name", name_b_}, {"cmd", waits("b")}},
        {{"name", "after-a"}, {"cmd", "true"}, {"needs", json::array({"blocker-a"})}},
        {{"name", "broken"}, {"cmd", "exit 3"}},
        {{"name", "hang"}, {"cmd", "sleep 30"}, {"timeout", "300ms"}},
    });
    return dir_.write("jobs.json", jobs.dump());
  }

  TempDir dir_;
  // 94 columns of name, most of it wide characters (構築 is 4 columns in 6 bytes).
  std::string name_b_ = [] {
    std::string n = "blocker-b-";
    for (int i = 0; i < 20; ++i) n += "\xe6\xa7\x8b\xe7\xaf\x89";
    return n + "-end";
  }();
};

TEST_F(StatusLineAtTmux, ExactCountsWithinTheWidthAndFollowsAResize) {
  Tmux tmux(dir_, 120, {"run", "-j4", job_file()});
  ASSERT_TRUE(wait_for_file(path("a.started"), kNoHang)) << tmux.screen().text();
  ASSERT_TRUE(wait_for_file(path("b.started"), kNoHang)) << tmux.screen().text();
  Screen s;
  // Checkpoint 1: broken and hang ended, the blockers run, after-a waits for blocker-a.
  ASSERT_TRUE(tmux.wait_until(
      [](const Screen& s) {
        return s.status() && s.status()->starts_with("[2/5] 2 running, 1 failed, 1 timed out, ");
      },
      s))
      << s.text();
  EXPECT_TRUE(contains(s.text(), "[failed] broken (exit 3")) << s.text();
  EXPECT_TRUE(contains(s.text(), "[timeout] hang (timed out after 300ms)")) << s.text();
  EXPECT_TRUE(fits(s, 120));
  EXPECT_TRUE(no_fragments(s));
  EXPECT_TRUE(contains(*s.status(), "elapsed")) << *s.status();

  // Checkpoint 2: blocker-a and after-a done; blocker-b alone runs, and its name, too long for
  // the line, is elided in its middle.
  let_go("a");
  static const std::regex checkpoint2(
      R"(^\[4/5\] 1 running, 1 failed, 1 timed out, \d+:\d\d elapsed, ETA \d+:\d\d; longest: )"
      R"(blocker-b-.*\.\.\..*-end \d+:\d\d$)");
  ASSERT_TRUE(tmux.wait_until(
      [](const Screen& s) { return s.status() && std::regex_search(*s.status(), checkpoint2); }, s))
      << s.text();
  EXPECT_TRUE(contains(s.text(), "[ok] blocker-a (")) << s.text();
  EXPECT_TRUE(contains(s.text(), "[ok] after-a (")) << s.text();
  EXPECT_TRUE(fits(s, 120));
  EXPECT_TRUE(no_fragments(s));

  // Narrower: the line is rewrapped by tmux, then cleared whole and drawn again within 40.
  tmux.resize(40);
  ASSERT_TRUE(tmux.wait_until(
      [](const Screen& s) {
        return s.status() == std::optional<std::string>("[4/5] 1 running, 1 failed, 1 timed out");
      },
      s))
      << s.text();
  EXPECT_TRUE(fits(s, 40));
  EXPECT_TRUE(no_fragments(s));
  EXPECT_FALSE(contains(s.text(), "\xe6\xa7\x8b")) << "a fragment of the name is left:\n"
                                                   << s.text();

  // Wider again: the name is back.
  tmux.resize(120);
  ASSERT_TRUE(tmux.wait_until(
      [](const Screen& s) { return s.status() && std::regex_search(*s.status(), checkpoint2); }, s))
      << s.text();
  EXPECT_TRUE(fits(s, 120));
  EXPECT_TRUE(no_fragments(s));

  expect_end(tmux);
}

TEST_F(StatusLineAtTmux, FortyColumnsKeepTheCountsThatFit) {
  Tmux tmux(dir_, 40, {"run", "-j4", job_file()});
  ASSERT_TRUE(wait_for_file(path("a.started"), kNoHang)) << tmux.screen().text();
  ASSERT_TRUE(wait_for_file(path("b.started"), kNoHang)) << tmux.screen().text();
  // 38 columns: the elapsed time and the ETA do not fit in 39, the failures do.
  expect_status(tmux, "[2/5] 2 running, 1 failed, 1 timed out", 40);
  let_go("a");
  expect_status(tmux, "[4/5] 1 running, 1 failed, 1 timed out", 40);
  expect_end(tmux);
}

// ---------------------------------------------------------------------------------------------
// A pseudo-terminal without tmux: jobs held back by --memfree, TERM=dumb, colours.

// The screen of a pty as text: escape sequences and carriage returns taken out.
std::string plain_text(const std::string& screen) {
  static const std::regex escapes("\x1b\\[[0-9;?]*[A-Za-z]|\r");
  return std::regex_replace(screen, escapes, "");
}

PtyOptions person(std::vector<std::string> set_env) {
  PtyOptions o;
  o.unset_env = {"NO_COLOR",  "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR", "GITHUB_ACTIONS",
                 "GITLAB_CI", "TERM"};
  o.set_env = std::move(set_env);
  return o;
}

uint64_t total_memory_kib() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib;
  }
  return 0;
}

// Jobs that --memfree holds back wait on their workers, and are not running: "0 running".
TEST(StatusLineCounts, JobsHeldBackByTheGateAreNotRunning) {
  uint64_t kib = total_memory_kib();
  ASSERT_GT(kib, 0u);
  TempDir dir;
  std::string jobs = dir.write("jobs", "touch " + dir.path() + "/1\ntouch " + dir.path() + "/2\n");
  std::string beyond = std::to_string(std::max<uint64_t>(kib, 1u << 20) * 2) + "K";
  PtySession pty({procpool_bin(), "run", "-j2", "--lines", "--memfree", beyond, jobs},
                 person({"TERM=xterm"}));
  ASSERT_TRUE(pty.wait_for("holding back job starts", kNoHang)) << plain_text(pty.screen());
  size_t held_at = pty.size();
  // Redrawn after the hold, still nothing runs (both workers hold a job: "2 running" before).
  ASSERT_TRUE(pty.wait_for("] 0 running, ", kNoHang, held_at)) << plain_text(pty.screen());
  EXPECT_FALSE(contains(pty.screen(), " 1 running")) << plain_text(pty.screen());
  EXPECT_FALSE(contains(pty.screen(), " 2 running")) << plain_text(pty.screen());
  pty.ctrl_c();
  PtyResult r = pty.wait(kNoHang);
  EXPECT_TRUE(r.died_of(SIGINT)) << r.how() << "\n" << plain_text(r.screen);
  EXPECT_FALSE(file_exists(dir.path() + "/1"));
  EXPECT_FALSE(file_exists(dir.path() + "/2"));
}

// TERM=dumb, or no TERM at all: no escape byte, no status line, no colour.
TEST(StatusLineTerm, DumbOrMissingTermGetsNoEscapeCodes) {
  TempDir dir;
  std::string file =
      dir.write("jobs.json", R"([{"name":"a","cmd":"true"},{"name":"b","cmd":"exit 1"}])");
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{"TERM=dumb"}, std::vector<std::string>{}}) {
    PtySession pty({procpool_bin(), "run", "-j2", file}, person(env));
    PtyResult r = pty.wait(kNoHang);
    SCOPED_TRACE(env.empty() ? "TERM unset" : env[0]);
    EXPECT_FALSE(contains(r.screen, "\x1b")) << ::testing::PrintToString(r.screen);
    EXPECT_FALSE(contains(r.screen, " running")) << r.screen;
    EXPECT_TRUE(contains(r.screen, "[failed] b (exit 1")) << r.screen;
  }
}

TEST(StatusLineTerm, DumbTermWithProgressPrintsPlainLines) {
  TempDir dir;
  std::string go = dir.path() + "/go";
  std::string file = dir.write(
      "jobs.json", json::array({{{"name", "waits"},
                                 {"cmd", "while [ ! -e '" + go + "' ]; do sleep 0.02; done"}}})
                       .dump());
  PtySession pty({procpool_bin(), "run", "--progress", file}, person({"TERM=dumb"}));
  // The plain line comes every 5 s: the first one, then let the job end.
  ASSERT_TRUE(pty.wait_for("procpool: [0/1] 1 running, ", kNoHang)) << pty.screen();
  std::ofstream(go) << "go\n";
  PtyResult r = pty.wait(kNoHang);
  EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << r.screen;
  EXPECT_FALSE(contains(r.screen, "\x1b")) << ::testing::PrintToString(r.screen);
  // Whole lines: the status line starts one and ends it.
  EXPECT_TRUE(contains(r.screen, "\r\nprocpool: [0/1] 1 running, ") ||
              r.screen.starts_with("procpool: [0/1] 1 running, "))
      << ::testing::PrintToString(r.screen);
  EXPECT_TRUE(contains(r.screen, "1 ok, 0 failed, 0 timed out")) << r.screen;
}

// At a terminal with TERM set, the line is drawn and headers are coloured; CLICOLOR=0 takes
// the colours away, not the status line.
TEST(StatusLineColour, ClicolorZeroAtATerminal) {
  TempDir dir;
  std::string file =
      dir.write("jobs.json", R"([{"name":"a","cmd":"true"},{"name":"b","cmd":"exit 1"}])");
  PtySession coloured({procpool_bin(), "run", file}, person({"TERM=xterm"}));
  PtyResult c = coloured.wait(kNoHang);
  EXPECT_TRUE(contains(c.screen, "\x1b[32m[ok]\x1b[0m a")) << ::testing::PrintToString(c.screen);
  PtySession plain({procpool_bin(), "run", file}, person({"TERM=xterm", "CLICOLOR=0"}));
  PtyResult p = plain.wait(kNoHang);
  EXPECT_TRUE(contains(p.screen, "[ok] a")) << p.screen;
  EXPECT_FALSE(contains(p.screen, "\x1b[32m")) << ::testing::PrintToString(p.screen);
  EXPECT_FALSE(contains(p.screen, "\x1b[31m")) << ::testing::PrintToString(p.screen);
  // CLICOLOR_FORCE beats CLICOLOR=0 (bixense.com/clicolors: "no matter what").
  PtySession forced({procpool_bin(), "run", file},
                    person({"TERM=xterm", "CLICOLOR=0", "CLICOLOR_FORCE=1"}));
  PtyResult f = forced.wait(kNoHang);
  EXPECT_TRUE(contains(f.screen, "\x1b[32m[ok]\x1b[0m a")) << ::testing::PrintToString(f.screen);
}

// stdout and stderr on pipes (a CI log, `2>&1 | less -R`): colour only when forced, never a
// status line.
RunOutput run_piped(const std::vector<std::string>& env, const std::vector<std::string>& flags) {
  std::vector<std::string> argv{
      "env",      "-u", "NO_COLOR",       "-u", "FORCE_COLOR", "-u", "CLICOLOR_FORCE", "-u",
      "CLICOLOR", "-u", "GITHUB_ACTIONS", "-u", "GITLAB_CI"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(procpool_bin());
  argv.push_back("run");
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("-");
  return run_program(argv, R"([{"name":"a","cmd":"true"},{"name":"b","cmd":"exit 1"}])");
}

TEST(StatusLineColour, ForcedOnAPipeAndNoColorWins) {
  struct Case {
    std::vector<std::string> env, flags;
    bool colour;
  };
  const std::vector<Case> cases = {
      {{}, {}, false},
      {{"FORCE_COLOR=1"}, {}, true},
      {{"FORCE_COLOR=3"}, {}, true},
      {{"CLICOLOR_FORCE=1"}, {}, true},
      {{"FORCE_COLOR=0"}, {}, false},
      {{"CLICOLOR_FORCE=0"}, {}, false},
      {{"FORCE_COLOR="}, {}, false},                 // empty: as if unset
      {{"NO_COLOR=1", "FORCE_COLOR=1"}, {}, false},  // no-color.org: NO_COLOR wins
      {{"NO_COLOR=1", "CLICOLOR_FORCE=1"}, {}, false},
      {{"NO_COLOR=", "FORCE_COLOR=1"}, {}, true},        // an empty NO_COLOR says nothing
      {{"FORCE_COLOR=1"}, {"--color", "never"}, false},  // the flag wins over the environment
      {{"NO_COLOR=1"}, {"--color", "always"}, true},
      {{}, {"--color", "always"}, true},
  };
  for (const Case& c : cases) {
    std::string what;
    for (const auto& e : c.env) what += e + " ";
    for (const auto& f : c.flags) what += f + " ";
    SCOPED_TRACE(what);
    RunOutput r = run_piped(c.env, c.flags);
    EXPECT_EQ(r.exit_status, 1) << r.err;
    EXPECT_EQ(contains(r.err, "\x1b[32m[ok]\x1b[0m a"), c.colour) << r.err;
    EXPECT_EQ(contains(r.err, "\x1b[31m[failed]\x1b[0m b"), c.colour) << r.err;
    EXPECT_TRUE(contains(r.err, "[ok]")) << r.err;
    // Colour is all a forced colour brings: no status line, no other escape code.
    EXPECT_FALSE(contains(r.err, "\r")) << r.err;
    EXPECT_FALSE(contains(r.err, "\x1b[K")) << r.err;
    EXPECT_FALSE(contains(r.out, "\x1b")) << r.out;
  }
}

}  // namespace
}  // namespace procpool::testing
