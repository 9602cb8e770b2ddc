// --trace and --report: the files are checked from outside, after running the built binary on
// real commands (trace parsed as JSON and compared with the jsonl records; the HTML page loaded
// in headless Chromium), plus unit tests of the escaper and the report's output limits.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/html_escape.h"
#include "cli/html_report.h"
#include "cli/json_string.h"
#include "tests/support/background.h"
#include "tests/support/e2e.h"

using json = nlohmann::json;
using namespace procpool::testing;

namespace {

json job(const std::string& name, const json& cmd) {
  return {{"name", name}, {"cmd", cmd}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `procpool run --format jsonl [flags] jobs.json`; returns the job records by name and the
// summary record.
struct JsonlRun {
  RunOutput run;
  std::map<std::string, json> jobs;  // by name
  json summary;
};

JsonlRun run_jsonl(const TempDir& dir, const json& jobs, const std::vector<std::string>& flags) {
  std::vector<std::string> args{"run", "--format", "jsonl"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(dir.write("jobs.json", jobs.dump()));
  JsonlRun r;
  r.run = run_procpool(args);
  for (const std::string& line : lines(r.run.out)) {
    json rec = json::parse(line);
    if (rec["type"] == "job") r.jobs[rec["name"]] = rec;
    if (rec["type"] == "summary") r.summary = rec;
  }
  return r;
}

// "2026-11-22T05:08:56.657Z" as µs since the epoch.
int64_t parse_iso_us(const std::string& iso) {
  tm t{};
  const char* rest = ::strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  EXPECT_NE(rest, nullptr) << iso;
  int ms = rest && *rest == '.' ? std::atoi(rest + 1) : 0;
  return static_cast<int64_t>(::timegm(&t)) * 1000000 + ms * 1000;
}

// What the browser's DOM serializer writes for `text` in a text node.
std::string dom_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// Waits (bounded) until `path` exists: the event a test acts on, not a guess at timing.
bool wait_for_file(const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// --trace

TEST(ReportTrace, EveryJobIsOneEventOnItsWorkersLaneAgreeingWithTheJsonlRecord) {
  TempDir dir;
  std::string trace_path = dir.path() + "/trace.json";
  json jobs = json::array({job("quick", "echo quick"), job("fails", "echo no >&2; exit 3"),
                           job("slow", "sleep 0.2"), job("argv", json::array({"true"})),
                           job("missing", json::array({"no-such-program-for-trace"})),
                           job("medium", "sleep 0.1"), job("after-quick", "echo after"),
                           json{{"name", "needs-fails"}, {"cmd", "true"}, {"needs", {"fails"}}}});
  JsonlRun r = run_jsonl(dir, jobs, {"-j", "2", "--trace", trace_path});
  ASSERT_EQ(r.run.exit_status, 1) << r.run.err;
  ASSERT_EQ(r.jobs.size(), 8u) << r.run.out;

  json trace = json::parse(read_file(trace_path));  // throws (fails the test) if not JSON
  EXPECT_EQ(trace["displayTimeUnit"], "ms");
  ASSERT_TRUE(trace["traceEvents"].is_array());
  const int64_t origin = trace["otherData"]["batch_start_us"];
  EXPECT_EQ(trace["otherData"]["total"], 8);
  EXPECT_EQ(trace["otherData"]["failed"], r.summary["failed"]);
  EXPECT_EQ(trace["otherData"]["skipped"], 1);

  std::map<std::string, json> events;    // job name -> its event
  std::map<int64_t, std::string> lanes;  // tid -> thread_name
  std::map<int64_t, std::vector<json>> by_lane;
  for (const json& e : trace["traceEvents"]) {
    EXPECT_EQ(e["pid"], 1) << e;
    if (e["ph"] == "M") {
      if (e["name"] == "thread_name") lanes[e["tid"]] = e["args"]["name"];
      continue;
    }
    EXPECT_FALSE(events.count(e["name"])) << "two events for " << e["name"];
    events[e["name"]] = e;
    if (e["ph"] == "X") by_lane[e["tid"]].push_back(e);
  }

  std::set<int64_t> workers;
  for (const auto& [name, rec] : r.jobs) {
    ASSERT_TRUE(events.count(name)) << "no event for job " << name;
    const json& e = events[name];
    EXPECT_EQ(e["args"]["status"], rec["status"]) << name;
    EXPECT_EQ(e["args"]["exit_code"], rec["exit_code"]) << name;
    EXPECT_EQ(e["args"]["attempts"], rec["attempts"]) << name;
    EXPECT_EQ(e["args"]["id"], rec["id"]) << name;
    if (rec["worker"].is_null()) {
      // Never started (the skipped job): an instant event in the "not run" lane.
      EXPECT_EQ(e["ph"], "i") << name;
      EXPECT_EQ(e["tid"], 0) << name;
      continue;
    }
    EXPECT_EQ(e["ph"], "X") << name;
    EXPECT_EQ(e["tid"], rec["worker"]) << name;
    workers.insert(rec["worker"].get<int64_t>());
    // jsonl's times are cut to the millisecond; the trace keeps microseconds.
    int64_t started = origin + e["ts"].get<int64_t>();
    int64_t iso_started = parse_iso_us(rec["started"]);
    EXPECT_GE(started, iso_started) << name;
    EXPECT_LT(started, iso_started + 1000) << name;
    EXPECT_GE(e["ts"].get<int64_t>(), 0) << name << ": started before the batch";
    double dur_us = e["dur"].get<double>();
    EXPECT_NEAR(dur_us, rec["duration"].get<double>() * 1e6, 5000) << name;
  }
  EXPECT_EQ(events["fails"]["args"]["command"], "echo no >&2; exit 3");
  EXPECT_EQ(events["argv"]["args"]["command"], "true");
  EXPECT_GE(events["slow"]["dur"].get<int64_t>(), 200000);

  // One lane per worker that ran a job, named after it; plus the lane of jobs never started.
  std::set<int64_t> lane_tids;
  for (const auto& [tid, name] : lanes) {
    if (tid == 0) {
      EXPECT_EQ(name, "not run (skipped, cancelled)");
      continue;
    }
    lane_tids.insert(tid);
    const json& any = r.jobs.begin()->second;
    EXPECT_EQ(name, "worker " + std::to_string(tid) + "@" + any["host"].get<std::string>());
  }
  EXPECT_EQ(lane_tids, workers);
  EXPECT_LE(workers.size(), 2u);
  // A worker runs one job at a time, so the events of a lane never overlap.
  for (auto& [tid, list] : by_lane) {
    std::sort(list.begin(), list.end(),
              [](const json& a, const json& b) { return a["ts"] < b["ts"]; });
    for (size_t i = 1; i < list.size(); ++i) {
      EXPECT_LE(list[i - 1]["ts"].get<int64_t>() + list[i - 1]["dur"].get<int64_t>(),
                list[i]["ts"].get<int64_t>())
          << list[i - 1]["name"] << " overlaps " << list[i]["name"] << " on worker " << tid;
    }
  }
}

TEST(ReportTrace, CancelledJobsAreInTheTraceAfterFailFast) {
  TempDir dir;
  std::string trace_path = dir.path() + "/trace.json";
  json jobs = json::array({job("first", "exit 1"), job("second", "true"), job("third", "true")});
  JsonlRun r = run_jsonl(dir, jobs, {"-j", "1", "--fail-fast", "--trace", trace_path});
  ASSERT_EQ(r.run.exit_status, 1) << r.run.err;
  json trace = json::parse(read_file(trace_path));
  std::map<std::string, json> events;
  for (const json& e : trace["traceEvents"]) {
    if (e["ph"] != "M") events[e["name"]] = e;
  }
  ASSERT_EQ(events.size(), 3u) << trace.dump(1);
  EXPECT_EQ(events["first"]["ph"], "X");
  EXPECT_EQ(events["first"]["args"]["status"], "failed");
  for (const char* name : {"second", "third"}) {
    EXPECT_EQ(events[name]["ph"], "i") << name;
    EXPECT_EQ(events[name]["args"]["status"], "cancelled") << name;
  }
}

TEST(ReportTrace, NamesThatAreNotUtf8StillMakeValidJson) {
  TempDir dir;
  std::string trace_path = dir.path() + "/trace.json";
  RunOutput r =
      run_procpool({"map", "--trace", trace_path, "true", ":::", "caf\xe9", "ok\xff\xfe"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  json trace = json::parse(read_file(trace_path));  // nlohmann rejects invalid UTF-8
  size_t jobs = 0;
  for (const json& e : trace["traceEvents"]) jobs += e["ph"] == "X";
  EXPECT_EQ(jobs, 2u);
}

// ---------------------------------------------------------------------------------------------
// Both files: bad paths, signals

TEST(ReportUsage, UnwritablePathIsAUsageErrorAndNothingRuns) {
  TempDir dir;
  std::string marker = dir.path() + "/ran";
  json jobs = json::array({job("touch", "touch " + marker)});
  for (const char* flag : {"--trace", "--report"}) {
    std::string bad = dir.path() + "/no-such-dir/out";
    RunOutput r = run_procpool({"run", flag, bad, dir.write("jobs.json", jobs.dump())});
    EXPECT_EQ(r.exit_status, 2) << flag << ": " << r.err;
    EXPECT_NE(r.err.find(std::string(flag) + " " + bad + ": cannot write it"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("does its directory exist?"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(marker)) << flag << ": a job ran";
  }
  RunOutput r = run_procpool({"run", "--report", dir.path(), dir.write("jobs.json", jobs.dump())});
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("give a file name, not a directory"), std::string::npos) << r.err;
  // The report keeps outputs in $TMPDIR while the batch runs: a bad one is found up front too.
  r = run_program({"env", "TMPDIR=" + dir.path() + "/no-such-tmp", procpool_bin(), "run",
                   "--report", dir.path() + "/r.html", dir.write("jobs.json", jobs.dump())});
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("set TMPDIR to a folder you may write"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a job ran";
}

TEST(ReportSignal, BothFilesAreCompleteAfterCtrlC) {
  TempDir dir;
  std::string started = dir.path() + "/started";
  std::string trace_path = dir.path() + "/trace.json", report_path = dir.path() + "/report.html";
  // With -j 1, "stuck" starts only after "done-first" finished: once `started` exists, one job
  // is done, one is running and one waits.
  json jobs = json::array({job("done-first", "echo finished"),
                           job("stuck", "touch " + started + "; sleep 30"), job("never", "true")});
  Background bg = Background::procpool({"run", "-j", "1", "--trace", trace_path, "--report",
                                        report_path, dir.write("jobs.json", jobs.dump())});
  ASSERT_TRUE(wait_for_file(started)) << bg.stderr_so_far();
  bg.signal(SIGINT);
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 130) << r.err;

  json trace = json::parse(read_file(trace_path));
  std::set<std::string> names;
  for (const json& e : trace["traceEvents"]) {
    if (e["ph"] != "M") names.insert(e["name"]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"done-first", "stuck", "never"}));
  std::string html = read_file(report_path);
  EXPECT_NE(html.find("</html>"), std::string::npos) << "the page was not finished";
  EXPECT_NE(html.find("id=\"count-ok\">1<"), std::string::npos);
  EXPECT_NE(html.find("id=\"count-cancelled\">2<"), std::string::npos);
  EXPECT_NE(html.find("\"finished\\n\""), std::string::npos) << "done-first's output";
}

// ---------------------------------------------------------------------------------------------
// --report without a browser

TEST(ReportHtmlEscape, MarkupControlsAndInvalidUtf8CannotReachThePage) {
  using procpool::html_escape;
  EXPECT_EQ(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(html_escape("tab\tnl\n"), "tab\tnl\n");
  EXPECT_EQ(html_escape(std::string("\0\x1b\x7f", 3)), "\u2400\u241b\u2421");
  EXPECT_EQ(html_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "café € 😀");
  EXPECT_EQ(html_escape("\xff\xc3(\xed\xa0\x80"), "\uFFFD\uFFFD(\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(html_escape("\xe2\x82"), "\uFFFD");  // cut short at the end

  // A character split across two pieces of output survives whole.
  std::string out;
  procpool::HtmlTextWriter w(out);
  w.feed("\xe2");
  w.feed("\x82\xac<");
  w.finish();
  EXPECT_EQ(out, "€&lt;");
}

TEST(ReportHtmlEscape, JsonInAScriptElementHasNothingThatCouldEndIt) {
  using procpool::json_quote;
  using procpool::script_safe_json;
  std::string hostile = "</script><!--<script>&\u2028\u2029é";
  std::string safe = script_safe_json(json_quote(hostile));
  EXPECT_EQ(safe, "\"\\u003c/script\\u003e\\u003c!--\\u003cscript\\u003e\\u0026\\u2028\\u2029é\"");
  EXPECT_EQ(json::parse(safe).get<std::string>(), hostile);  // means the same
}

// The page's data, as its script reads it.
struct PageData {
  std::string html;
  json data;            // #report-data: one array per field, jobs in page order
  std::string outputs;  // #report-outputs' text: each job's output at its offset

  // Job `id`'s place in the page's order, or -1.
  int index_of(uint64_t id) const {
    for (size_t i = 0; i < data["id"].size(); ++i) {
      if (data["id"][i] == id) return static_cast<int>(i);
    }
    return -1;
  }
  // Job `id`'s output as the script parses it, [[stream, text] or [0, bytes cut], ...], or null
  // when the page holds none for it ("at" < 0: no output, not kept, over the page's budget).
  json output(uint64_t id) const {
    int i = index_of(id);
    if (i < 0 || data["at"][i].get<int64_t>() < 0) return nullptr;
    // The offsets count UTF-16 code units, as JavaScript strings do.
    auto byte_at = [&](int64_t units) {
      size_t b = 0;
      for (int64_t u = 0; u < units && b < outputs.size(); ++b) {
        auto c = static_cast<unsigned char>(outputs[b]);
        if ((c & 0xC0) != 0x80) u += c >= 0xF0 ? 2 : 1;
      }
      while (b < outputs.size() && (static_cast<unsigned char>(outputs[b]) & 0xC0) == 0x80) ++b;
      return b;
    };
    int64_t at = data["at"][i], len = data["len"][i];
    size_t from = byte_at(at), to = byte_at(at + len);
    return json::parse(outputs.substr(from, to - from));
  }
};

// The text of the element with `id` (a <script> here: the text runs to "</script>").
std::string element_text(const std::string& html, const std::string& id) {
  std::string open = "id=\"" + id + "\">";
  size_t at = html.find(open);
  if (at == std::string::npos) return "";
  at += open.size();
  return html.substr(at, html.find("</script>", at) - at);
}

PageData read_page(const std::string& path) {
  PageData p;
  p.html = read_file(path);
  p.data = json::parse(element_text(p.html, "report-data"));
  p.outputs = element_text(p.html, "report-outputs");
  EXPECT_NO_THROW(json::parse(p.outputs)) << "#report-outputs is one JSON array";
  return p;
}

procpool::Future finished(uint64_t id, const std::string& name, procpool::Status status,
                          const std::vector<std::pair<procpool::Stream, std::string>>& output,
                          bool ran = true) {
  procpool::Job j;
  j.id = id;
  j.name = name;
  j.shell = "cmd-" + name;
  procpool::Future f(j);
  f.set_running_or_notify_cancel();
  procpool::Result r;
  r.status = status;
  r.exit_code = status == procpool::Status::kOk ? 0 : 1;
  if (ran) {
    r.attempts = 1;
    r.started_us = 1'700'000'000'000'000 + static_cast<int64_t>(id) * 1000;
    r.ended_us = r.started_us + 500;
    r.duration_s = 0.0005;
    r.worker_pid = 100 + static_cast<int64_t>(id % 2);
    r.host = "h";
  }
  for (const auto& [s, bytes] : output) r.output.append(s, bytes);
  f.set_result(std::move(r));
  return f;
}

TEST(ReportHtmlLimits, EachOutputShowsItsHeadAndTailThePageIsCappedFailuresFirst) {
  using procpool::Status;
  using procpool::Stream;
  TempDir dir;
  std::string path = dir.path() + "/r.html";
  procpool::HtmlReportLimits limits;
  limits.head_bytes = 40;
  limits.tail_bytes = 60;
  limits.total_bytes = 300;  // page bytes of output: "bad" (~160) and "ok-1" (108) fit
  {
    procpool::HtmlReport report(path, limits);
    report.job(finished(1, "ok-1", Status::kOk, {{Stream::kStdout, std::string(100, 'a')}}));
    report.job(finished(2, "ok-2", Status::kOk, {{Stream::kStdout, std::string(100, 'b')}}));
    report.job(finished(3, "bad", Status::kFailed,
                        {{Stream::kStdout, "out<"},
                         {Stream::kStderr, "err"},
                         {Stream::kStdout, std::string(193, 'c') + "END"}}));
    report.job(finished(4, "quiet", Status::kOk, {}));
    procpool::Summary s;
    s.ok = 3;
    s.failed = 1;
    report.finish(s);
  }
  PageData page = read_page(path);
  // Failures first: "bad" (3) before the ok ones, which keep completion order.
  EXPECT_EQ(page.data["id"], json::array({3, 1, 2, 4}));
  EXPECT_EQ(page.data["status"][0], 1);  // the index of "failed" in...
  EXPECT_EQ(page.data["statuses"][1], "failed");
  EXPECT_EQ(page.data["name"][0], "bad");
  EXPECT_EQ(page.data["cmd"][0], "cmd-bad");
  EXPECT_EQ(page.data["out"][0], 200);
  EXPECT_EQ(page.data["err"][0], 3);
  EXPECT_EQ(page.data["open"], 1);  // the one failure is expanded at first
  // stderr marked, interleaved in arrival order; the first 40 and the last 60 bytes shown, the
  // 103 between them counted.
  EXPECT_EQ(page.output(3), json::parse(R"([[1,"out<"],[2,"err"],[1,")" + std::string(33, 'c') +
                                        R"("],[0,103],[1,")" + std::string(57, 'c') + R"(END"]])"))
      << page.outputs;
  // Within 100 bytes, all of it.
  EXPECT_EQ(page.output(1), json::parse(R"([[1,")" + std::string(100, 'a') + R"("]])"));
  // "bad" and "ok-1" fill the page's 300 bytes; "ok-2" would not fit, "quiet" printed nothing.
  EXPECT_EQ(page.data["at"][page.index_of(2)], -3);
  EXPECT_EQ(page.data["at"][page.index_of(4)], -1);
  EXPECT_EQ(page.html.find(std::string(100, 'b')), std::string::npos);
  EXPECT_NE(page.html.find("id=\"count-failed\">1<"), std::string::npos);
}

TEST(ReportHtmlLimits, CutsFallBetweenCharactersAndOffsetsCountUtf16) {
  using procpool::Status;
  using procpool::Stream;
  TempDir dir;
  std::string path = dir.path() + "/r.html";
  procpool::HtmlReportLimits limits;
  limits.head_bytes = 5;  // "ab" and 3 of the 4 bytes of 😀: the cut goes before it
  limits.tail_bytes = 5;  // 2 of the 3 bytes of € and "xyz": the cut goes after it
  {
    procpool::HtmlReport report(path, limits);
    report.job(finished(1, "emoji", Status::kOk,
                        {{Stream::kStdout, "ab\xf0\x9f\x98\x80 middle \xe2\x82\xacxyz"}}));
    // Before it in the page, an output with characters of 1 to 4 bytes moves its offset.
    report.job(finished(2, "first", Status::kFailed, {{Stream::kStdout, "é😀\u2028"}}));
    report.finish(procpool::Summary{});
  }
  PageData page = read_page(path);
  EXPECT_EQ(page.output(2), json::parse(R"([[1,"é😀\u2028"]])"));
  EXPECT_EQ(page.output(1), json::parse(R"([[1,"ab"],[0,15],[1,"xyz"]])")) << page.outputs;
  // U+2028 is escaped in the page: no JavaScript parser sees a line break in a string.
  EXPECT_EQ(page.outputs.find("\u2028"), std::string::npos);
}

TEST(ReportHtml, HugeOutputShowsItsHeadAndTailWithTheCutCounted) {
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  json jobs = json::array({job("flood", json::array({helper("flood"), "3000000"}))});
  RunOutput r = run_procpool(
      {"run", "--format", "jsonl", "--report", report_path, dir.write("jobs.json", jobs.dump())});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  PageData page = read_page(report_path);
  json out = page.output(1);
  ASSERT_EQ(out.size(), 3u) << out.dump().substr(0, 200);
  EXPECT_EQ(out[0][1], std::string(65536, 'x'));
  EXPECT_EQ(out[1], json::array({0, 3000000 - 65536 - 196608}));
  EXPECT_EQ(out[2][1], std::string(196608, 'x'));
  EXPECT_LT(page.html.size(), 320'000u);
  EXPECT_NE(page.html.find("</html>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// --report in a real browser

constexpr const char* kChromium = "/usr/bin/chromium";

struct Browser {
  RunOutput run;
  std::string dom;                   // the DOM after the page's script ran
  std::vector<std::string> console;  // the page's console lines (errors, CSP violations)
};

// Loads `url` (a page, maybe with a #fragment) in headless Chromium and dumps the DOM once the
// script has run. The window is tall, so that the list draws every row of a small batch.
Browser load_in_chromium(const std::string& url, const std::string& window = "1280,8000") {
  TempDir profile;
  Browser b;
  b.run = run_program({"timeout", "120", kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                       "--disable-quic", "--no-first-run", "--disable-background-networking",
                       "--disable-component-update", "--disable-sync",
                       "--user-data-dir=" + profile.path(), "--window-size=" + window,
                       "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0",
                       "--dump-dom", "file://" + url});
  b.dom = b.run.out;
  for (const std::string& line : lines(b.run.err)) {
    if (line.find(":CONSOLE") != std::string::npos) b.console.push_back(line);
  }
  return b;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& line : v) s += line + "\n";
  return s;
}

// The value of attribute `attr` of the #rendered marker the script adds when it has run.
std::string marker(const std::string& dom, const std::string& attr) {
  size_t at = dom.find("<div id=\"rendered\"");
  if (at == std::string::npos) return "(no #rendered: the script did not finish)";
  std::string tag = dom.substr(at, dom.find('>', at) - at);
  std::string key = " " + attr + "=\"";
  size_t v = tag.find(key);
  if (v == std::string::npos) return "(no " + attr + ")";
  v += key.size();
  return tag.substr(v, tag.find('"', v) - v);
}

// The ids of the job rows drawn, in document order.
std::vector<uint64_t> row_ids(const std::string& dom) {
  std::vector<uint64_t> ids;
  std::string key = "<div class=\"row ";
  for (size_t at = dom.find(key); at != std::string::npos; at = dom.find(key, at + 1)) {
    size_t id = dom.find("data-id=\"", at);
    ids.push_back(std::stoull(dom.substr(id + 9)));
  }
  return ids;
}

// The DOM without the text of its <script> elements (the page's own code and JSON).
std::string without_scripts(std::string dom) {
  for (size_t at = dom.find("<script"); at != std::string::npos; at = dom.find("<script", at)) {
    size_t end = dom.find("</script>", at);
    dom.erase(at, end == std::string::npos ? std::string::npos : end + 9 - at);
  }
  return dom;
}

// Every element and attribute of the DOM is one the page makes itself: none came from a job.
void expect_only_the_pages_own_markup(const std::string& dom) {
  static const std::set<std::string> kElements = {
      "html",    "head",     "meta",   "title", "style",  "body",  "header", "h1", "h2", "p",
      "section", "ul",       "li",     "span",  "table",  "tbody", "tr",     "th", "td", "a",
      "div",     "noscript", "canvas", "input", "button", "pre",   "code",   "b"};
  static const std::set<std::string> kAttributes = {
      "lang",  "charset", "http-equiv",  "content",      "name",  "nonce",
      "class", "id",      "hidden",      "href",         "type",  "style",
      "role",  "title",   "placeholder", "autocomplete", "width", "height"};
  std::string html = without_scripts(dom);
  for (size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    size_t end = html.find('>', at);
    ASSERT_NE(end, std::string::npos);
    std::string tag = html.substr(at + 1, end - at - 1);
    if (tag.empty() || tag[0] == '/' || tag[0] == '!') continue;
    size_t name_end = tag.find_first_of(" \t\n/");
    std::string name = tag.substr(0, name_end);
    EXPECT_TRUE(kElements.count(name)) << "an element the page does not make: <" << tag << ">";
    // Attributes: name="value" pairs (the serializer always quotes values, and escapes '"').
    size_t pos = name_end;
    while (pos != std::string::npos && pos < tag.size()) {
      pos = tag.find_first_not_of(" \t\n/", pos);
      if (pos == std::string::npos) break;
      size_t eq = tag.find_first_of("= ", pos);
      std::string attr = tag.substr(pos, eq == std::string::npos ? std::string::npos : eq - pos);
      EXPECT_TRUE(kAttributes.count(attr) || attr.rfind("data-", 0) == 0 ||
                  attr.rfind("aria-", 0) == 0)
          << "an attribute the page does not make: " << attr << " in <" << tag << ">";
      if (eq == std::string::npos || tag[eq] != '=') {
        pos = eq;
        continue;
      }
      size_t close = tag.find('"', eq + 2);
      pos = close == std::string::npos ? close : close + 1;
    }
  }
}

#define REQUIRE_CHROMIUM()                                                                   \
  if (::access(kChromium, X_OK) != 0) {                                                      \
    GTEST_SKIP() << kChromium << " is missing: scripts/setup installs the chromium package"; \
  }

std::map<std::string, uint64_t> ids_by_name(const RunOutput& run) {
  std::map<std::string, uint64_t> ids;
  for (const std::string& line : lines(run.out)) {
    json rec = json::parse(line);
    if (rec["type"] == "job") ids[rec["name"]] = rec["id"];
  }
  return ids;
}

// Runs `jobs` (which succeed) with --report at `report_path`, then loads the page with job 1
// expanded: no console error.
Browser first_job_shown(const json& jobs, TempDir& dir, const std::string& report_path) {
  RunOutput r = run_procpool(
      {"run", "--format", "jsonl", "--report", report_path, dir.write("jobs.json", jobs.dump())});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Browser b = load_in_chromium(report_path + "#job-1");
  EXPECT_EQ(b.run.exit_status, 0) << b.run.err;
  EXPECT_TRUE(b.console.empty()) << joined(b.console);
  return b;
}

TEST(ReportBrowser, HostileBatchRendersInChromiumWithoutScriptErrorsOrInjectedMarkup) {
  REQUIRE_CHROMIUM();
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  const std::string pwn = "document.body.setAttribute('data-pwned','1')";
  const std::string evil_name = "</script><img src=x onerror=\"" + pwn + "\">";
  const std::string separator_name = "line\u2028separator\u2029paragraph";
  json jobs = json::array({job("compile", "echo compiled; echo 'a warning' >&2"),
                           job("unit-tests", "echo '3 tests failed' >&2; exit 3"),
                           job("lint", json::array({"no-such-linter-for-report"})),
                           json{{"name", "integration"}, {"cmd", "sleep 5"}, {"timeout", "200ms"}},
                           job("segfault", json::array({helper("segfault")})),
                           job("all-bytes", json::array({helper("flood"), "512", "--all-bytes"})),
                           job("markup", "printf '%s' '</script><script>" + pwn +
                                             "</script><img src=x onerror=\"" + pwn + "\"><!--'"),
                           job(evil_name, "echo named"),
                           job(separator_name, "printf 'a\\342\\200\\250b</script>'"),
                           json{{"name", "package"}, {"cmd", "true"}, {"needs", {"unit-tests"}}}});
  RunOutput r = run_procpool({"run", "-j", "3", "--format", "jsonl", "--report", report_path,
                              dir.write("jobs.json", jobs.dump())});
  ASSERT_EQ(r.exit_status, 1) << r.err;
  std::map<std::string, uint64_t> ids = ids_by_name(r);
  std::string html = read_file(report_path);

  // Nothing to fetch: no URL the page could load.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The JSON blobs have no '<' or '>' at all, so nothing in them can end their <script>
  // element, and no raw U+2028/2029.
  for (const char* id : {"report-data", "report-outputs"}) {
    std::string blob = element_text(html, id);
    ASSERT_FALSE(blob.empty()) << id;
    EXPECT_EQ(blob.find_first_of("<>"), std::string::npos) << id;
    EXPECT_EQ(blob.find("\u2028"), std::string::npos) << id;
    EXPECT_EQ(blob.find("\u2029"), std::string::npos) << id;
  }

  // Every job with output expanded, so that all of it is in the DOM.
  std::string open;
  for (const char* name : {"compile", "all-bytes", "markup"}) {
    open += std::to_string(ids[name]) + ",";
  }
  open += std::to_string(ids[evil_name]) + "," + std::to_string(ids[separator_name]);
  Browser b = load_in_chromium(report_path + "#open=" + open);
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err;
  EXPECT_TRUE(b.console.empty()) << "console output (script error or CSP violation):\n"
                                 << joined(b.console);
  // The script ran to its end: 9 jobs started (a bar each), 10 in the list, all drawn.
  EXPECT_EQ(marker(b.dom, "data-bars"), "9") << b.dom.substr(0, 2000);
  EXPECT_EQ(marker(b.dom, "data-jobs"), "10");
  EXPECT_EQ(marker(b.dom, "data-rows"), "10");
  for (const json& j : jobs) {
    EXPECT_NE(b.dom.find("<span class=\"name\">" + dom_text(j["name"]) + "</span>"),
              std::string::npos)
        << j["name"];
  }
  for (auto [status, n] : std::vector<std::pair<std::string, int>>{{"ok", 5},
                                                                   {"failed", 1},
                                                                   {"timeout", 1},
                                                                   {"crashed", 1},
                                                                   {"error", 1},
                                                                   {"skipped", 1},
                                                                   {"cancelled", 0}}) {
    EXPECT_NE(b.dom.find("id=\"count-" + status + "\">" + std::to_string(n) + "<"),
              std::string::npos)
        << status;
    // The filter button of each status counts it too.
    EXPECT_NE(b.dom.find("data-status=\"" + status + "\" aria-pressed=\"false\">" + status +
                         "<span class=\"n\">" + std::to_string(n) + "</span>"),
              std::string::npos)
        << status;
  }
  // Hostile names and output stayed text: no element or attribute was made from them, and
  // nothing of them ran.
  expect_only_the_pages_own_markup(b.dom);
  EXPECT_EQ(b.dom.find("data-pwned=\"1\""), std::string::npos);  // the attribute, not the text
  EXPECT_NE(b.dom.find("&lt;/script&gt;&lt;script&gt;" + pwn), std::string::npos);
  EXPECT_NE(b.dom.find("a\u2028b&lt;/script&gt;"), std::string::npos);
  // Bytes 0..255: controls shown as symbols, invalid UTF-8 as U+FFFD.
  EXPECT_NE(b.dom.find("\u2400\u2401\u2402"), std::string::npos);
  EXPECT_NE(b.dom.find("\uFFFD"), std::string::npos);
  // stderr in its own span, after stdout as it arrived.
  EXPECT_NE(b.dom.find("compiled\n<span class=\"e\">a warning\n</span>"), std::string::npos);
  // Failures first, then ok, then what never started; and the rows name how each ended.
  std::vector<uint64_t> rows = row_ids(b.dom);
  ASSERT_EQ(rows.size(), 10u);
  std::map<uint64_t, std::string> status_of;
  for (const std::string& line : lines(r.out)) {
    json rec = json::parse(line);
    if (rec["type"] == "job") status_of[rec["id"]] = rec["status"];
  }
  auto rank = [](const std::string& s) { return s == "ok" ? 1 : s == "skipped" ? 2 : 0; };
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_LE(rank(status_of[rows[i - 1]]), rank(status_of[rows[i]]))
        << status_of[rows[i - 1]] << " before " << status_of[rows[i]];
  }
  EXPECT_NE(b.dom.find("exit 3 · "), std::string::npos);
  EXPECT_NE(b.dom.find("SIGSEGV"), std::string::npos);
}

TEST(ReportBrowser, TerminalColoursBecomeStyledSpansOtherEscapesStayVisible) {
  REQUIRE_CHROMIUM();
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  json jobs = json::array(
      {job("colours",
           "printf '\\033[31mred\\033[0m \\033[1;94mbold bright blue\\033[22;39m plain "
           "\\033[38;5;208morange\\033[0m \\033[38;2;1;2;3mtrue\\033[0m \\033[41mon red\\033[49m "
           "\\033[2Jcleared \\033]0;title\\007osc\\n'; printf '\\033[33mwarn\\033[0m\\n' >&2")});
  Browser b = first_job_shown(jobs, dir, report_path);
  ASSERT_EQ(b.run.exit_status, 0);
  // SGR: palette colours as classes (whose colours the style sheet sets for light and dark),
  // 256 and 24-bit colours as the colour itself; each reset where the output reset it.
  EXPECT_NE(b.dom.find("<pre class=\"out\"><span class=\"f1\">red</span> "
                       "<span class=\"f12 sb\">bold bright blue</span> plain "
                       "<span style=\"color: rgb(255, 135, 0);\">orange</span> "
                       "<span style=\"color: rgb(1, 2, 3);\">true</span> "
                       "<span class=\"fi b1\">on red</span> "),
            std::string::npos)
      << b.dom.substr(b.dom.find("<pre"), 600);
  // Any other escape sequence is shown, never obeyed: ESC as ␛, BEL as ␇.
  EXPECT_NE(b.dom.find("\u241b[2Jcleared \u241b]0;title\u2407osc\n"), std::string::npos);
  // Colours on stderr too, inside its span.
  EXPECT_NE(b.dom.find("<span class=\"e\"><span class=\"f3\">warn</span>\n</span>"),
            std::string::npos);
  // Both themes: the palette is set again for a dark system preference.
  std::string html = read_file(report_path);
  size_t dark = html.find("@media (prefers-color-scheme: dark)");
  ASSERT_NE(dark, std::string::npos);
  for (const char* var : {"--a1:", "--a12:", "--bg:", "--fg:", "--out-bg:", "--err:"}) {
    EXPECT_NE(html.find(var), std::string::npos) << var;
    EXPECT_NE(html.find(var, dark), std::string::npos) << var << " in the dark theme";
  }
  EXPECT_NE(html.find(".f1 { color: var(--a1); }"), std::string::npos);
  EXPECT_NE(html.find("<meta name=\"color-scheme\" content=\"light dark\">"), std::string::npos);
}

TEST(ReportBrowser, ALongOutputShowsItsHeadAndTailAroundTheCut) {
  REQUIRE_CHROMIUM();
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  json jobs = json::array(
      {job("long", "echo HEAD-START; " + helper("flood") + " 1000000; echo; echo TAIL-END")});
  Browser b = first_job_shown(jobs, dir, report_path);
  ASSERT_EQ(b.run.exit_status, 0);
  uint64_t total = 11 + 1000000 + 1 + 9, cut = total - 65536 - 196608;
  size_t head = b.dom.find("<pre class=\"out\">HEAD-START\nxxx");
  size_t marker_at = b.dom.find("<span class=\"cut\">… " + std::to_string(cut) +
                                " bytes (720.6 KiB) cut here …</span>xxx");
  size_t tail = b.dom.find("xxx\nTAIL-END\n</pre>");
  ASSERT_NE(head, std::string::npos);
  ASSERT_NE(marker_at, std::string::npos) << b.dom.substr(head, 200);
  ASSERT_NE(tail, std::string::npos);
  EXPECT_LT(head, marker_at);
  EXPECT_LT(marker_at, tail);
  EXPECT_NE(b.dom.find("stdout " + std::to_string(total) + " bytes (976.6 KiB), stderr 0 bytes"),
            std::string::npos);
}

TEST(ReportBrowser, EmptyBatchRendersToo) {
  REQUIRE_CHROMIUM();
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  RunOutput r = run_procpool({"run", "--report", report_path, dir.write("jobs.json", "[]")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  Browser b = load_in_chromium(report_path);
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err;
  EXPECT_TRUE(b.console.empty()) << joined(b.console);
  EXPECT_EQ(marker(b.dom, "data-bars"), "0");
  EXPECT_EQ(marker(b.dom, "data-jobs"), "0");
  EXPECT_NE(b.dom.find("No job ran"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// --report at 100,000 jobs: made by the report itself from finished futures (running 100,000
// processes would take a minute and test nothing more here), loaded in Chromium, filtered there.

struct Synthetic {
  std::string name;
  procpool::Status status;
  bool ran;
};

Synthetic synthetic(uint64_t i) {
  using procpool::Status;
  static const char* kinds[] = {"build", "Test", "lint", "deploy"};
  char name[32];
  std::snprintf(name, sizeof name, "%s-%06llu", kinds[i % 4], static_cast<unsigned long long>(i));
  Status s = i % 97 == 0     ? Status::kFailed
             : i % 1009 == 0 ? Status::kTimeout
             : i % 2003 == 0 ? Status::kCrashed
             : i % 4001 == 0 ? Status::kError
             : i % 5003 == 0 ? Status::kSkipped
             : i % 7001 == 0 ? Status::kCancelled
                             : Status::kOk;
  return {name, s, s != Status::kSkipped && s != Status::kCancelled};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class ReportScale : public ::testing::Test {
 protected:
  static constexpr uint64_t kJobs = 100'000;
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    path_ = dir_->path() + "/report.html";
    procpool::HtmlReport report(path_);
    procpool::Summary s;
    for (uint64_t i = 1; i <= kJobs; ++i) {
      Synthetic j = synthetic(i);
      std::vector<std::pair<procpool::Stream, std::string>> out = {
          {procpool::Stream::kStdout, j.name + ": step done\n"}};
      if (j.status != procpool::Status::kOk) out.push_back({procpool::Stream::kStderr, "boom\n"});
      procpool::Future f = finished(i, j.name, j.status, j.ran ? out : decltype(out){}, j.ran);
      report.job(f);
      s.add(f.job(), f.result());
    }
    report.finish(s);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // The ids a filter should show, in page order (did not succeed first, each in id order here).
  static std::vector<uint64_t> expected(const std::string& query,
                                        const std::set<procpool::Status>& statuses) {
    std::vector<uint64_t> first, then, last;  // did not succeed, ok, never started
    for (uint64_t i = 1; i <= kJobs; ++i) {
      Synthetic j = synthetic(i);
      if (lower(j.name).find(lower(query)) == std::string::npos) continue;
      if (!statuses.empty() && !statuses.count(j.status)) continue;
      bool bad = j.status != procpool::Status::kOk && j.ran;
      (bad ? first : j.ran ? then : last).push_back(i);
    }
    first.insert(first.end(), then.begin(), then.end());
    first.insert(first.end(), last.begin(), last.end());
    return first;
  }
  static TempDir* dir_;
  static std::string path_;
};
TempDir* ReportScale::dir_ = nullptr;
std::string ReportScale::path_;

TEST_F(ReportScale, TheStaticPartIsSmallAndTheDataHoldsEveryJob) {
  PageData page = read_page(path_);
  // About 160 bytes a job (name, command, how it ended, its numbers, a line of output): 15.8 MB
  // here; the bound leaves room for twice that.
  EXPECT_LT(page.html.size(), 32u << 20) << page.html.size();
  ASSERT_EQ(page.data["id"].size(), kJobs);
  size_t never_started =
      expected("", {procpool::Status::kSkipped, procpool::Status::kCancelled}).size();
  EXPECT_EQ(never_started, 33u);
  EXPECT_EQ(page.data["by_start"].size(), kJobs - never_started);
  EXPECT_NE(page.html.find("id=\"count-failed\">1030<"), std::string::npos);
  // No row of the list is in the HTML: only what the script draws from the data.
  EXPECT_EQ(page.html.find("class=\"row"), std::string::npos);
  EXPECT_LT(page.html.find("<script type=\"application/json\" id=\"report-data\">"), 300'000u)
      << "the tables before the data stay small (their rows are capped)";
}

TEST_F(ReportScale, LoadsInChromiumWithEveryJobCountedAndFewRowsDrawn) {
  REQUIRE_CHROMIUM();
  Browser b = load_in_chromium(path_, "1280,2000");
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err.substr(0, 2000);
  EXPECT_TRUE(b.console.empty()) << joined(b.console);
  EXPECT_EQ(marker(b.dom, "data-jobs"), "100000");
  EXPECT_EQ(marker(b.dom, "data-shown"), "100000");
  EXPECT_NE(b.dom.find("<span id=\"shown\" aria-live=\"polite\">100000 jobs</span>"),
            std::string::npos);
  // Drawn: only what is near the screen, however many jobs there are.
  std::vector<uint64_t> rows = row_ids(b.dom);
  EXPECT_LT(rows.size(), 200u);
  EXPECT_EQ(std::to_string(rows.size()), marker(b.dom, "data-rows"));
}

TEST_F(ReportScale, SearchAndStatusFilterFromTheHashShowTheRightRows) {
  REQUIRE_CHROMIUM();
  using procpool::Status;
  // Case-insensitive substring of the name, and one status.
  std::vector<uint64_t> want = expected("TEST-00", {Status::kFailed});
  ASSERT_GT(want.size(), 20u);
  Browser b = load_in_chromium(path_ + "#q=TEST-00&status=failed", "1280,8000");
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err.substr(0, 2000);
  EXPECT_TRUE(b.console.empty()) << joined(b.console);
  EXPECT_EQ(marker(b.dom, "data-shown"), std::to_string(want.size()));
  EXPECT_NE(b.dom.find(std::to_string(want.size()) + " of 100000 jobs"), std::string::npos);
  std::vector<uint64_t> rows = row_ids(b.dom);
  ASSERT_FALSE(rows.empty());
  ASSERT_LE(rows.size(), want.size());
  EXPECT_EQ(rows, std::vector<uint64_t>(want.begin(), want.begin() + rows.size()))
      << "the first rows of the filtered list, in order";
  // The buttons count what the search matches, by status.
  size_t ok = expected("TEST-00", {Status::kOk}).size();
  EXPECT_NE(b.dom.find("data-status=\"ok\" aria-pressed=\"false\">ok<span class=\"n\">" +
                       std::to_string(ok) + "<"),
            std::string::npos);
  EXPECT_NE(b.dom.find("data-status=\"failed\" aria-pressed=\"true\">failed<span class=\"n\">" +
                       std::to_string(want.size()) + "<"),
            std::string::npos);

  // Two statuses, no search: all of them, every row of the right status.
  want = expected("", {Status::kTimeout, Status::kCrashed});
  b = load_in_chromium(path_ + "#status=timeout,crashed", "1280,2000");
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err.substr(0, 2000);
  EXPECT_EQ(marker(b.dom, "data-shown"), std::to_string(want.size()));
  rows = row_ids(b.dom);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows, std::vector<uint64_t>(want.begin(), want.begin() + rows.size()));
}

}  // namespace
