// --trace and --report: the files are checked from outside, after running the built binary on
// real commands (trace parsed as JSON and compared with the jsonl records; the HTML page loaded
// in headless Chromium), plus unit tests of the escaper and the report's output limits.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
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
  EXPECT_NE(html.find("finished\n"), std::string::npos) << "done-first's output";
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

procpool::Future finished(uint64_t id, const std::string& name, procpool::Status status,
                          const std::vector<std::pair<procpool::Stream, std::string>>& output) {
  procpool::Job j;
  j.id = id;
  j.name = name;
  j.shell = "cmd-" + name;
  procpool::Future f(j);
  f.set_running_or_notify_cancel();
  procpool::Result r;
  r.status = status;
  r.exit_code = status == procpool::Status::kOk ? 0 : 1;
  r.attempts = 1;
  r.started_us = 1'700'000'000'000'000 + static_cast<int64_t>(id) * 1000;
  r.ended_us = r.started_us + 500;
  r.duration_s = 0.0005;
  r.worker_pid = 100 + static_cast<int64_t>(id % 2);
  r.host = "h";
  for (const auto& [s, bytes] : output) r.output.append(s, bytes);
  f.set_result(std::move(r));
  return f;
}

TEST(ReportHtmlLimits, EachOutputAndThePageAreCappedFailuresFirst) {
  using procpool::Status;
  using procpool::Stream;
  TempDir dir;
  std::string path = dir.path() + "/r.html";
  procpool::HtmlReportLimits limits;
  limits.per_job_bytes = 100;
  limits.total_bytes = 250;
  {
    procpool::HtmlReport report(path, limits);
    report.job(finished(1, "ok-1", Status::kOk, {{Stream::kStdout, std::string(100, 'a')}}));
    report.job(finished(2, "ok-2", Status::kOk, {{Stream::kStdout, std::string(100, 'b')}}));
    report.job(finished(3, "bad", Status::kFailed,
                        {{Stream::kStdout, "out<"},
                         {Stream::kStderr, "err"},
                         {Stream::kStdout, std::string(293, 'c')}}));
    report.job(finished(4, "quiet", Status::kOk, {}));
    procpool::Summary s;
    s.ok = 3;
    s.failed = 1;
    report.finish(s);
  }
  std::string html = read_file(path);
  // Failures first: "bad" (3) before the ok ones, which keep completion order.
  size_t bad = html.find("id=\"job-3\""), ok1 = html.find("id=\"job-1\""),
         ok2 = html.find("id=\"job-2\"");
  ASSERT_NE(bad, std::string::npos);
  EXPECT_LT(bad, ok1);
  EXPECT_LT(ok1, ok2);
  // stderr marked, interleaved in arrival order; cut at 100 bytes with the rest counted.
  EXPECT_NE(html.find("<pre class=\"out\">out&lt;<span class=\"e\">err</span>" +
                      std::string(93, 'c') + "</pre>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("… 200 bytes more"), std::string::npos);
  // 100 (bad) + 100 (ok-1) fit the page's 250; ok-2's 100 would not.
  EXPECT_NE(html.find(std::string(100, 'a')), std::string::npos);
  EXPECT_EQ(html.find(std::string(100, 'b')), std::string::npos);
  EXPECT_NE(html.find("output not shown"), std::string::npos);
  EXPECT_NE(html.find("no output"), std::string::npos);  // "quiet"
  EXPECT_NE(html.find("id=\"count-failed\">1<"), std::string::npos);
}

TEST(ReportHtml, HugeOutputIsCappedWithTheRestCounted) {
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  json jobs = json::array({job("flood", json::array({helper("flood"), "3000000"}))});
  RunOutput r = run_procpool(
      {"run", "--format", "jsonl", "--report", report_path, dir.write("jobs.json", jobs.dump())});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::string html = read_file(report_path);
  EXPECT_NE(html.find("… 2737856 bytes more (2.6 MiB)"), std::string::npos);
  EXPECT_NE(html.find(std::string(262144, 'x')), std::string::npos);
  EXPECT_LT(html.size(), 300'000u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// --report in a real browser

constexpr const char* kChromium = "/usr/bin/chromium";

struct Browser {
  RunOutput run;
  std::string dom;                   // the DOM after the page's script ran
  std::vector<std::string> console;  // the page's console lines (errors, CSP violations)
};

// Loads `page` in headless Chromium and dumps the DOM once the script has run.
Browser load_in_chromium(const std::string& page) {
  TempDir profile;
  Browser b;
  b.run = run_program({"timeout", "60", kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                       "--disable-quic", "--no-first-run", "--disable-background-networking",
                       "--disable-component-update", "--disable-sync",
                       "--user-data-dir=" + profile.path(), "--virtual-time-budget=5000",
                       "--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + page});
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

TEST(ReportBrowser, HostileBatchRendersInChromiumWithoutScriptErrors) {
  if (::access(kChromium, X_OK) != 0) {
    GTEST_SKIP() << kChromium << " is missing: scripts/setup installs the chromium package";
  }
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  const std::string pwn = "document.body.setAttribute('data-pwned','1')";
  const std::string evil_name = "</script><img src=x onerror=\"" + pwn + "\">";
  json jobs = json::array({job("compile", "echo compiled; echo 'a warning' >&2"),
                           job("unit-tests", "echo '3 tests failed' >&2; exit 3"),
                           job("lint", json::array({"no-such-linter-for-report"})),
                           json{{"name", "integration"}, {"cmd", "sleep 5"}, {"timeout", "200ms"}},
                           job("segfault", json::array({helper("segfault")})),
                           job("all-bytes", json::array({helper("flood"), "512", "--all-bytes"})),
                           job("markup", "printf '%s' '</script><script>" + pwn +
                                             "</script><img src=x onerror=\"" + pwn + "\"><!--'"),
                           job(evil_name, "echo named"),
                           json{{"name", "package"}, {"cmd", "true"}, {"needs", {"unit-tests"}}}});
  RunOutput r = run_procpool({"run", "-j", "3", "--format", "jsonl", "--report", report_path,
                              dir.write("jobs.json", jobs.dump())});
  ASSERT_EQ(r.exit_status, 1) << r.err;
  std::string html = read_file(report_path);

  // Nothing to fetch: no URL the page could load.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The data blob has no '<' at all, so nothing in it can close its <script> element.
  size_t blob = html.find("id=\"report-data\">");
  ASSERT_NE(blob, std::string::npos);
  size_t blob_end = html.find("</script>", blob);
  EXPECT_EQ(html.substr(blob, blob_end - blob).find('<', 1), std::string::npos);

  Browser b = load_in_chromium(report_path);
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err;
  EXPECT_TRUE(b.console.empty()) << "console output (script error or CSP violation):\n"
                                 << joined(b.console);
  // The script ran to its end and drew a bar for each of the 8 jobs that started.
  EXPECT_NE(b.dom.find("<div id=\"rendered\" hidden=\"\" data-bars=\"8\">"), std::string::npos)
      << b.dom.substr(0, 2000);
  EXPECT_NE(b.dom.find("class=\"bar st-ok\""), std::string::npos);
  for (const json& j : jobs) {
    EXPECT_NE(b.dom.find(dom_text(j["name"])), std::string::npos) << j["name"];
  }
  for (auto [status, n] : std::vector<std::pair<std::string, int>>{{"ok", 4},
                                                                   {"failed", 1},
                                                                   {"timeout", 1},
                                                                   {"crashed", 1},
                                                                   {"error", 1},
                                                                   {"skipped", 1},
                                                                   {"cancelled", 0}}) {
    EXPECT_NE(b.dom.find("id=\"count-" + status + "\">" + std::to_string(n) + "<"),
              std::string::npos)
        << status;
  }
  // Hostile output stayed text: no element was made from it and nothing of it ran.
  EXPECT_EQ(b.dom.find("<img"), std::string::npos);
  EXPECT_EQ(b.dom.find("data-pwned=\"1\""), std::string::npos);
  EXPECT_NE(b.dom.find("&lt;/script&gt;&lt;script&gt;" + pwn), std::string::npos);
  // Bytes 0..255: controls shown as symbols, invalid UTF-8 as U+FFFD.
  EXPECT_NE(b.dom.find("\u2400\u2401\u2402"), std::string::npos);
  EXPECT_NE(b.dom.find("\uFFFD"), std::string::npos);
  // Failures first, and the summary names the exit status.
  size_t failed_at = b.dom.find("<details class=\"job st-failed\"");
  size_t ok_at = b.dom.find("<details class=\"job st-ok\"");
  ASSERT_NE(failed_at, std::string::npos);
  EXPECT_LT(failed_at, ok_at);
  EXPECT_NE(b.dom.find("exit 3"), std::string::npos);
  EXPECT_NE(b.dom.find("SIGSEGV"), std::string::npos);
}

TEST(ReportBrowser, EmptyBatchRendersToo) {
  if (::access(kChromium, X_OK) != 0) {
    GTEST_SKIP() << kChromium << " is missing: scripts/setup installs the chromium package";
  }
  TempDir dir;
  std::string report_path = dir.path() + "/report.html";
  RunOutput r = run_procpool({"run", "--report", report_path, dir.write("jobs.json", "[]")});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  Browser b = load_in_chromium(report_path);
  ASSERT_EQ(b.run.exit_status, 0) << b.run.err;
  EXPECT_TRUE(b.console.empty()) << joined(b.console);
  EXPECT_NE(b.dom.find("<div id=\"rendered\" hidden=\"\" data-bars=\"0\">"), std::string::npos);
  EXPECT_NE(b.dom.find("No job ran"), std::string::npos);
}

}  // namespace
