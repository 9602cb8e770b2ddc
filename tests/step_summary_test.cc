// GitHub's job summary (GITHUB_STEP_SUMMARY): the Markdown is rendered with Python-Markdown
// (Debian's python3-markdown, with its GFM-style tables) and the HTML is parsed, so what is
// checked is what a reader sees: one table row per job that did not succeed, each with its five
// cells whatever its name holds, hostile names and stderr shown as the text they are (no
// element of theirs, no <script>), the last lines of stderr in a <details>, the counts. Then the
// recorder: appending once to the file, refusing a path it cannot open before anything runs,
// and a full disk leaving the step's earlier summary as it was.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/step_summary.h"
#include "common/visible_text.h"
#include "tests/support/e2e.h"
#include "tests/support/tmpfs.h"

using json = nlohmann::json;
using namespace procpool;
using namespace procpool::testing;

namespace {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-markdown is

// Renders Markdown to HTML with Python-Markdown and parses the HTML with Python's own parser:
// {"html": ..., "tags": [every element, in order], "blocks": [{"tag", "text"} of headings and
// paragraphs], "tables": [[row: [cell: {"text", "summary", "code", "tags"}]]]}. Text is as a
// browser shows it: entities decoded, <br> as a newline.
constexpr const char* kRender = R"PY(
import json, sys
import markdown
from html.parser import HTMLParser

html = markdown.markdown(sys.stdin.read(), extensions=["tables"])

class Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.blocks, self.tables = [], [], []
        self.cell = self.block = None
        self.inside = []  # elements open inside the current cell
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = {"text": "", "summary": "", "code": "", "tags": []}
            self.tables[-1][-1].append(self.cell)
        elif self.cell is not None:
            self.cell["tags"].append(tag)
            if tag == "br":
                self.data("\n")
            else:
                self.inside.append(tag)
        elif tag in ("h1", "h2", "h3", "h4", "p"):
            self.block = {"tag": tag, "text": ""}
            self.blocks.append(self.block)
    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell, self.inside = None, []
        elif self.cell is not None and tag in self.inside:
            self.inside.remove(tag)
        elif tag in ("h1", "h2", "h3", "h4", "p"):
            self.block = None
    def data(self, text):
        self.cell["text"] += text
        for where in ("summary", "code"):
            if where in self.inside:
                self.cell[where] += text
    def handle_data(self, text):
        if self.cell is not None:
            self.data(text)
        elif self.block is not None:
            self.block["text"] += text

p = Parser()
p.feed(html)
p.close()
print(json.dumps({"html": html, "tags": p.tags, "blocks": p.blocks, "tables": p.tables}))
)PY";

struct Rendered {
  std::string html;
  std::multiset<std::string> tags;
  std::vector<json> blocks;
  json tables;
};

// The message a missing renderer fails with: the test must not pass without checking.
constexpr const char* kNoMarkdown =
    "python3-markdown is missing (Debian's package, for /usr/bin/python3): run scripts/setup, "
    "which installs it";

bool have_markdown() {
  return run_program({kPython, "-c", "import markdown"}).exit_status == 0;
}

Rendered render(const std::string& markdown) {
  RunOutput r = run_program({kPython, "-c", kRender}, markdown);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Rendered out;
  if (r.exit_status != 0) return out;
  json doc = json::parse(r.out);
  out.html = doc["html"];
  for (const auto& t : doc["tags"]) out.tags.insert(t.get<std::string>());
  for (const auto& b : doc["blocks"]) out.blocks.push_back(b);
  out.tables = doc["tables"];
  return out;
}

// The text of the first block whose text contains `part`, or "".
std::string block_with(const Rendered& r, const std::string& part) {
  for (const auto& b : r.blocks) {
    std::string text = b["text"];
    if (text.find(part) != std::string::npos) return text;
  }
  return "";
}

// The table whose header row has `header` as its column `col`, or an empty one.
json table_headed(const Rendered& r, const std::string& header, size_t col = 0) {
  for (const auto& t : r.tables) {
    if (!t.empty() && t[0].size() > col && t[0][col]["text"] == header) return t;
  }
  return json::array();
}

// The table of the jobs that did not succeed.
json not_ok_table(const Rendered& r) {
  return table_headed(r, "how it ended", 1);
}

std::vector<std::string> column(const json& table, size_t col) {
  std::vector<std::string> out;
  for (size_t i = 1; i < table.size(); ++i) out.push_back(table[i][col]["text"]);
  return out;
}

Job job_named(const std::string& name) {
  Job job;
  job.name = name;
  job.shell = "true";
  return job;
}

Result result(Status status, double seconds = 0.2, const std::string& err = "") {
  Result r;
  r.status = status;
  if (status == Status::kOk) r.exit_code = 0;
  if (status == Status::kFailed) r.exit_code = 1;
  if (status == Status::kCrashed) r.signal = SIGSEGV;
  if (status == Status::kError) r.error = "cannot run ./nope: No such file or directory";
  r.attempts = status == Status::kCancelled || status == Status::kSkipped ? 0 : 1;
  r.started_us = r.attempts ? 1'700'000'000'000'000 : 0;
  r.duration_s = seconds;
  r.host = "runner-1";
  if (!err.empty()) r.output.append(Stream::kStderr, err);
  return r;
}

// A batch: each job goes to both the content and the Summary, as the recorder and the batch
// would see it.
struct Batch {
  StepSummaryContent content;
  Summary summary;
  void add(const Job& job, const Result& r) {
    content.add(job, r);
    summary.add(job, r);
  }
  std::string markdown(size_t max_bytes = StepSummaryContent::kMaxBytes) const {
    return content.markdown("jobs.json", summary, max_bytes);
  }
};

class StepSummary : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(have_markdown()) << kNoMarkdown; }
};

const std::string kHostile =
    "a|b`c` <script>alert(1)</script> *x* _y_ [x](y) ![i](z) &amp; & ~~z~~ $m$ :tada: \\| #\nnext";

TEST_F(StepSummary, AHostileNameIsOneCellOfOneRowShownAsTheTextItIs) {
  Batch b;
  b.add(job_named("build"), result(Status::kOk));
  b.add(job_named(kHostile), result(Status::kFailed, 0.25, "boom\n"));
  b.add(job_named("lint"), result(Status::kOk));
  Rendered r = render(b.markdown());

  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 2u) << "a header and one row for the one job that failed\n" << r.html;
  for (const auto& row : table) EXPECT_EQ(row.size(), 5u) << r.html;
  const json& cell = table[1][0];
  // What a reader sees: the name, its newline shown as \n (a row is one line).
  EXPECT_EQ(cell["text"], visible(kHostile)) << r.html;
  EXPECT_TRUE(cell["tags"].empty()) << "no markup of the name's own: " << cell["tags"].dump();
  EXPECT_EQ(table[1][1]["text"], "exit 1");
  EXPECT_EQ(table[1][2]["text"], "0.25s");
  EXPECT_EQ(table[1][3]["text"], "runner-1");
  // Nothing anywhere on the page came from a job: only procpool's own elements.
  for (const char* tag : {"script", "a", "img", "em", "strong", "del", "s"}) {
    EXPECT_EQ(r.tags.count(tag), 0u) << "<" << tag << "> in\n" << r.html;
  }
}

TEST_F(StepSummary, HostileTextInEveryCellAndTheTitleStaysText) {
  Batch b;
  Job job = job_named("t");
  Result res = result(Status::kCrashed, 1.5, kHostile + "\n");
  res.host = "h|<b>x</b>";
  res.error = "core |dumped| <i>x</i>";
  b.add(job, res);
  std::string md = b.content.markdown(kHostile, b.summary);
  Rendered r = render(md);

  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 2u) << r.html;
  ASSERT_EQ(table[1].size(), 5u) << r.html;
  EXPECT_EQ(table[1][1]["text"], "SIGSEGV: core |dumped| <i>x</i>");
  EXPECT_EQ(table[1][3]["text"], "h|<b>x</b>");
  EXPECT_EQ(table[1][4]["code"], visible(kHostile.substr(0, kHostile.find('\n'))) + "\nnext");
  EXPECT_EQ(r.blocks.at(0)["tag"], "h3");
  EXPECT_EQ(r.blocks.at(0)["text"], "procpool: " + visible(kHostile));
  for (const char* tag : {"script", "a", "img", "em", "strong", "del", "i", "b"}) {
    EXPECT_EQ(r.tags.count(tag), 0u) << "<" << tag << "> in\n" << r.html;
  }
}

TEST_F(StepSummary, TheStderrCellHoldsTheLastFiveLinesInACollapsedDetails) {
  std::string err;
  for (int i = 1; i <= 8; ++i) err += "line " + std::to_string(i) + "\n";
  err += "    indented | <img src=x onerror=alert(1)>\n";
  err += "progress 10%\rprogress 100%\r\n";
  err += std::string(1000, 'x') + "\n\n\n";  // a long last line, then blank ones
  Batch b;
  b.add(job_named("noisy"), result(Status::kFailed, 0.2, err));
  Rendered r = render(b.markdown());

  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 2u) << r.html;
  const json& cell = table[1][4];
  std::vector<std::string> tags = cell["tags"];
  EXPECT_EQ(tags, (std::vector<std::string>{"details", "summary", "code", "br", "br", "br", "br"}))
      << r.html;
  EXPECT_EQ(cell["summary"], "last 5 lines");
  std::string nbsp = "\xC2\xA0";  // indentation kept as no-break spaces
  EXPECT_EQ(cell["code"], "line 7\nline 8\n" + nbsp + nbsp + nbsp + nbsp +
                              "indented | <img src=x onerror=alert(1)>\nprogress 100%\n" +
                              std::string(StepSummaryContent::kLineChars, 'x') + "\xE2\x80\xA6")
      << r.html;
  EXPECT_EQ(r.tags.count("img"), 0u) << r.html;
  // Collapsed: no `open` attribute, so the table stays one line per job until a click.
  EXPECT_NE(r.html.find("<details><summary>"), std::string::npos) << r.html;
}

TEST_F(StepSummary, AShortStderrSaysHowManyLinesItHasAndNoStderrLeavesTheCellEmpty) {
  Batch b;
  b.add(job_named("one"), result(Status::kFailed, 0.2, "only line"));
  b.add(job_named("two"), result(Status::kFailed, 0.2, "a\nb\n"));
  b.add(job_named("none"), result(Status::kFailed));
  Rendered r = render(b.markdown());
  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 4u) << r.html;
  EXPECT_EQ(table[1][4]["summary"], "1 line");
  EXPECT_EQ(table[1][4]["code"], "only line");
  EXPECT_EQ(table[2][4]["summary"], "2 lines");
  EXPECT_EQ(table[2][4]["code"], "a\nb");
  EXPECT_EQ(table[3][4]["text"], "");
  EXPECT_TRUE(table[3][4]["tags"].empty());
}

TEST_F(StepSummary, CountsShowOkAndEveryStatusThatOccurredWithTheWallTime) {
  Batch b;
  for (int i = 0; i < 3; ++i) b.add(job_named("ok" + std::to_string(i)), result(Status::kOk));
  Result flaky = result(Status::kOk);
  flaky.attempts = 2;
  b.add(job_named("flaky"), flaky);
  b.add(job_named("f"), result(Status::kFailed));
  b.add(job_named("t"), result(Status::kTimeout));
  b.add(job_named("e"), result(Status::kError));
  b.add(job_named("c"), result(Status::kCancelled));
  b.summary.wall_s = 12.34;
  Rendered r = render(b.markdown());

  EXPECT_EQ(block_with(r, "jobs did not succeed"), "\xE2\x9D\x8C 3 of 8 jobs did not succeed.");
  json counts = table_headed(r, "ok");
  ASSERT_EQ(counts.size(), 2u) << r.html;
  std::vector<std::string> head, values;
  for (const auto& c : counts[0]) head.push_back(c["text"]);
  for (const auto& c : counts[1]) values.push_back(c["text"]);
  EXPECT_EQ(head, (std::vector<std::string>{"ok", "failed", "timed out", "could not start",
                                            "cancelled", "flaky", "wall time"}));
  EXPECT_EQ(values, (std::vector<std::string>{"4", "1", "1", "1", "1", "1", "12.3s"}));
}

TEST_F(StepSummary, ABatchThatPassedSaysSoWithNoTableOfFailures) {
  Batch b;
  b.add(job_named("a"), result(Status::kOk));
  Result resumed = result(Status::kSkipped);
  resumed.resumed = true;
  b.add(job_named("b"), resumed);
  Rendered r = render(b.markdown());
  EXPECT_EQ(block_with(r, "succeeded"),
            "\xE2\x9C\x85 All 2 jobs succeeded (1 of them in an "
            "earlier run).");
  EXPECT_EQ(not_ok_table(r).size(), 0u) << r.html;
  EXPECT_EQ(table_headed(r, "duration", 1).size(), 0u) << "one job that ran is not news";
  json counts = table_headed(r, "ok");
  ASSERT_EQ(counts.size(), 2u) << r.html;
  EXPECT_EQ(counts[0].size(), 3u) << "ok, resumed, wall time: " << r.html;
}

TEST_F(StepSummary, TheTableListsTheWorstFiftyFirstAndSaysHowManyMore) {
  Batch b;
  for (int i = 1; i <= 60; ++i) {
    b.add(job_named("fail-" + std::to_string(i)), result(Status::kFailed, 0.1, "err\n"));
  }
  b.add(job_named("timeout-1"), result(Status::kTimeout, 1.0));
  b.add(job_named("crash-1"), result(Status::kCrashed));
  b.add(job_named("error-1"), result(Status::kError));
  b.add(job_named("crash-2"), result(Status::kCrashed));
  Rendered r = render(b.markdown());

  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 1 + StepSummaryContent::kRowsShown) << r.html;
  std::vector<std::string> expected{"crash-1", "crash-2", "timeout-1", "error-1"};
  for (int i = 1; expected.size() < StepSummaryContent::kRowsShown; ++i) {
    expected.push_back("fail-" + std::to_string(i));
  }
  EXPECT_EQ(column(table, 0), expected);
  EXPECT_EQ(block_with(r, "more that did not succeed"),
            "\xE2\x80\xA6 and 14 more that did not succeed (the step's log has every job)");
}

TEST_F(StepSummary, TheSlowestFiveAreListedSlowestFirst) {
  Batch b;
  for (double s : {0.5, 3.0, 1.0, 7.0, 2.0, 0.1, 5.0, 3.0}) {
    b.add(job_named(fmt::format("job {}", s)), result(Status::kOk, s));
  }
  b.add(job_named("never ran"), result(Status::kCancelled, 99));
  Rendered r = render(b.markdown());
  json slowest = table_headed(r, "duration", 1);
  ASSERT_EQ(slowest.size(), 1 + StepSummaryContent::kSlowest) << r.html;
  EXPECT_EQ(column(slowest, 0),
            (std::vector<std::string>{"job 7", "job 5", "job 3", "job 3", "job 2"}));
  EXPECT_EQ(column(slowest, 1),
            (std::vector<std::string>{"7.00s", "5.00s", "3.00s", "3.00s", "2.00s"}));
}

// Names, endings and stderr lines that escape to six bytes a character, in every row.
Batch worst_case_batch(int jobs) {
  Batch b;
  std::string bars(1000, '|');
  std::string err;
  for (int i = 0; i < 10; ++i) err += bars + "\n";
  for (int i = 0; i < jobs; ++i) {
    Result res = result(Status::kCrashed, 1, err);
    res.error = bars;
    res.host = bars;
    b.add(job_named(std::to_string(i) + bars), res);
  }
  return b;
}

TEST_F(StepSummary, TheWholeAppendStaysWithinItsCapAndACutTableIsStillATable) {
  Batch b = worst_case_batch(200);
  std::string full = b.markdown();
  EXPECT_LE(full.size(), StepSummaryContent::kMaxBytes);

  // A smaller cap: fewer rows, whole ones, and the summary says why.
  std::string md = b.markdown(64 << 10);
  EXPECT_LE(md.size(), 64u << 10);
  Rendered r = render(md);
  json table = not_ok_table(r);
  ASSERT_GT(table.size(), 2u) << r.html;
  ASSERT_LT(table.size(), 1 + StepSummaryContent::kRowsShown) << r.html;
  for (const auto& row : table) EXPECT_EQ(row.size(), 5u);
  size_t shown = table.size() - 1;
  EXPECT_EQ(block_with(r, "more that did not succeed"),
            fmt::format("\xE2\x80\xA6 and {} more that did not succeed (left out to keep this "
                        "summary within GitHub's size limit; the step's log has every job)",
                        200 - shown));
}

// The recorder, as the batch drives it: futures finished by hand.
Future finished(const std::string& name, Result r) {
  Future f(job_named(name));
  f.set_running_or_notify_cancel();
  f.set_result(std::move(r));
  return f;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// GITHUB_STEP_SUMMARY set (or unset) for one test.
class ScopedSummaryVariable {
 public:
  explicit ScopedSummaryVariable(const char* value) {
    if (const char* old = ::getenv(kName)) old_ = old;
    value ? ::setenv(kName, value, 1) : ::unsetenv(kName);
  }
  ~ScopedSummaryVariable() { old_ ? ::setenv(kName, old_->c_str(), 1) : ::unsetenv(kName); }

 private:
  static constexpr const char* kName = "GITHUB_STEP_SUMMARY";
  std::optional<std::string> old_;
};

// GitHub drops a step's whole summary past 1 MiB: what the step wrote before counts.
TEST_F(StepSummary, TheAppendLeavesTheStepsSummaryUnderGithubsLimit) {
  TempDir dir;
  std::string path = dir.write("summary.md", std::string(1000 << 10, 'x') + "\n");
  ScopedSummaryVariable var(path.c_str());
  std::unique_ptr<Recorder> rec = make_step_summary(CiStyle::kGithub, "jobs");
  ASSERT_NE(rec, nullptr);
  Summary s;
  std::string err;
  for (int line = 0; line < 10; ++line) err += std::string(300, 'e') + "\n";
  for (int i = 0; i < 60; ++i) {
    Future f = finished(fmt::format("job{}", i), result(Status::kFailed, 0.2, err));
    rec->job(f);
    s.add(f.job(), f.result());
  }
  rec->finish(s);
  std::string text = read_all(path);
  EXPECT_LE(text.size(), size_t{1} << 20);
  EXPECT_NE(text.find("### procpool: jobs"), std::string::npos);
}

TEST_F(StepSummary, TheRecorderAppendsOneSummaryAfterWhatTheStepWroteBefore) {
  TempDir dir;
  std::string path = dir.write("summary.md", "earlier step's summary");  // no newline at its end
  ScopedSummaryVariable var(path.c_str());
  std::unique_ptr<Recorder> rec = make_step_summary(CiStyle::kGithub, "jobs.json");
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->label(), "GITHUB_STEP_SUMMARY " + path);
  Summary s;
  for (auto [name, status] : {std::pair{"a", Status::kOk}, {"b|c", Status::kFailed}}) {
    Future f = finished(name, result(status, 0.2, "oops\n"));
    rec->job(f);
    s.add(f.job(), f.result());
  }
  rec->finish(s);
  rec->finish(s);  // a second call (after a halt, say) adds nothing
  std::string text = read_all(path);
  ASSERT_EQ(text.rfind("earlier step's summary\n\n### procpool: jobs.json\n", 0), 0u) << text;
  EXPECT_EQ(text.find("### procpool", text.find("### procpool") + 1), std::string::npos) << text;
  Rendered r = render(text);
  json table = not_ok_table(r);
  ASSERT_EQ(table.size(), 2u) << r.html;
  EXPECT_EQ(table[1][0]["text"], "b|c");
  EXPECT_EQ(table[1][4]["code"], "oops");
}

TEST(StepSummaryFactory, NoRecorderUnlessTheStyleIsGithubAndTheVariableNamesAFile) {
  TempDir dir;
  std::string path = dir.path() + "/summary.md";
  {
    ScopedSummaryVariable var(path.c_str());
    EXPECT_EQ(make_step_summary(CiStyle::kPlain, "t"), nullptr);
    EXPECT_EQ(make_step_summary(CiStyle::kGitlab, "t"), nullptr);
    EXPECT_FALSE(std::filesystem::exists(path)) << "made only when it is written";
  }
  {
    ScopedSummaryVariable var("");
    EXPECT_EQ(make_step_summary(CiStyle::kGithub, "t"), nullptr);
  }
  {
    ScopedSummaryVariable var(nullptr);
    EXPECT_EQ(make_step_summary(CiStyle::kGithub, "t"), nullptr);
  }
}

TEST(StepSummaryFactory, APathThatCannotBeOpenedIsAUsageErrorSayingWhatToDo) {
  TempDir dir;
  for (std::string bad : {dir.path() + "/no/such/dir/summary.md", dir.path()}) {
    ScopedSummaryVariable var(bad.c_str());
    try {
      make_step_summary(CiStyle::kGithub, "t");
      ADD_FAILURE() << "no error for " << bad;
    } catch (const UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("GITHUB_STEP_SUMMARY=" + bad + ": cannot open"), std::string::npos)
          << what;
      EXPECT_NE(what.find("unset GITHUB_STEP_SUMMARY"), std::string::npos) << what;
    }
  }
}

TEST(StepSummaryFullDisk, AFailedAppendThrowsAndLeavesTheEarlierSummaryAsItWas) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir dir;
  ScopedTmpfs disk(dir.path() + "/disk", "64k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  std::string path = disk.dir() + "/summary.md";
  std::string earlier = "earlier step's summary\n";
  { std::ofstream(path) << earlier; }
  // Fill the disk but for a page: room for a few KiB, not for the summary below.
  {
    int fd = ::open((disk.dir() + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    std::string page(4096, 'f');
    off_t size = 0;
    while (::write(fd, page.data(), page.size()) == static_cast<ssize_t>(page.size())) {
      size += 4096;
    }
    ASSERT_EQ(::ftruncate(fd, size - 4096), 0);
    ::close(fd);
  }
  StepSummaryRecorder rec(path, "jobs.json");
  Summary s;
  for (int i = 0; i < 20; ++i) {  // rows of ~2.5 KiB of Markdown each
    Result res = result(Status::kFailed, 1, std::string(900, '|') + "\n");
    Future f = finished(std::to_string(i) + std::string(190, '*'), res);
    rec.job(f);
    s.add(f.job(), f.result());
  }
  try {
    rec.finish(s);
    ADD_FAILURE() << "the disk took it all";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("GITHUB_STEP_SUMMARY " + path +
                                         ": cannot write: No "
                                         "space left on device"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_all(path), earlier);
}

}  // namespace
