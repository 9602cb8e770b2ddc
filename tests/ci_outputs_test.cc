// The CI-facing outputs: --junit (checked against a JUnit XSD with xmllint), --joblog (checked
// against GNU parallel's own job log), --journal with --resume (including a procpool killed
// with SIGKILL midway), and --results. End-to-end tests run the built binary on real commands;
// every wait is for an event (a line in a file), bounded so a broken run fails, never hangs.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/journal.h"
#include "cli/results_dir.h"
#include "cli/xml_text.h"
#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using json = nlohmann::json;
using namespace procpool::testing;
namespace fs = std::filesystem;

namespace {

json job(const std::string& name, const json& cmd) {
  return {{"name", name}, {"cmd", cmd}};
}

// Writes `jobs` as FILE in `dir` and runs `procpool run [flags] FILE`.
RunOutput run_jobs(const TempDir& dir, const json& jobs, const std::vector<std::string>& flags,
                   const std::string& file = "jobs.json") {
  std::string path = dir.write(file, jobs.dump());
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(path);
  return run_procpool(args);
}

bool have_program(const std::string& name) {
  return run_program({"sh", "-c", "command -v " + name}).exit_status == 0;
}

std::string junit_xsd() {
  return (fs::path(__FILE__).parent_path() / "data/junit.xsd").string();
}

// xmllint's verdict on `xml` against the JUnit XSD: "" when valid, else what it said.
std::string xsd_errors(const std::string& xml) {
  RunOutput r = run_program({"xmllint", "--noout", "--schema", junit_xsd(), xml});
  return r.exit_status == 0 ? "" : r.err + " (exit " + std::to_string(r.exit_status) + ")";
}

// The value of an XPath expression over `xml` (xmllint --xpath), e.g. "string(//x/@a)".
std::string xpath(const std::string& xml, const std::string& expr) {
  std::string out = run_program({"xmllint", "--xpath", expr, xml}).out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Waits (bounded) until `ready()` holds: for a file a running procpool writes.
bool wait_until(const std::function<bool()>& ready,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ready();
}

// How many times each word appears as a line of `path` (jobs append their name to a log).
std::map<std::string, int> line_counts(const std::string& path) {
  std::map<std::string, int> counts;
  for (const auto& l : lines(slurp(path))) ++counts[l];
  return counts;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// Every byte value, then the strings that break naive XML writers.
std::string hostile_bytes() {
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes += static_cast<char>(c);
  return bytes +
         "\n]]><script>alert(1)</script>&amp;\xC3\x28\xED\xA0\x80\xEF\xBF\xBF\xF0\x9F\x98\n";
}

// A shell command that waits for `path` to exist (a release the test gives), at most 30s.
std::string wait_for(const std::string& path) {
  return "i=0; while [ ! -e " + path + " ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done";
}

}  // namespace

// --- XML text ---------------------------------------------------------------------------

TEST(CiOutputsXml, EscapesMarkupAndKeepsWhitespaceInAttributes) {
  using Mode = procpool::XmlTextWriter::Mode;
  EXPECT_EQ(procpool::xml_escape("a&b<c>\"d'e]]>", Mode::kText),
            "a&amp;b&lt;c&gt;&quot;d&apos;e]]&gt;");
  EXPECT_EQ(procpool::xml_escape("a\tb\nc\rd", Mode::kText), "a\tb\nc&#13;d");
  EXPECT_EQ(procpool::xml_escape("a\tb\nc\rd", Mode::kAttribute), "a&#9;b&#10;c&#13;d");
}

TEST(CiOutputsXml, DropsWhatXml10CannotHoldAndReplacesInvalidUtf8) {
  // C0 controls other than tab, newline and CR: not even a reference can write them.
  EXPECT_EQ(procpool::xml_escape(std::string("a\0b\x01\x08\x0B\x0C\x1F"
                                             "c",
                                             9)),
            "abc");
  EXPECT_EQ(procpool::xml_escape("\x7F"), "\x7F");  // DEL is allowed
  // U+FFFE and U+FFFF are UTF-8 but not XML characters.
  EXPECT_EQ(procpool::xml_escape("x\xEF\xBF\xBEy\xEF\xBF\xBFz"), "xyz");
  // Invalid UTF-8 (a stray continuation, a lone lead byte, a surrogate, an overlong form, a
  // sequence cut short at the end) becomes U+FFFD; valid characters pass unchanged.
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(procpool::xml_escape("\x80"), fffd);
  EXPECT_EQ(procpool::xml_escape("\xC3("), fffd + "(");
  EXPECT_EQ(procpool::xml_escape("\xED\xA0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(procpool::xml_escape("\xC0\xAF"), fffd + fffd);
  EXPECT_EQ(procpool::xml_escape("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(procpool::xml_escape("h\xC3\xA9llo \xF0\x9F\x98\x80"), "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(CiOutputsXml, UnicodeSequencesMaySplitAcrossPieces) {
  std::string out;
  procpool::XmlTextWriter w(procpool::XmlTextWriter::Mode::kText,
                            [&](std::string_view piece) { out += piece; });
  w.feed("\xF0\x9F");
  w.feed("\x98\x80<");
  w.feed("\xEF\xBF");
  w.feed("\xBF!");
  w.finish();
  EXPECT_EQ(out, "\xF0\x9F\x98\x80&lt;!");
}

// --- JUnit ------------------------------------------------------------------------------

class CiOutputsJunit : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("xmllint")) GTEST_SKIP() << "xmllint missing: scripts/setup installs it";
  }
};

TEST_F(CiOutputsJunit, EveryStatusAndHostileOutputValidateAgainstTheXsd) {
  TempDir dir;
  std::string bytes = dir.write("bytes.bin", hostile_bytes());
  json slow = job("slow", "sleep 10");
  slow["timeout"] = "300ms";
  json after = job("after", "echo never");
  after["needs"] = {"fail"};
  // One worker runs them in file order; the fourth failure (lint) halts the batch, so `later`
  // is cancelled before it starts.
  json jobs = json::array({
      job("ok", "echo hello"),
      job("hostile <&\"'>\t\x01 name", "cat " + bytes + "; cat " + bytes + " >&2"),
      job("fail", "echo '3 tests failed' >&2; exit 3"),
      slow,
      job("segv", json::array({helper("segfault")})),
      job("lint", json::array({"no-such-linter-procpool", "--strict"})),
      after,
      job("later", "echo never"),
  });
  std::string xml = dir.path() + "/results.xml";
  RunOutput r = run_jobs(dir, jobs, {"-j", "1", "--halt", "soon,fail=4", "--junit", xml});
  EXPECT_EQ(r.exit_status, 1) << r.err;

  EXPECT_EQ(xsd_errors(xml), "") << slurp(xml);
  EXPECT_EQ(xpath(xml, "count(//testsuite)"), "1");
  EXPECT_EQ(xpath(xml, "count(//testcase)"), "8");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@tests)"), "8");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@failures)"), "3");  // fail, slow, segv
  EXPECT_EQ(xpath(xml, "string(//testsuite/@errors)"), "1");    // lint
  EXPECT_EQ(xpath(xml, "string(//testsuite/@skipped)"), "2");   // after, later
  EXPECT_EQ(xpath(xml, "string(//testsuite/@name)"), "jobs");
  // classname == the suite's name: dorny/test-reporter then adds no group level
  // (java-junit-parser.ts: a classname equal to its suite's name goes to the unnamed group).
  EXPECT_EQ(xpath(xml, "count(//testcase[@classname=//testsuite/@name])"), "8");

  EXPECT_EQ(xpath(xml, "count(//testcase[@name='ok']/*[not(self::system-out)])"), "0");
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='fail']/failure/@type)"), "failed");
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='fail']/failure/@message)"), "exit 3");
  EXPECT_NE(xpath(xml, "string(//testcase[@name='fail']/failure)").find("3 tests failed"),
            std::string::npos);
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='slow']/failure/@type)"), "timeout");
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='segv']/failure/@type)"), "crashed");
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='segv']/failure/@message)"), "killed by SIGSEGV");
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='lint']/error/@type)"), "error");
  EXPECT_NE(xpath(xml, "string(//testcase[@name='lint']/error/@message)").find("no-such-linter"),
            std::string::npos);
  EXPECT_EQ(xpath(xml, "string(//testcase[@name='after']/skipped/@message)"), "needs fail: failed");
  EXPECT_EQ(xpath(xml, "count(//testcase[@name='later']/skipped)"), "1");

  // The hostile job: its name survives escaping (the C0 control is dropped, the tab kept), and
  // its output reads back as text with the markup intact.
  EXPECT_EQ(xpath(xml, "count(//testcase[contains(@name, '<&\"')])"), "1");
  EXPECT_EQ(xpath(xml, "string(//testcase[contains(@name, 'hostile')]/@name)"),
            "hostile <&\"'>\t name");
  std::string out = xpath(xml, "string(//testcase[contains(@name, 'hostile')]/system-out)");
  EXPECT_NE(out.find("]]><script>alert(1)</script>&amp;"), std::string::npos) << out;
  EXPECT_EQ(out, xpath(xml, "string(//testcase[contains(@name, 'hostile')]/system-err)"));
}

TEST_F(CiOutputsJunit, FailureQuotesTheTailOfStderr) {
  TempDir dir;
  std::string xml = dir.path() + "/r.xml";
  RunOutput r =
      run_jobs(dir,
               json::array({job("big",
                                "echo START >&2; head -c 100000 /dev/zero | tr '\\0' x >&2; "
                                "echo THE-END >&2; exit 1")}),
               {"--junit", xml});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(xsd_errors(xml), "");
  std::string failure = xpath(xml, "string(//failure)");
  EXPECT_NE(failure.find("THE-END"), std::string::npos);
  EXPECT_EQ(failure.find("START"), std::string::npos);
  EXPECT_LT(failure.size(), 4096u + 200u);
  std::string err = xpath(xml, "string(//system-err)");
  EXPECT_NE(err.find("START"), std::string::npos);
  EXPECT_GT(err.size(), 100000u);
}

TEST_F(CiOutputsJunit, MapBatchesAreNamedProcpool) {
  TempDir dir;
  std::string xml = dir.path() + "/r.xml";
  RunOutput r = run_procpool({"map", "--junit", xml, "echo {}", ":::", "a", "b"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(xsd_errors(xml), "");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@name)"), "procpool");
  EXPECT_EQ(xpath(xml, "count(//testcase[@classname='procpool'])"), "2");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@failures)"), "0");
}

// The report is complete after every job, so a procpool killed outright still leaves a valid
// report of what finished; and Ctrl-C writes the rest.
TEST_F(CiOutputsJunit, ValidAfterEachJobEvenWhenProcpoolIsKilled) {
  TempDir dir;
  std::string xml = dir.path() + "/r.xml";
  std::string file = dir.write(
      "jobs.json",
      json::array({job("first", "echo 1"), job("blocked", wait_for(dir.path() + "/go"))}).dump());
  Background run = Background::procpool({"run", "-j", "2", "--junit", xml, file});
  ASSERT_TRUE(wait_until([&] { return slurp(xml).find("name=\"first\"") != std::string::npos; }))
      << slurp(xml);
  EXPECT_EQ(xsd_errors(xml), "");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@tests)"), "1");
  run.signal(SIGKILL);
  run.wait();
  EXPECT_EQ(xsd_errors(xml), "") << slurp(xml);
  EXPECT_EQ(xpath(xml, "count(//testcase)"), "1");
}

TEST_F(CiOutputsJunit, CtrlCStillWritesTheReport) {
  TempDir dir;
  std::string xml = dir.path() + "/r.xml";
  std::string file = dir.write(
      "jobs.json",
      json::array({job("first", "echo 1"), job("blocked", wait_for(dir.path() + "/go"))}).dump());
  Background run = Background::procpool({"run", "-j", "2", "--junit", xml, file});
  ASSERT_TRUE(wait_until([&] { return slurp(xml).find("name=\"first\"") != std::string::npos; }));
  run.signal(SIGINT);
  BackgroundResult r = run.wait();
  EXPECT_EQ(r.exit_status, 130) << r.err;
  EXPECT_EQ(xsd_errors(xml), "") << slurp(xml);
  EXPECT_EQ(xpath(xml, "string(//testsuite/@tests)"), "2");
  EXPECT_EQ(xpath(xml, "string(//testsuite/@skipped)"), "1");
  EXPECT_EQ(xpath(xml, "count(//testcase[@name='blocked']/skipped)"), "1");
}

TEST(CiOutputsFlags, UnwritableFilesAreUsageErrorsAndNothingRuns) {
  TempDir dir;
  std::string marker = dir.path() + "/ran";
  json jobs = json::array({job("touch", "touch " + marker)});
  std::string plain_file = dir.write("plain", "x");
  const std::vector<std::vector<std::string>> cases = {
      {"--junit", dir.path() + "/missing/r.xml"},
      {"--joblog", dir.path() + "/missing/log"},
      {"--journal", dir.path() + "/missing/j"},
      {"--results", plain_file + "/sub"},
      {"--results", plain_file},
      {"--resume"},
      {"--resume-failed"},
      {"--journal", dir.path() + "/same", "--junit", dir.path() + "/./same"},
  };
  for (const auto& flags : cases) {
    RunOutput r = run_jobs(dir, jobs, flags);
    EXPECT_EQ(r.exit_status, 2) << flags[0] << ": " << r.err;
    EXPECT_NE(r.err.find(flags[0]), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(marker)) << flags[0];
  }
}

// --- job log ----------------------------------------------------------------------------

// Same commands through GNU parallel and procpool: the same header, columns, formats and values
// (all but the times, and the quoting of the command).
TEST(CiOutputsJoblog, MatchesGnuParallelsJobLog) {
  if (!have_program("parallel")) GTEST_SKIP() << "GNU parallel missing: scripts/setup installs it";
  TempDir dir;
  const std::string tmpl =
      "case {} in a) echo a;; b) exit 3;; c) kill -9 $$;; d) printf abc;; esac";
  std::string theirs = dir.path() + "/parallel.log", ours = dir.path() + "/procpool.log";
  run_program(
      {"parallel", "--will-cite", "-j1", "--joblog", theirs, tmpl, ":::", "a", "b", "c", "d"});
  RunOutput r = run_procpool({"map", "-j1", "--joblog", ours, tmpl, ":::", "a", "b", "c", "d"});
  EXPECT_EQ(r.exit_status, 1) << r.err;

  std::vector<std::string> want = lines(slurp(theirs)), got = lines(slurp(ours));
  ASSERT_EQ(want.size(), 5u) << slurp(theirs);
  ASSERT_EQ(got.size(), 5u) << slurp(ours);
  EXPECT_EQ(got[0], want[0]);
  EXPECT_EQ(got[0], "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  std::map<std::string, std::vector<std::string>> by_seq_want, by_seq_got;
  for (size_t i = 1; i < 5; ++i) {
    auto w = split(want[i], '\t'), g = split(got[i], '\t');
    ASSERT_EQ(w.size(), 9u) << want[i];
    ASSERT_EQ(g.size(), 9u) << got[i];
    by_seq_want[w[0]] = w;
    by_seq_got[g[0]] = g;
  }
  const std::regex starttime(R"(\d{10,}\.\d{3})"), runtime(R"( *\d+\.\d{3})");
  for (const auto& [seq, w] : by_seq_want) {
    ASSERT_TRUE(by_seq_got.count(seq)) << seq;
    const auto& g = by_seq_got[seq];
    EXPECT_TRUE(std::regex_match(g[2], starttime)) << g[2];
    EXPECT_TRUE(std::regex_match(g[3], runtime)) << g[3];
    EXPECT_EQ(g[3].size(), w[3].size()) << "JobRuntime is %10.3f";
    for (size_t col : {1, 4, 5, 6, 7}) EXPECT_EQ(g[col], w[col]) << "Seq " << seq << " col " << col;
    EXPECT_EQ(g[8].rfind("case ", 0), 0u) << g[8];
  }
  EXPECT_EQ(by_seq_got["3"][6], "0");  // killed by a signal: Exitval 0, Signal 9
  EXPECT_EQ(by_seq_got["3"][7], "9");
  EXPECT_EQ(by_seq_got["4"][5], "3");  // Receive: bytes of stdout
}

TEST(CiOutputsJoblog, TimeoutsErrorsAndUnstartedJobs) {
  TempDir dir;
  std::string log = dir.path() + "/log";
  json slow = job("slow", "sleep 10");
  slow["timeout"] = "200ms";
  json after = job("after", "true");
  after["needs"] = {"slow"};
  RunOutput r = run_jobs(dir,
                         json::array({slow, job("missing", json::array({"no-such-x-y"})), after,
                                      job("multi", "echo a\necho b")}),
                         {"--joblog", log});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  std::map<std::string, std::vector<std::string>> rows;
  for (const auto& l : lines(slurp(log))) {
    auto cols = split(l, '\t');
    ASSERT_EQ(cols.size(), 9u) << l;
    rows[cols[0]] = cols;
  }
  ASSERT_EQ(rows.size(), 4u) << slurp(log);  // header + 3: `after` never started
  EXPECT_EQ(rows["1"][6], "-1");             // stopped by its timeout, as GNU parallel logs it
  EXPECT_EQ(rows["1"][7], "15");
  EXPECT_EQ(rows["2"][6], "127");  // could not start
  EXPECT_EQ(rows["2"][8], "no-such-x-y");
  EXPECT_EQ(rows["4"][8], std::string("echo a\0echo b", 13));  // newlines as NUL, one line a job
}

TEST(CiOutputsJoblog, EachLineIsWrittenAsItsJobFinishes) {
  TempDir dir;
  std::string log = dir.path() + "/log", go = dir.path() + "/go";
  std::string file = dir.write(
      "jobs.json", json::array({job("first", "echo 1"), job("second", wait_for(go))}).dump());
  Background run = Background::procpool({"run", "-j", "2", "--joblog", log, file});
  ASSERT_TRUE(wait_until([&] { return lines(slurp(log)).size() == 2; })) << slurp(log);
  EXPECT_NE(lines(slurp(log))[1].find("\techo 1"), std::string::npos);
  std::ofstream(go) << "go";
  BackgroundResult r = run.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(lines(slurp(log)).size(), 3u);
}

// +FILE appends, and never writes the header, even to a new file: as GNU parallel does.
TEST(CiOutputsJoblog, PlusAppendsWithoutAHeaderAsGnuParallelDoes) {
  TempDir dir;
  std::string log = dir.path() + "/log", theirs = dir.path() + "/theirs";
  for (int i = 0; i < 2; ++i) {
    RunOutput r = run_procpool({"map", "--joblog", "+" + log, "echo {}", ":::", "x"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    run_program({"parallel", "--will-cite", "--joblog", "+" + theirs, "echo {}", ":::", "x"});
  }
  auto all = lines(slurp(log));
  ASSERT_EQ(all.size(), 2u) << slurp(log);
  EXPECT_EQ(all[0].rfind("1\t:\t", 0), 0u);
  EXPECT_EQ(all[1].rfind("1\t:\t", 0), 0u);
  EXPECT_EQ(lines(slurp(theirs)).size(), all.size()) << slurp(theirs);
}

// --- journal and resume -----------------------------------------------------------------

TEST(CiOutputsJournal, IdentityIsCommandEnvAndCwdNotPositionOrName) {
  procpool::Job a;
  a.id = 1;
  a.name = "a";
  a.shell = "make test";
  a.env = {{"CI", "1"}, {"LANG", "C"}};
  a.cwd = "src";
  procpool::Job b = a;
  b.id = 7;
  b.name = "renamed";
  b.timeout = std::chrono::milliseconds(5000);
  b.retries = 3;
  b.needs = {"x"};
  EXPECT_EQ(procpool::job_identity(a), procpool::job_identity(b));
  EXPECT_EQ(procpool::job_identity(a).size(), 16u);

  auto differs = [&](const std::function<void(procpool::Job&)>& change) {
    procpool::Job c = a;
    change(c);
    return procpool::job_identity(c) != procpool::job_identity(a);
  };
  EXPECT_TRUE(differs([](procpool::Job& j) { j.shell = "make test "; }));
  EXPECT_TRUE(differs([](procpool::Job& j) { j.env["CI"] = "0"; }));
  EXPECT_TRUE(differs([](procpool::Job& j) { j.env.erase("LANG"); }));
  EXPECT_TRUE(differs([](procpool::Job& j) { j.cwd = ""; }));
  EXPECT_TRUE(differs([](procpool::Job& j) {
    j.shell.clear();
    j.argv = {"make test"};
  }));
  // Pieces are length-prefixed: moving a boundary is a different job.
  procpool::Job split1 = a, split2 = a;
  split1.shell.clear();
  split2.shell.clear();
  split1.argv = {"make", "test"};
  split2.argv = {"mak", "etest"};
  EXPECT_NE(procpool::job_identity(split1), procpool::job_identity(split2));
  split2.argv = {"make test"};
  EXPECT_NE(procpool::job_identity(split1), procpool::job_identity(split2));
}

// Each job appends its name to runs.log, so the log says what ran, how often.
static json logged(const TempDir& dir, const std::string& name, const std::string& then = "true") {
  return job(name, "echo " + name + " >> " + dir.path() + "/runs.log; " + then);
}

TEST(CiOutputsJournal, ResumeSkipsWhatSucceededAndRunsTheRest) {
  TempDir dir;
  std::string journal = dir.path() + "/journal.jsonl", fixed = dir.path() + "/fixed";
  json flaky = logged(dir, "b", "test -e " + fixed);
  json d = logged(dir, "d");
  d["needs"] = {"b"};
  json e = logged(dir, "e");
  e["needs"] = {"a"};
  RunOutput first = run_jobs(dir, json::array({logged(dir, "a"), flaky, logged(dir, "c"), d}),
                             {"--journal", journal});
  EXPECT_EQ(first.exit_status, 1) << first.err;
  EXPECT_EQ(lines(slurp(journal)).size(), 4u);  // d was skipped: recorded too, not ok

  // Fixed, reordered, renamed, and a new job that needs one that already succeeded.
  std::ofstream(fixed) << "yes";
  json c = logged(dir, "c");
  c["name"] = "c-renamed";
  RunOutput second = run_jobs(dir, json::array({e, d, c, flaky, logged(dir, "a")}),
                              {"--journal", journal, "--resume", "--format", "jsonl"});
  EXPECT_EQ(second.exit_status, 0) << second.err;
  auto records = parse_json_lines(second.out);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["resumed"], 2) << second.out;
  EXPECT_EQ(records.back()["ok"], 3);
  EXPECT_EQ(records.back()["total"], 5);
  for (const auto& rec : records) {
    if (rec["type"] == "job" && (rec["name"] == "a" || rec["name"] == "c-renamed")) {
      EXPECT_EQ(rec["status"], "skipped");
      EXPECT_EQ(rec["resumed"], true);
    }
  }
  EXPECT_EQ(line_counts(dir.path() + "/runs.log"),
            (std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 1}, {"d", 1}, {"e", 1}}));

  // Everything has succeeded now: nothing runs, the exit status is 0, and the summary says why.
  RunOutput third = run_jobs(dir, json::array({e, d, c, flaky, logged(dir, "a")}),
                             {"--journal", journal, "--resume"});
  EXPECT_EQ(third.exit_status, 0) << third.err;
  EXPECT_NE(third.err.find("5 skipped as already succeeded"), std::string::npos) << third.err;
  EXPECT_EQ(lines(slurp(dir.path() + "/runs.log")).size(), 6u);
}

TEST(CiOutputsJournal, ResumeFailedRerunsFailuresAndRunsWhatNeverRan) {
  TempDir dir;
  std::string journal = dir.path() + "/journal.jsonl";
  RunOutput first = run_procpool({"map", "--journal", journal,
                                  "echo {} >> " + dir.path() + "/runs.log; test {} != bad",
                                  ":::", "good", "bad"});
  EXPECT_EQ(first.exit_status, 1) << first.err;
  RunOutput second = run_procpool({"map", "--journal", journal, "--resume-failed",
                                   "echo {} >> " + dir.path() + "/runs.log; test {} != bad",
                                   ":::", "good", "bad", "new"});
  EXPECT_EQ(second.exit_status, 1) << second.err;  // bad is still bad
  EXPECT_EQ(line_counts(dir.path() + "/runs.log"),
            (std::map<std::string, int>{{"good", 1}, {"bad", 2}, {"new", 1}}));
}

// A procpool killed with SIGKILL midway loses nothing that finished: --resume runs the rest only.
TEST(CiOutputsJournal, ResumeAfterSigkillRunsOnlyWhatDidNotFinish) {
  TempDir dir;
  std::string journal = dir.path() + "/journal.jsonl", runs = dir.path() + "/runs.log";
  std::string go = dir.path() + "/go";
  json jobs = json::array({logged(dir, "q1"), logged(dir, "q2"), logged(dir, "q3"),
                           logged(dir, "b1", wait_for(go)), logged(dir, "b2", wait_for(go))});
  std::string file = dir.write("jobs.json", jobs.dump());
  {
    Background run = Background::procpool({"run", "-j", "5", "--journal", journal, file});
    ASSERT_TRUE(wait_until([&] { return lines(slurp(journal)).size() == 3; })) << slurp(journal);
    ASSERT_TRUE(wait_until([&] { return lines(slurp(runs)).size() == 5; })) << slurp(runs);
    run.signal(SIGKILL);
    BackgroundResult r = run.wait();
    EXPECT_EQ(r.exit_status, 128 + SIGKILL);
  }
  std::string text = slurp(journal);
  ASSERT_EQ(lines(text).size(), 3u) << text;
  for (const auto& l : lines(text)) EXPECT_EQ(json::parse(l)["status"], "ok") << l;

  std::ofstream(go) << "go";
  RunOutput r = run_procpool({"run", "-j", "5", "--journal", journal, "--resume", file});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.err.find("3 skipped as already succeeded"), std::string::npos) << r.err;
  EXPECT_EQ(line_counts(runs),
            (std::map<std::string, int>{{"q1", 1}, {"q2", 1}, {"q3", 1}, {"b1", 2}, {"b2", 2}}));
  EXPECT_EQ(lines(slurp(journal)).size(), 5u);
}

TEST(CiOutputsJournal, ATornLastLineIsIgnoredAndSealed) {
  TempDir dir;
  std::string journal = dir.path() + "/journal.jsonl";
  RunOutput first = run_procpool({"map", "--journal", journal, "echo {}", ":::", "a"});
  ASSERT_EQ(first.exit_status, 0) << first.err;
  std::ofstream(journal, std::ios::app) << "{\"identity\":\"0123";  // a kill mid-write
  RunOutput second =
      run_procpool({"map", "--journal", journal, "--resume", "echo {}", ":::", "a", "b"});
  EXPECT_EQ(second.exit_status, 0) << second.err;
  EXPECT_NE(second.err.find("incomplete"), std::string::npos) << second.err;
  auto all = lines(slurp(journal));
  ASSERT_EQ(all.size(), 3u) << slurp(journal);
  EXPECT_EQ(json::parse(all[2])["name"], "b");
  // And the sealed journal reads cleanly next time.
  RunOutput third =
      run_procpool({"map", "--journal", journal, "--resume", "echo {}", ":::", "a", "b"});
  EXPECT_EQ(third.exit_status, 0) << third.err;
  EXPECT_NE(third.err.find("2 skipped as already succeeded"), std::string::npos) << third.err;
}

TEST(CiOutputsJournal, AFileThatIsNotAJournalIsNeverAppendedTo) {
  TempDir dir;
  std::string marker = dir.path() + "/ran";
  std::string file = dir.write("jobs.json", json::array({job("t", "touch " + marker)}).dump());
  std::string before = slurp(file);
  RunOutput r = run_procpool({"run", "--journal", file, "--resume", file});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.err.find("not a procpool journal"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(file), before);
  EXPECT_FALSE(file_exists(marker));
}

// --- results folders --------------------------------------------------------------------

TEST(CiOutputsResults, FolderNamesAreSafeUniqueAndBounded) {
  using procpool::results_folder_name;
  EXPECT_EQ(results_folder_name(1, "build"), "0001-build");
  EXPECT_EQ(results_folder_name(2, "../../etc"), "0002-.._.._etc");
  EXPECT_EQ(results_folder_name(3, "a/b"), "0003-a_b");
  EXPECT_EQ(results_folder_name(4, "."), "0004-.");
  EXPECT_EQ(results_folder_name(5, ".."), "0005-..");
  EXPECT_EQ(results_folder_name(6, ""), "0006-");
  EXPECT_EQ(results_folder_name(7, std::string("x\ny\0z\t/ \"'*", 11)), "0007-x_y_z_");
  EXPECT_EQ(results_folder_name(12345, "x"), "12345-x");
  EXPECT_EQ(results_folder_name(8, "h\xC3\xA9llo\xFF"), "0008-h\xC3\xA9llo_");
  EXPECT_EQ(results_folder_name(9, std::string(300, 'L')), "0009-" + std::string(100, 'L'));
  // Cut on a character boundary, never inside one.
  EXPECT_EQ(results_folder_name(10, std::string(99, 'a') + "\xC3\xA9"),
            "0010-" + std::string(99, 'a'));
}

TEST(CiOutputsResults, KeepsEachStreamByteForByteWithTheJobRecord) {
  TempDir dir;
  std::string bytes = dir.write("bytes.bin", hostile_bytes());
  std::string results = dir.path() + "/out/nested";  // created, parents too
  RunOutput r = run_jobs(dir,
                         json::array({job("bytes", "cat " + bytes + "; printf err >&2; exit 4"),
                                      job("quiet", json::array({"true"}))}),
                         {"--results", results});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  std::string folder = results + "/0001-bytes";
  EXPECT_EQ(slurp(folder + "/stdout"), hostile_bytes());
  EXPECT_EQ(slurp(folder + "/stderr"), "err");
  json meta = json::parse(slurp(folder + "/meta.json"));
  EXPECT_EQ(meta["id"], 1);
  EXPECT_EQ(meta["name"], "bytes");
  EXPECT_EQ(meta["cmd"], "cat " + bytes + "; printf err >&2; exit 4");
  EXPECT_EQ(meta["status"], "failed");
  EXPECT_EQ(meta["exit_code"], 4);
  EXPECT_TRUE(meta["signal"].is_null());
  EXPECT_EQ(meta["attempts"], 1);
  EXPECT_TRUE(meta["started"].is_string());
  EXPECT_TRUE(meta["ended"].is_string());
  EXPECT_TRUE(meta["duration"].is_number());
  EXPECT_TRUE(meta["host"].is_string());
  EXPECT_TRUE(meta["worker"].is_number());
  EXPECT_EQ(slurp(results + "/0002-quiet/stdout"), "");
  EXPECT_TRUE(file_exists(results + "/0002-quiet/stderr"));
  EXPECT_EQ(json::parse(slurp(results + "/0002-quiet/meta.json"))["cmd"], json::array({"true"}));
}

TEST(CiOutputsResults, ResumeKeepsTheFoldersOfTheRunThatSucceeded) {
  TempDir dir;
  std::string journal = dir.path() + "/j", results = dir.path() + "/out";
  RunOutput first = run_procpool(
      {"map", "--journal", journal, "--results", results, "echo {}; test {} = a", ":::", "a", "b"});
  EXPECT_EQ(first.exit_status, 1) << first.err;
  RunOutput second = run_procpool({"map", "--journal", journal, "--results", results, "--resume",
                                   "echo {}; test {} = a", ":::", "a", "b"});
  EXPECT_EQ(second.exit_status, 1) << second.err;
  EXPECT_EQ(slurp(results + "/0001-a/stdout"), "a\n");
  EXPECT_EQ(json::parse(slurp(results + "/0001-a/meta.json"))["status"], "ok");
  EXPECT_EQ(json::parse(slurp(results + "/0002-b/meta.json"))["status"], "failed");
}

TEST(CiOutputsResults, HostileNamesStayInsideTheFolderAndApart) {
  TempDir dir;
  std::string results = dir.path() + "/results";
  const std::vector<std::string> inputs = {
      "../../etc", "a/b", ".", "..", "dup", "dup", "x\ny", std::string(300, 'L'), " ", "-", "\t"};
  std::vector<std::string> args = {"map", "--results", results, "printf %s {}", ":::"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  RunOutput r = run_procpool(args);
  EXPECT_EQ(r.exit_status, 0) << r.err;

  std::set<std::string> folders;
  std::multiset<std::string> outputs;
  for (const auto& entry : fs::directory_iterator(results)) {
    std::string name = entry.path().filename().string();
    EXPECT_TRUE(entry.is_directory()) << name;
    EXPECT_NE(name, ".");
    EXPECT_NE(name, "..");
    EXPECT_LE(name.size(), 4u + 1 + 100) << name;
    EXPECT_EQ(name.find_first_of(std::string("/\n\t\0", 4)), std::string::npos) << name;
    folders.insert(name);
    outputs.insert(slurp(entry.path().string() + "/stdout"));
    // The record names the job as it was, whatever its folder is called.
    json meta = json::parse(slurp(entry.path().string() + "/meta.json"));
    EXPECT_EQ(meta["name"].get<std::string>(), slurp(entry.path().string() + "/stdout"));
  }
  EXPECT_EQ(folders.size(), inputs.size());
  EXPECT_EQ(outputs, std::multiset<std::string>(inputs.begin(), inputs.end()));
  // Nothing escaped: the temporary folder holds only `results`, and no `etc` appeared above it.
  std::set<std::string> top;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    top.insert(entry.path().filename().string());
  }
  EXPECT_EQ(top, std::set<std::string>{"results"});
  EXPECT_FALSE(fs::exists(fs::path(dir.path()).parent_path() / "etc"));
}
