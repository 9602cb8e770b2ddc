// Outputs never lie: every file procpool was asked to write (--junit, --journal, --joblog,
// --trace, --report) on a full disk. The batch runs on; the exit status is 1 even when every
// job succeeded; the file and the error are named once, not per job; and the file stays usable
// (valid XML or JSON, whole records only, so the next --resume works) or is removed. The disk is
// a small tmpfs (needs root; the cases skip otherwise) filled up to a page.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"
#include "tests/support/jsonl_report.h"
#include "tests/support/process_checks.h"
#include "tests/support/tmpfs.h"

using json = nlohmann::json;
using namespace procpool::testing;

namespace {

constexpr int kJobs = 200;

class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    disk_ = std::make_unique<ScopedTmpfs>(dir_.path() + "/disk", "32k");
    if (!disk_->mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk_->error();
    fill_leaving_one_page();
  }

  // Fills the disk with a filler file, then gives one page back: the next few KiB written fit,
  // what comes after does not.
  void fill_leaving_one_page() {
    int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    std::string page(4096, 'f');
    off_t size = 0;
    while (::write(fd, page.data(), page.size()) == static_cast<ssize_t>(page.size())) {
      size += 4096;
    }
    ASSERT_GE(size, 4096);
    ASSERT_EQ(::ftruncate(fd, size - 4096), 0);
    ::close(fd);
  }
  std::string filler() const { return disk_path("filler"); }
  std::string disk_path(const std::string& name) const { return dir_.path() + "/disk/" + name; }

  // kJobs jobs that all succeed, one command per line; `lines` of them print a 1,000-byte line.
  std::string commands(int printing = 0) const {
    std::string text;
    for (int i = 1; i <= kJobs; ++i) {
      text += i <= printing ? "printf '%01000d\\n' " + std::to_string(i) + "\n"
                            : "true " + std::to_string(i) + "\n";
    }
    return dir_.write("commands.txt", text);
  }

  RunOutput run(std::vector<std::string> flags, const std::string& file) const {
    std::vector<std::string> args{"run", "-j2", "--lines", "--format", "jsonl"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(file);
    return run_procpool(args);
  }

  // The lines of procpool's stderr that name `path`: the failure is said once (at most a first
  // line and a closing count), never once per job.
  static void expect_said_once(const RunOutput& r, const std::string& path) {
    int naming = 0;
    for (const auto& line : lines(r.err)) naming += line.find(path) != std::string::npos;
    EXPECT_GE(naming, 1) << r.err;
    EXPECT_LE(naming, 2) << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  }

  // Every job ran and succeeded: the file's failure costs no job.
  static void expect_every_job_ok(const RunOutput& r) {
    Report rep = parse_report(r.out);
    EXPECT_EQ(rep.summary["ok"], kJobs) << r.out.substr(0, 2000);
  }

  TempDir dir_;
  std::unique_ptr<ScopedTmpfs> disk_;
};

TEST_F(FullDisk, JunitStaysValidXmlWithTheTestcasesThatFitAndTheExitStatusIsOne) {
  std::string xml = disk_path("junit.xml");
  RunOutput r = run({"--junit", xml}, commands(/*printing=*/kJobs));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  expect_said_once(r, xml);
  expect_every_job_ok(r);
  RunOutput lint = run_program({"xmllint", "--noout", xml});
  EXPECT_EQ(lint.exit_status, 0) << lint.err << "\n" << slurp(xml).substr(0, 600);
  // The counts in <testsuite> match the testcases the file really holds.
  std::string cases = run_program({"xmllint", "--xpath", "count(//testcase)", xml}).out;
  std::string tests = run_program({"xmllint", "--xpath", "string(//testsuite/@tests)", xml}).out;
  EXPECT_EQ(cases, tests);
  EXPECT_GT(std::stoi(cases), 0);
  EXPECT_LT(std::stoi(cases), kJobs);
}

TEST_F(FullDisk, JournalKeepsWholeRecordsOnlySoTheNextResumeFinishesTheBatch) {
  std::string journal = disk_path("journal");
  std::string file = commands();
  RunOutput r = run({"--journal", journal}, file);
  EXPECT_EQ(r.exit_status, 1) << r.err;
  expect_said_once(r, journal);
  expect_every_job_ok(r);
  std::string text = slurp(journal);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "a partial record was left at the end";
  size_t recorded = lines(text).size();
  for (const auto& line : lines(text)) {
    json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(rec.is_object() && rec.contains("identity")) << line;
  }
  ASSERT_LT(recorded, static_cast<size_t>(kJobs));

  // Room again: the documented recovery runs exactly the jobs the journal could not keep.
  std::filesystem::remove(filler());
  RunOutput again = run({"--journal", journal, "--resume"}, file);
  EXPECT_EQ(again.exit_status, 0) << again.err;
  Report rep = parse_report(again.out);
  EXPECT_EQ(rep.summary["resumed"], recorded) << again.out.substr(0, 2000);
  EXPECT_EQ(rep.summary["ok"], kJobs - recorded);
}

TEST_F(FullDisk, JoblogKeepsWholeLinesOnly) {
  std::string joblog = disk_path("joblog");
  RunOutput r = run({"--joblog", joblog}, commands());
  EXPECT_EQ(r.exit_status, 1) << r.err;
  expect_said_once(r, joblog);
  expect_every_job_ok(r);
  std::string text = slurp(joblog);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto rows = lines(text);
  EXPECT_LT(rows.size(), static_cast<size_t>(kJobs) + 1);
  for (const auto& row : rows) {
    EXPECT_EQ(std::count(row.begin(), row.end(), '\t'), 8) << row;
  }
}

// A trace or report that cannot be finished is removed rather than left as broken JSON or HTML.
void expect_valid_or_absent(const std::string& path, const std::vector<std::string>& check) {
  if (!std::filesystem::exists(path)) return;
  std::vector<std::string> argv = check;
  argv.push_back(path);
  RunOutput v = run_program(argv);
  EXPECT_EQ(v.exit_status, 0) << v.err << "\n" << slurp(path).substr(0, 400);
}

TEST_F(FullDisk, TraceIsValidJsonOrRemoved) {
  std::string trace = disk_path("trace.json");
  RunOutput r = run({"--trace", trace}, commands());
  EXPECT_EQ(r.exit_status, 1) << r.err;
  expect_said_once(r, trace);
  expect_every_job_ok(r);
  expect_valid_or_absent(trace, {"python3", "-c",
                                 "import json,sys; d=json.load(open(sys.argv[1])); "
                                 "assert isinstance(d['traceEvents'], list)"});
}

TEST_F(FullDisk, ReportIsCompleteOrRemoved) {
  std::string report = disk_path("report.html");
  RunOutput r = run({"--report", report}, commands());
  EXPECT_EQ(r.exit_status, 1) << r.err;
  expect_said_once(r, report);
  expect_every_job_ok(r);
  expect_valid_or_absent(report, {"sh", "-c", "tail -c 200 \"$0\" | grep -q '</html>'"});
}

// With room, the same flags exit 0: the status above is the disk's doing.
TEST_F(FullDisk, WithRoomEveryFileIsWrittenAndTheExitStatusIsZero) {
  std::string roomy = dir_.path() + "/";
  RunOutput r = run({"--junit", roomy + "j.xml", "--journal", roomy + "journal", "--joblog",
                     roomy + "joblog", "--trace", roomy + "t.json", "--report", roomy + "r.html"},
                    commands());
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(lines(slurp(roomy + "journal")).size(), static_cast<size_t>(kJobs));
}

// ---- a journal torn by a kill, at any length --------------------------------------------------

TEST(JournalTornLine, ATornLastLineOfAnyLengthIsIgnoredWithAWarning) {
  const std::string record =
      R"({"identity":"0123456789abcdef","id":1,"name":"x","status":"ok","exit_code":0})";
  TempDir dir;
  std::string jobs = dir.write("jobs.txt", "true\n");
  for (size_t len = 1; len < record.size(); ++len) {
    SCOPED_TRACE("torn after " + std::to_string(len) + " bytes");
    std::string journal = dir.write("journal", record + "\n" + record.substr(0, len));
    RunOutput r = run_procpool({"run", "--lines", "--journal", journal, "--resume", jobs});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
    // Sealed, then appended to: the new record is a line of its own.
    auto rows = lines(slurp(journal));
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[1], record.substr(0, len));
    EXPECT_TRUE(json::parse(rows[2], nullptr, false).is_object()) << rows[2];
  }
}

}  // namespace
