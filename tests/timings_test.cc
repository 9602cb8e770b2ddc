// Timings: past durations read from procpool's journal and from JUnit XML reports (procpool's
// own, written by the built binary, and another tool's), matched to jobs the ways a CI splits
// by them; and a message naming the file for each file that cannot be used.
#include "cli/timings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/journal.h"
#include "common/job_file.h"
#include "tests/support/e2e.h"

namespace procpool {
namespace {

using json = nlohmann::json;
using testing::RunOutput;
using testing::TempDir;

Job job(const std::string& name, const std::string& shell = "") {
  Job j;
  j.name = name;
  j.shell = shell.empty() ? "run " + name : shell;
  return j;
}

// A journal line as cli/journal.cc writes one; `duration` < 0 leaves the member out (records
// from before it existed).
std::string record(const Job& j, const std::string& status, double duration) {
  nlohmann::ordered_json rec = {{"identity", job_identity(j)},
                                {"id", 1},
                                {"name", j.name},
                                {"status", status},
                                {"exit_code", 0},
                                {"attempts", 1}};
  if (duration >= 0) rec["duration_s"] = duration;
  rec["ended"] = "2024-05-01T10:00:00.000000Z";
  return rec.dump() + "\n";
}

std::string load_error(const std::string& path) {
  Timings t;
  try {
    t.load_file(path);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- the journal -------------------------------------------------------------------------------

TEST(TimingsJournal, LatestRecordWithADurationWins) {
  Job a = job("a"), b = job("b"), c = job("c"), d = job("d"), e = job("e");
  TempDir dir;
  std::string path =
      dir.write("journal", record(a, "ok", 1.0) + record(a, "failed", 3.0) +       // later wins
                               record(b, "ok", 2.0) + record(b, "cancelled", 0) +  // no figure
                               record(b, "skipped", 0) + record(b, "error", 0.01) +
                               record(c, "ok", -1) +                         // old: none
                               record(d, "ok", 4.0) + record(d, "ok", -1) +  // old after
                               record(e, "timeout", 9.5));
  Timings t;
  t.load_file(path);
  EXPECT_EQ(t.seconds(a), 3.0);
  EXPECT_EQ(t.seconds(b), 2.0);
  EXPECT_EQ(t.seconds(c), std::nullopt);
  EXPECT_EQ(t.seconds(d), 4.0);
  EXPECT_EQ(t.seconds(e), 9.5);
  EXPECT_EQ(t.seconds(job("never")), std::nullopt);
  EXPECT_FALSE(t.empty());
}

TEST(TimingsJournal, IdentityFirstThenName) {
  Job build = job("build", "make all");
  Job renamed = job("compile", "make all");    // the same command, renamed since
  Job changed = job("build", "make -j8 all");  // the same name, another command
  Job other = job("other", "echo other");
  TempDir dir;
  // The latest record for the name "build" is of another command; "build"'s own record wins.
  std::string path = dir.write(
      "journal", record(build, "ok", 5.0) + record(changed, "ok", 1.0) + record(other, "ok", 0.25));
  Timings t;
  t.load_file(path);
  EXPECT_EQ(t.seconds(build), 5.0);
  EXPECT_EQ(t.seconds(renamed), 5.0);
  EXPECT_EQ(t.seconds(changed), 1.0);
  Job new_build = job("build", "make -j16 all");  // unknown command: falls back to the name
  EXPECT_EQ(t.seconds(new_build), 1.0);
}

TEST(TimingsJournal, ReadsTheNumberNotLookalikesInStrings) {
  Job tricky = job(R"(x","duration_s":99,"y":")");
  Job nul = job("nul");
  TempDir dir;
  std::string nested = json({{"identity", job_identity(nul)},
                             {"name", "nul"},
                             {"status", "ok"},
                             {"extra", {{"duration_s", 42}}},
                             {"duration_s", nullptr}})
                           .dump() +
                       "\n";
  std::string path = dir.write("journal", "\n" + record(tricky, "ok", 0.5) + nested + "  \n");
  Timings t;
  t.load_file(path);
  EXPECT_EQ(t.seconds(tricky), 0.5);
  EXPECT_EQ(t.seconds(nul), std::nullopt);  // null (no finite value), nested one ignored
}

TEST(TimingsJournal, ATornLastRecordIsSkipped) {
  Job a = job("a");
  TempDir dir;
  std::string whole = record(a, "ok", 2.0);
  std::string path = dir.write("journal", whole + whole.substr(0, whole.size() / 2));
  Timings t;
  t.load_file(path);
  EXPECT_EQ(t.seconds(a), 2.0);
}

TEST(TimingsJournal, AsTimingsALineThatIsNotARecordIsAnError) {
  TempDir dir;
  std::string path = dir.write("jobs.jsonl", record(job("a"), "ok", 1) + "{\"cmd\": \"make\"}\n");
  std::string e = load_error(path);
  EXPECT_NE(e.find("--timings " + path + ": line 2 is not a procpool journal record"),
            std::string::npos)
      << e;
}

TEST(TimingsJournal, AsTheJournalUnreadableOrMissingIsSkipped) {
  Job a = job("a");
  TempDir dir;
  std::string path = dir.write("journal", "not a record\n" + record(a, "ok", 1.5) + "[1,2]\n");
  Timings t;
  t.load_journal_if_present(path);
  t.load_journal_if_present(dir.path() + "/missing");
  t.load_journal_if_present(dir.path());  // a directory
  EXPECT_EQ(t.seconds(a), 1.5);
}

TEST(TimingsJournal, OnlyOldRecordsGiveNoFigures) {
  TempDir dir;
  Timings t;
  t.load_file(dir.write("journal", record(job("a"), "ok", -1)));
  t.load_file(dir.write("empty", ""));  // a journal no job has finished in yet
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.seconds(job("a")), std::nullopt);
}

// --- JUnit -------------------------------------------------------------------------------------

// As pytest --junitxml writes one (pytest 7, junit_family=xunit1, which has `file`), with the
// things a scanner could trip on: testcases inside a comment and a CDATA section, '>' in a value.
constexpr const char* kPytest = R"(<?xml version="1.0" encoding="utf-8"?>
<!-- generated by pytest -->
<testsuites>
  <testsuite name="pytest" errors="0" failures="1" skipped="0" tests="6" time="7.0"
             timestamp="2024-05-01T10:00:00.000000" hostname="ci-1">
    <!-- a > b: <testcase classname="c" name="in_comment" time="99"/> -->
    <testcase classname="tests.test_a" name="test_x" file="tests/test_a.py" line="3" time="1.5" />
    <testcase classname="tests.test_a" name="test_y" file="tests/test_a.py" line="9" time="2.25">
      <failure message="assert 1 &gt; 2">def test_y():
&gt;       assert 1 &gt; 2
E       assert 1 &gt; 2</failure>
      <system-out><![CDATA[<testcase name="in_cdata" time="5"/>]]></system-out>
    </testcase>
    <testcase classname="tests.test_b.TestK" name="test_x" file="tests/test_b.py" time="0.5"/>
    <testcase classname='tests.test_b.TestK'
              name='test_&lt;odd&gt; &amp; &quot;q&quot; &apos;s&apos; &#233;&#x4E2D; a>b'
              file='tests/test_b.py' time='2'/>
    <testcase classname="tests.test_b.TestK" name="test_no_time" file="tests/test_b.py" time="n/a"/>
    <testcase classname="tests.test_b.TestK" name="test_bare" file="tests/test_b.py"/>
  </testsuite>
</testsuites>
)";

TEST(TimingsJunit, AnotherToolsReportByTestClassAndFile) {
  TempDir dir;
  Timings t;
  t.load_file(dir.write("report.xml", kPytest));
  EXPECT_EQ(t.seconds(job("test_y")), 2.25);              // testcase name
  EXPECT_EQ(t.seconds(job("tests.test_a.test_x")), 1.5);  // classname.name
  EXPECT_EQ(t.seconds(job("tests.test_b.TestK.test_x")), 0.5);
  EXPECT_EQ(t.seconds(job("tests/test_a.py")), 3.75);    // a job per test file
  EXPECT_EQ(t.seconds(job("tests/test_b.py")), 2.5);     // timeless testcases add nothing
  EXPECT_EQ(t.seconds(job("tests.test_b.TestK")), 2.5);  // a job per class
  EXPECT_EQ(t.seconds(job("tests.test_a")), 3.75);
  EXPECT_EQ(t.seconds(job("test_<odd> & \"q\" 's' \xC3\xA9\xE4\xB8\xAD a>b")), 2.0);
  // Two classes have a test_x: which one a job "test_x" means is not known.
  EXPECT_EQ(t.seconds(job("test_x")), std::nullopt);
  EXPECT_EQ(t.seconds(job("test_no_time")), std::nullopt);
  EXPECT_EQ(t.seconds(job("test_bare")), std::nullopt);
  EXPECT_EQ(t.seconds(job("in_comment")), std::nullopt);
  EXPECT_EQ(t.seconds(job("in_cdata")), std::nullopt);
}

TEST(TimingsJunit, NestedSuitesLendTheirFileAndReruns) {
  // Jest-like: the file on the suite only; a BOM and blank lines before the root; a rerun of a
  // testcase (the later one counts by name, both in the file's sum).
  std::string xml =
      "\xEF\xBB\xBF\n\n<!DOCTYPE testsuites [ <!ENTITY x \"<y>\"> ]>\n"
      "<testsuites name=\"jest\">\n"
      "  <testsuite name=\"outer\" file=\"spec/a.test.js\">\n"
      "    <testsuite name=\"inner\">\n"
      "      <testcase classname=\"A\" name=\"one\" time=\"1\"/>\n"
      "      <testcase classname=\"A\" name=\"one\" time=\" 3 \"></testcase>\n"
      "    </testsuite>\n"
      "    <testcase classname=\"A\" name=\"two\" time=\"0.5\" file=\"spec/b.test.js\"/>\n"
      "  </testsuite>\n"
      "  <testsuite name=\"empty\"/>\n"
      "  <testcase name=\"two\tlines\r\nhere\" time=\"6\"/><testcase name=\"kept&#9;&#10;\" "
      "time=\"7\"/>\n"
      "  <testsuite name=\"after\"><testcase classname=\"B\" name=\"three\" time=\"4\"/>"
      "</testsuite>\n"
      "</testsuites>\n";
  TempDir dir;
  Timings t;
  t.load_file(dir.write("jest.xml", xml));
  EXPECT_EQ(t.seconds(job("one")), 3.0);
  EXPECT_EQ(t.seconds(job("spec/a.test.js")), 4.0);
  EXPECT_EQ(t.seconds(job("spec/b.test.js")), 0.5);
  EXPECT_EQ(t.seconds(job("A")), 4.5);
  EXPECT_EQ(t.seconds(job("three")), 4.0);  // no file: the earlier suite's is not inherited
  EXPECT_EQ(t.seconds(job("B")), 4.0);
  // Literal tabs and line ends in a value are spaces to a parser; references are kept.
  EXPECT_EQ(t.seconds(job("two lines here")), 6.0);
  EXPECT_EQ(t.seconds(job("kept\t\n")), 7.0);
}

// Testcases that did not run (procpool's skipped, cancelled and could-not-start jobs, a test
// runner's skipped tests) are written with time 0: no figure, or they would be planned as the
// quickest of all.
TEST(TimingsJunit, TestcasesThatDidNotRunGiveNoFigure) {
  TempDir dir;
  std::string path = dir.write("r.xml", R"(<testsuites><testsuite name="s">
    <testcase name="ran" classname="s" time="4.5"><failure message="exit 1">x</failure></testcase>
    <testcase name="skipped" classname="s" time="0.000"><skipped message="needs build: failed"/></testcase>
    <testcase name="broken" classname="s" time="0"><error message="not found">x</error></testcase>
    <testcase name="plain" classname="s" time="2"/>
    <testcase name="unclosed" classname="s" time="3">
  </testsuite></testsuites>)");
  Timings t;
  t.load_file(path);
  EXPECT_EQ(t.seconds(job("ran")), 4.5);
  EXPECT_EQ(t.seconds(job("skipped")), std::nullopt);
  EXPECT_EQ(t.seconds(job("broken")), std::nullopt);
  EXPECT_EQ(t.seconds(job("plain")), 2.0);
  EXPECT_EQ(t.seconds(job("unclosed")), 3.0);
  EXPECT_EQ(t.seconds(job("s")), 9.5);  // the class: what ran
}

TEST(TimingsJunit, ASingleTestsuiteRootAndEmptyReports) {
  TempDir dir;
  Timings t;
  t.load_file(dir.write("one.xml",
                        "<testsuite name='s' tests='1'><testcase name='x' "
                        "time='7.25'/></testsuite>"));
  EXPECT_EQ(t.seconds(job("x")), 7.25);
  Timings none;
  none.load_file(dir.write("empty.xml", "<?xml version='1.0'?><testsuites/>"));
  EXPECT_TRUE(none.empty());
}

// procpool's own outputs, from the built binary: --junit and --journal agree on each job, and
// both find it (the journal by identity even when the job is renamed).
TEST(TimingsJunit, ProcpoolsOwnJunitAndJournal) {
  TempDir dir;
  json jobs = json::array({
      {{"name", "sleepy"}, {"cmd", {"sh", "-c", "sleep 0.3"}}},
      {{"name", "quick"}, {"cmd", {"true"}}},
      {{"name", "hostile <&\"'>\t name"}, {"cmd", "exit 3"}},
  });
  std::string file = dir.write("jobs.json", jobs.dump());
  std::string xml = dir.path() + "/r.xml", journal = dir.path() + "/journal";
  RunOutput r = testing::run_procpool({"run", "--junit", xml, "--journal", journal, file});
  ASSERT_EQ(r.exit_status, 1) << r.err;

  Timings from_xml, from_journal;
  from_xml.load_file(xml);
  from_journal.load_file(journal);
  std::vector<Job> parsed = parse_job_file(jobs.dump(), "jobs.json");
  for (const Job& j : parsed) {
    auto x = from_xml.seconds(j), y = from_journal.seconds(j);
    ASSERT_TRUE(x.has_value()) << j.name << "\n" << slurp(xml);
    ASSERT_TRUE(y.has_value()) << j.name << "\n" << slurp(journal);
    EXPECT_NEAR(*x, *y, 0.0005001) << j.name;  // JUnit rounds to milliseconds
  }
  EXPECT_GE(*from_journal.seconds(parsed[0]), 0.3);
  Job renamed = parsed[0];
  renamed.name = "renamed";
  EXPECT_EQ(from_journal.seconds(renamed), from_journal.seconds(parsed[0]));
  EXPECT_EQ(from_xml.seconds(renamed), std::nullopt);  // a report knows names only
}

// --- several files, and files that cannot be used ----------------------------------------------

TEST(Timings, ALaterFileReplacesAnEarlierOnesFigure) {
  Job a = job("a"), b = job("b");
  TempDir dir;
  std::string journal = dir.write("journal", record(a, "ok", 1.0) + record(b, "ok", 2.0));
  std::string xml = dir.write("r.xml", "<testsuites><testcase name='a' time='10'/></testsuites>");
  Timings t;
  t.load_file(journal);
  t.load_file(xml);
  EXPECT_EQ(t.seconds(a), 10.0);  // the report, loaded later, wins over the journal's identity
  EXPECT_EQ(t.seconds(b), 2.0);   // known to the earlier file only
  Timings reversed;
  reversed.load_file(xml);
  reversed.load_file(journal);
  EXPECT_EQ(reversed.seconds(a), 1.0);
}

TEST(Timings, MessagesNameTheFileAndWhatIsWrong) {
  TempDir dir;
  std::string missing = dir.path() + "/missing.xml";
  EXPECT_NE(load_error(missing).find("--timings " + missing + ": cannot read it: No such file"),
            std::string::npos)
      << load_error(missing);
  EXPECT_NE(load_error(dir.path()).find("--timings " + dir.path() + ": is a directory"),
            std::string::npos);

  std::string text = dir.write("notes.txt", "these are not timings\n");
  EXPECT_NE(load_error(text).find("--timings " + text +
                                  ": line 1 is not a procpool journal record, and the file is "
                                  "not JUnit XML either"),
            std::string::npos)
      << load_error(text);
  std::string job_file = dir.write("jobs.json", "[{\"cmd\": \"make\"}]");
  EXPECT_NE(load_error(job_file).find("line 1 is not a procpool journal record"),
            std::string::npos);

  std::string html = dir.write("page.html", "<!DOCTYPE html>\n<html><body>x</body></html>");
  EXPECT_EQ(load_error(html), "--timings " + html +
                                  ": not a JUnit XML report that can be read: its first element "
                                  "is <html>, not <testsuites> or <testsuite> (at byte 17)");
  std::string cut = dir.write("cut.xml", "<testsuites><testcase name=\"a\" time=\"1");
  EXPECT_NE(load_error(cut).find("--timings " + cut +
                                 ": not a JUnit XML report that can be "
                                 "read: the value of attribute time is not "
                                 "closed"),
            std::string::npos)
      << load_error(cut);
  std::string comment = dir.write("comment.xml", "<testsuites><!-- never closed");
  EXPECT_NE(load_error(comment).find("a comment is not closed"), std::string::npos);
  std::string bare = dir.write("bare.xml", "<?xml version='1.0'?>");
  EXPECT_NE(load_error(bare).find("holds no XML element"), std::string::npos);
  std::string unquoted = dir.write("unquoted.xml", "<testsuites><testcase name=a/></testsuites>");
  EXPECT_NE(load_error(unquoted).find("the value of attribute name is not quoted"),
            std::string::npos);
}

TEST(Timings, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  TempDir dir;
  std::string path = dir.write("journal", record(job("a"), "ok", 1));
  ::chmod(path.c_str(), 0);
  EXPECT_NE(load_error(path).find("--timings " + path + ": cannot read it: Permission denied"),
            std::string::npos);
}

}  // namespace
}  // namespace procpool
