// Untrusted text is shown, never obeyed: job names and commands that hold a newline and a forged
// header, ESC and OSC sequences, C1 controls (UTF-8 encoded and raw 8-bit), DEL, CR or bidi
// overrides reach procpool's own lines (headers, the summary, log lines, CI markers, --tag
// prefixes, --dry-run) only as visible escapes. Every line procpool writes is checked, byte by
// byte, by a decoder of the test's own (not the escaper under test); the jobs print nothing of
// the hostile text, so every byte on stdout and stderr here is procpool's.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"
#include "tests/support/pty.h"

using namespace procpool::testing;

namespace {

// The names a `find` or a hostile repository could hand to `procpool map`.
const std::vector<std::string> kHostile = {
    "evil\n[ok] deploy-prod (0.01s)",  // forges a header line
    "cr\r[ok] deploy-prod (0.01s)",    // overwrites the line on a terminal
    "title\x1b]0;pwned\x07 fail",      // OSC: retitles the terminal
    "clear\x1b[2J\x1b[H slow",         // CSI: clears the screen
    "reset\x1b"
    "c",  // RIS: resets the terminal
    "c1-utf8\xc2\x9b"
    "2J fail",  // CSI as a UTF-8 encoded C1 control (U+009B)
    "c1-raw\x9b"
    "2J",  // CSI as a raw 8-bit C1 byte
    "osc-c1\xc2\x9d"
    "0;pwned\xc2\x9c",                  // OSC and ST as C1 controls
    "del\x7f tab\there bell\x07",       // DEL, TAB, BEL
    "broken\xe2\x82 utf8\xff\xc0\xaf",  // invalid UTF-8: cut, 0xFF, overlong
    "bidi\xe2\x80\xae"
    "txt.exe\xe2\x81\xa6"
    "x\xe2\x80\xa8"
    "y",                                                         // U+202E, U+2066, U+2028
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 ok",  // valid UTF-8: stays as is
};

// The code point at `text[i]` and its length in `len`; 0 (length 1) for a byte that does not
// start valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF).
uint32_t decode(const std::string& text, size_t i, size_t& len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = b(i);
  len = 1;
  if (c < 0x80) return c;
  int n = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
  if (n == 0) return 0;
  uint32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    if (i + k >= text.size() || (b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  bool overlong = (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  len = static_cast<size_t>(n) + 1;
  return cp;
}

// A line, every byte outside printable ASCII shown as \xHH: for failure messages.
std::string hex_shown(const std::string& line) {
  std::string out;
  for (unsigned char c : line) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// `text` with every byte but newline outside printable ASCII shown as \xHH: what a failure
// message may print without driving the terminal the test runs at.
std::string safe(const std::string& text) {
  std::string out;
  for (const auto& line : lines(text)) out += hex_shown(line) + "\n";
  return out;
}

// Every line of `text` that holds a control character (C0 other than the newline that ends it,
// DEL, C1 encoded or raw), an invalid UTF-8 byte, or a bidi override / isolate or line separator;
// empty when every line is clean.
std::vector<std::string> dirty_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    for (size_t i = 0; i < line.size();) {
      size_t len;
      uint32_t cp = decode(line, i, len);
      bool bad = cp == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
                 (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
                 cp == 0x2029;
      if (bad) {
        out.push_back(hex_shown(line));
        break;
      }
      i += len;
    }
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "  " + s + "\n";
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// No line starts with what the first hostile name tries to forge.
void expect_nothing_forged(const std::string& text, const std::string& where) {
  for (const auto& line : lines(text)) {
    EXPECT_FALSE(starts_with(line, "[ok] deploy-prod"))
        << where << ": forged line: " << hex_shown(line);
  }
}

void expect_clean(const std::string& text, const std::string& where) {
  auto dirty = dirty_lines(text);
  EXPECT_TRUE(dirty.empty()) << where << ": " << dirty.size() << " line(s) with control bytes:\n"
                             << joined(dirty);
  expect_nothing_forged(text, where);
}

// Jobs that succeed, fail (retried once, so there is an info line), and time out, named by
// hostile inputs; the template prints nothing.
std::vector<std::string> map_args(const std::vector<std::string>& flags) {
  std::vector<std::string> args{"map", "-j4", "--timeout", "1s", "--retries", "1"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("case {} in *fail*) exit 3;; *slow*) sleep 30;; esac");
  args.push_back(":::");
  args.insert(args.end(), kHostile.begin(), kHostile.end());
  return args;
}

RunOutput run_clean_env(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"env", "-u", "GITHUB_ACTIONS", "-u", "GITLAB_CI", procpool_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

TEST(HostileNames, TextModeHeadersSummaryAndLogLinesShowControlsVisibly) {
  auto r = run_clean_env(map_args({}));
  EXPECT_EQ(r.exit_status, 1) << safe(r.err);
  EXPECT_EQ(r.out, "");  // the jobs print nothing
  expect_clean(r.err, "stderr");
  // Each job has exactly one header, its name shown with visible escapes.
  size_t headers = 0;
  for (const auto& line : lines(r.err)) headers += starts_with(line, "[");
  EXPECT_EQ(headers, kHostile.size()) << safe(r.err);
  EXPECT_NE(r.err.find("[ok] evil\\n[ok] deploy-prod (0.01s) ("), std::string::npos) << safe(r.err);
  EXPECT_NE(r.err.find("title\\x1b]0;pwned\\x07 fail"), std::string::npos) << safe(r.err);
  // Valid UTF-8 is shown as it is.
  EXPECT_NE(r.err.find(kHostile.back()), std::string::npos) << safe(r.err);
  // The summary and the retry lines name the hostile jobs too, and were checked above.
  EXPECT_NE(r.err.find("\nslowest: "), std::string::npos) << safe(r.err);
  EXPECT_NE(r.err.find("\nnot ok: "), std::string::npos) << safe(r.err);
  EXPECT_NE(r.err.find("retrying"), std::string::npos) << safe(r.err);
}

TEST(HostileNames, GithubMarkersAndAnnotationsStayOneLineEach) {
  auto r = run_clean_env(map_args({"--ci", "github"}));
  EXPECT_EQ(r.exit_status, 1) << safe(r.err);
  // The blocks are on stdout (one descriptor, so a CI runner cannot reorder them).
  expect_clean(r.out, "stdout");
  expect_clean(r.err, "stderr");
  size_t groups = 0, ends = 0;
  for (const auto& line : lines(r.out)) {
    groups += starts_with(line, "::group::");
    ends += line == "::endgroup::";
    // Nothing but procpool's own markers are workflow commands.
    if (starts_with(line, "::")) {
      EXPECT_TRUE(starts_with(line, "::group::[") || line == "::endgroup::" ||
                  starts_with(line, "::error title="))
          << hex_shown(line);
    }
  }
  EXPECT_EQ(groups, kHostile.size()) << safe(r.out);
  EXPECT_EQ(ends, kHostile.size()) << safe(r.out);
}

TEST(HostileNames, GitlabSectionsCarryNoControlsButTheirOwn) {
  auto r = run_clean_env(map_args({"--ci", "gitlab"}));
  EXPECT_EQ(r.exit_status, 1) << safe(r.err);
  // GitLab's section markers are procpool's own escape sequences: taken off, the rest of each
  // line must be clean.
  static const std::regex marker(
      "\x1b\\[0Ksection_(start|end):[0-9]+:procpool_job_[0-9]+(\\[collapsed=true\\])?\r\x1b\\[0K");
  std::string rest = std::regex_replace(r.out, marker, "");
  size_t sections = 0;
  for (const auto& line : lines(r.out)) sections += line.find("section_start:") != line.npos;
  EXPECT_EQ(sections, kHostile.size()) << safe(r.out);
  expect_clean(rest, "stdout without the section markers");
  expect_clean(r.err, "stderr");
}

TEST(HostileNames, TagPrefixesShowTheNameVisibly) {
  for (bool live : {false, true}) {
    std::vector<std::string> args{"map", "-j4", "--tag"};
    if (live) args.push_back("--line-buffer");
    args.push_back(": {}; echo OUT; echo ERR >&2");
    args.push_back(":::");
    args.insert(args.end(), kHostile.begin(), kHostile.end());
    auto r = run_clean_env(args);
    std::string how = live ? "--tag --line-buffer" : "--tag";
    EXPECT_EQ(r.exit_status, 0) << how << "\n" << safe(r.err);
    // Every stdout line is "<name>\tOUT": the tab is procpool's, the name must be clean.
    auto out_lines = lines(r.out);
    EXPECT_EQ(out_lines.size(), kHostile.size()) << how << "\n" << safe(r.out);
    std::string prefixes;
    for (const auto& line : out_lines) {
      ASSERT_GE(line.size(), 4u) << how;
      EXPECT_EQ(line.substr(line.size() - 4), "\tOUT") << how << ": " << hex_shown(line);
      prefixes += line.substr(0, line.size() - 4) + "\n";
    }
    expect_clean(prefixes, how + " stdout prefixes");
    std::string own_err;
    for (const auto& line : lines(r.err)) {
      bool tagged = line.size() >= 4 && line.substr(line.size() - 4) == "\tERR";
      own_err += (tagged ? line.substr(0, line.size() - 4) : line) + "\n";
    }
    expect_clean(own_err, how + " stderr");
  }
}

TEST(HostileNames, DryRunPrintsOneVisibleLinePerJob) {
  auto r = run_clean_env({"map", "--dry-run", "printf %s {}", ":::", kHostile[0], kHostile[2],
                          kHostile[6], kHostile[10]});
  EXPECT_EQ(r.exit_status, 0) << safe(r.err);
  EXPECT_EQ(lines(r.out).size(), 4u) << safe(r.out);
  expect_clean(r.out, "map --dry-run stdout");

  TempDir dir;
  std::string jobs = dir.write("jobs.json", R"json([
    {"name": "a", "cmd": "exit 3 # \u001b]0;pwned\u0007\n[ok] deploy-prod (0.01s)"
},
    {"name": "b", "cmd": "printf %s '\u001b[2J\u009b\r\u007f'", "needs": ["a"]}
  ])json");
  auto d = run_clean_env({"run", "--dry-run", jobs});
  EXPECT_EQ(d.exit_status, 0) << safe(d.err);
  EXPECT_EQ(lines(d.out).size(), 2u) << safe(d.out);
  expect_clean(d.out, "run --dry-run stdout");
}

TEST(HostileNames, JobFileNamesErrorsAndWorkingDirectoriesShowVisibly) {
  TempDir dir;
  // A job that cannot start because of its hostile working directory: the reason quotes it.
  std::string jobs = dir.write("jobs.json", R"json([
    {"name": "evil\n[ok] deploy-prod (0.01s)\u001b]0;pwned\u0007", "cmd": "exit 3"},
    {"name": "cwd\u009b2J", "cmd": "true", "cwd": "/nonexistent\u001b[2J\n[ok] deploy-prod (0.01s)"
},
    {"name": "del\u007f\r\u202e", "cmd": "true"}
  ])json");
  auto r = run_clean_env({"run", "-j2", jobs});
  EXPECT_EQ(r.exit_status, 1) << safe(r.err);
  EXPECT_EQ(r.out, "");
  expect_clean(r.err, "stderr");
  EXPECT_NE(r.err.find("[error] cwd\\u009b2J"), std::string::npos) << safe(r.err);

  // An input error (an unknown need) quotes the hostile names in an error line.
  std::string bad = dir.write("bad.json", R"json([
    {"name": "evil\n[ok] deploy-prod (0.01s)", "cmd": "true", "needs": ["zz\u001b]0;t\u0007"]
  }
  ])json");
  auto e = run_clean_env({"run", bad});
  EXPECT_EQ(e.exit_status, 2) << safe(e.err);
  EXPECT_NE(e.err.find("procpool: error:"), std::string::npos) << safe(e.err);
  expect_clean(e.err, "input error");
}

TEST(HostileNames, AtATerminalWithTheStatusLine) {
  std::vector<std::string> args{procpool_bin()};
  auto rest = map_args({"--color", "never"});
  args.insert(args.end(), rest.begin(), rest.end());
  PtySession pty(args, {{"TERM=xterm"}, {"NO_COLOR", "GITHUB_ACTIONS", "GITLAB_CI"}, {}});
  PtyResult r = pty.wait(std::chrono::seconds(60));
  ASSERT_TRUE(r.exited_with(1)) << r.how() << "\n" << hex_shown(r.screen);
  std::string screen = r.screen;
  // procpool's own terminal sequences: the status line's "clear the line", the log's colours,
  // and the terminal's CR before each LF. None of the hostile names holds one of these.
  EXPECT_NE(screen.find("\r\x1b[K"), std::string::npos) << "no status line drawn";
  static const std::regex own("\r\x1b\\[K|\x1b\\[[0-9;]*m|\r\n");
  std::string rest_of_screen = std::regex_replace(screen, own, "\n");
  expect_clean(rest_of_screen, "terminal");
}

}  // namespace
