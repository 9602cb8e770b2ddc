#include "cli/html_report.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include "common/log.h"

#include "cli/flags.h"
#include "cli/html_escape.h"
#include "cli/html_report_assets.h"
#include "cli/json_writer.h"
#include "cli/report_file.h"
#include "common/duration.h"

namespace procpool {

namespace {

constexpr std::string_view kFlag = "--report";
constexpr size_t kPageChunk = 1u << 20;  // page text buffered before a write

int64_t wall_now_us() {
  timeval tv;
  ::gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

// Like the capture's own spill file (common/output.cc): unlinked at once, so nothing is left
// behind whatever happens to us. Opened before anything runs, so a bad $TMPDIR is a usage error.
Fd open_spill_file() {
  const char* dir = ::getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  int fd = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
  std::string path = std::string(dir) + "/procpool-report-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    throw UsageError(fmt::format(
        "--report: cannot make a temporary file for job output in {}: {} (set TMPDIR to a "
        "folder you may write)",
        dir, std::strerror(errno)));
  }
  ::unlink(path.c_str());
  return Fd(fd);
}

// A fresh value per page for its Content-Security-Policy: only the page's own <style> and
// <script> carry it, so markup smuggled in by a job (were the escaping ever wrong) could not run.
std::string make_nonce() {
  unsigned char bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    throw_errno("getrandom");
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string seconds_text(double s) {
  if (s < 0.01) return fmt::format("{:.1f} ms", s * 1000);
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 60) return fmt::format("{:.2f} s", s);
  if (s < 3600) return fmt::format("{} min {:.0f} s", static_cast<int>(s / 60), std::fmod(s, 60));
  return fmt::format("{} h {} min", static_cast<int>(s / 3600),
                     static_cast<int>(std::fmod(s, 3600) / 60));
}

// " (2.6 MiB)" after a byte count, for sizes where the exact number is hard to read.
std::string in_units(uint64_t n) {
  if (n < 1024) return "";
  if (n < (1u << 20)) return fmt::format(" ({:.1f} KiB)", n / 1024.0);
  return fmt::format(" ({:.1f} MiB)", n / 1048576.0);
}

std::string bytes_text(uint64_t n) {
  return fmt::format("{} bytes{}", n, in_units(n));
}

// Where a job goes on the page: what needs a look first.
int page_rank(const HtmlReport::Record& r) {
  switch (r.status) {
    case Status::kFailed:
    case Status::kTimeout:
    case Status::kCrashed:
    case Status::kError:
      return 0;
    case Status::kOk:
      return r.flaky ? 1 : 2;
    case Status::kSkipped:
    case Status::kCancelled:
      return 3;
  }
  return 3;
}

// The page as it is written: text is buffered and written in large pieces.
class Page {
 public:
  Page(int fd, const std::string& path) : fd_(fd), path_(path) {}
  Page& operator<<(std::string_view text) {
    buf_ += text;
    if (buf_.size() >= kPageChunk) flush();
    return *this;
  }
  void flush() {
    write_report(fd_, buf_, kFlag, path_);
    buf_.clear();
  }

 private:
  int fd_;
  const std::string& path_;
  std::string buf_;
};

std::string badge(Status s) {
  return fmt::format("<span class=\"badge st-{0}\">{0}</span>", status_name(s));
}

std::string job_link(const HtmlReport::Record& r) {
  return fmt::format("<a href=\"#job-{}\">{}</a>", r.id, html_escape(r.name));
}

}  // namespace

HtmlReport::HtmlReport(std::string path, HtmlReportLimits limits)
    : path_(std::move(path)),
      limits_(limits),
      file_(create_report_file(kFlag, path_)),
      spill_(open_spill_file()),
      origin_us_(wall_now_us()) {
  struct stat st;
  regular_file_ = ::fstat(file_.get(), &st) == 0 && S_ISREG(st.st_mode);
  // Someone may open the page while the batch runs: say so rather than show an empty file.
  if (regular_file_) {
    try {
      write_report(file_.get(),
                   "<!doctype html><meta charset=\"utf-8\"><title>procpool report "
                   "(running)</title><p>procpool is still running this batch; the report is "
                   "written here when it ends.</p>\n",
                   kFlag, path_);
    } catch (const std::exception& e) {
      throw UsageError(e.what());
    }
  }
}

void HtmlReport::spill(std::string& fragment) {
  if (fragment.empty()) return;
  write_report(spill_.get(), fragment, kFlag, path_ + " (temporary file in $TMPDIR)");
  spill_size_ += fragment.size();
  fragment.clear();
}

// The first per_job_bytes of the output, both streams in arrival order, stderr marked, escaped
// into the spill file.
void HtmlReport::keep_output(const Output& output, Record& rec) {
  rec.spill_at = spill_size_;
  std::string fragment;
  HtmlTextWriter writer(fragment);
  uint64_t left = limits_.per_job_bytes;
  bool in_stderr = false;
  struct Enough {};  // thrown to stop reading: a spilled capture may be gigabytes long
  try {
    output.for_each([&](Stream s, std::string_view bytes) {
      if (left == 0) throw Enough{};
      if ((s == Stream::kStderr) != in_stderr) {
        writer.finish();  // a character cannot continue across streams
        fragment += in_stderr ? "</span>" : "<span class=\"e\">";
        in_stderr = !in_stderr;
      }
      bytes = bytes.substr(0, std::min<uint64_t>(left, bytes.size()));
      writer.feed(bytes);
      left -= bytes.size();
      if (fragment.size() >= kPageChunk) spill(fragment);
    });
  } catch (const Enough&) {
  }
  writer.finish();
  if (in_stderr) fragment += "</span>";
  spill(fragment);
  rec.shown_bytes = limits_.per_job_bytes - left;
  rec.spill_len = spill_size_ - rec.spill_at;
  rec.output_kept = true;
}

void HtmlReport::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  Record rec;
  rec.id = job.id;
  rec.name = job.name;
  rec.command = job.command_text();
  rec.status = r.status;
  rec.flaky = r.flaky();
  rec.attempts = r.attempts;
  rec.ending = ending_text(job, r);
  rec.started_us = r.started_us;
  rec.ended_us = r.ended_us;
  rec.duration_s = r.duration_s;
  if (r.worker_pid && r.started_us) {
    rec.worker = fmt::format("worker {}", r.worker_pid);
    if (!r.host.empty()) rec.worker += "@" + r.host;
  }
  rec.out_bytes = r.output.size(Stream::kStdout);
  rec.err_bytes = r.output.size(Stream::kStderr);

  if (spill_error_.empty()) {
    try {
      keep_output(r.output, rec);
    } catch (const std::runtime_error& e) {
      // Said once: a full $TMPDIR must not become one error line per job.
      spill_error_ = e.what();
      log::error("{}; job outputs from here on are left out of the report", spill_error_);
    }
  }
  records_.push_back(std::move(rec));
}

void HtmlReport::finish(const Summary& s) {
  try {
    if (regular_file_) {
      if (::ftruncate(file_.get(), 0) != 0 || ::lseek(file_.get(), 0, SEEK_SET) != 0) {
        throw std::runtime_error(
            fmt::format("{} {}: cannot rewrite it: {}", kFlag, path_, std::strerror(errno)));
      }
    }
    write_page(s);
  } catch (const std::exception& e) {
    // Half a page would pass for the report of a batch that stopped early.
    bool removed = remove_unfinished(file_.get(), path_);
    file_.reset();
    spill_.reset();
    throw std::runtime_error(
        fmt::format("{}; {}", e.what(),
                    removed ? "removed it, as it could not be completed" : "it is incomplete"));
  }
  file_.reset();
  spill_.reset();
  if (!spill_error_.empty()) {
    // The page stands, but without some jobs' output: a file that is not whole says so.
    throw std::runtime_error(fmt::format("{} {}: written without the output of some jobs: {}",
                                         kFlag, path_, spill_error_));
  }
}

void HtmlReport::write_page(const Summary& s) {
  std::vector<const Record*> by_rank;
  for (const Record& r : records_) by_rank.push_back(&r);
  std::stable_sort(by_rank.begin(), by_rank.end(),
                   [](const Record* a, const Record* b) { return page_rank(*a) < page_rank(*b); });
  std::vector<const Record*> ran;
  for (const Record& r : records_) {
    if (!r.worker.empty()) ran.push_back(&r);
  }
  std::map<std::string, int> lane_of;  // worker label -> lane, in order of first start
  std::vector<const Record*> by_start = ran;
  std::stable_sort(by_start.begin(), by_start.end(),
                   [](const Record* a, const Record* b) { return a->started_us < b->started_us; });
  JsonArray lanes, bars;
  for (const Record* r : by_start) {
    auto [it, added] = lane_of.emplace(r->worker, static_cast<int>(lane_of.size()));
    if (added) lanes.add(r->worker);
    bars.add(JsonArray()
                 .add(r->id)
                 .add(r->name)
                 .add(status_name(r->status))
                 .add(it->second)
                 .add((r->started_us - origin_us_) / 1000.0)
                 .add(std::max<int64_t>(0, r->ended_us - r->started_us) / 1000.0)
                 .add(r->status == Status::kOk ? std::string() : r->ending));
  }
  JsonObject data;
  data.add("wall_ms", s.wall_s * 1000).add("lanes", lanes).add("jobs", bars);
  // Inside <script> only "</script" or "<!--" could end or derail the element; no '<' at all
  // is simpler to trust. JSON has '<' only inside strings, where \u003c means the same.
  std::string data_text;
  for (char c : data.text()) {
    if (c == '<') {
      data_text += "\\u003c";
    } else {
      data_text += c;
    }
  }

  std::string nonce = make_nonce();
  Page page(file_.get(), path_);
  std::string title = "procpool report: " + s.line();
  page << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       << "script-src 'nonce-" << nonce << "'; style-src 'nonce-" << nonce
       << "'; base-uri 'none'; form-action 'none'\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>" << html_escape(title) << "</title>\n"
       << "<style nonce=\"" << nonce << "\">" << kReportCss << "</style>\n</head>\n<body>\n";

  // Summary: counts, when and how long, how many workers.
  page << "<header>\n<h1>procpool report</h1>\n<p class=\"muted\">started " << iso_time(origin_us_)
       << " · " << seconds_text(s.wall_s) << " wall time · "
       << fmt::format("{} job{}", s.total(), s.total() == 1 ? "" : "s") << " · "
       << fmt::format("{} worker process{}", lanes.size(), lanes.size() == 1 ? "" : "es")
       << "</p>\n</header>\n<section id=\"summary\">\n<h2>Summary</h2>\n<ul class=\"counts\">\n";
  std::pair<const char*, uint64_t> counts[] = {{"ok", s.ok},
                                               {"failed", s.failed},
                                               {"timeout", s.timeout},
                                               {"crashed", s.crashed},
                                               {"error", s.error},
                                               {"skipped", s.skipped},
                                               {"cancelled", s.cancelled},
                                               {"flaky", s.flaky}};
  for (auto [name, n] : counts) {
    page << fmt::format(
        "<li class=\"st-{0}{2}\"><span class=\"n\" id=\"count-{0}\">{1}</span>{3}</li>\n", name, n,
        n ? "" : " zero",
        std::string_view(name) == "error"   ? "could not start"
        : std::string_view(name) == "flaky" ? "flaky (ok after a retry)"
                                            : name);
  }
  page << "</ul>\n<p id=\"summary-line\">" << html_escape(s.line()) << "</p>\n</section>\n";

  // The jobs that did not succeed, real failures first, with how each ended.
  size_t not_ok = std::count_if(records_.begin(), records_.end(),
                                [](const Record& r) { return r.status != Status::kOk; });
  if (not_ok > 0) {
    page << fmt::format("<section id=\"failures\">\n<h2>Did not succeed ({})</h2>\n", not_ok)
         << "<table>\n<tr><th>job</th><th>status</th><th>how it ended</th>"
            "<th class=\"num\">duration</th><th>worker</th></tr>\n";
    size_t rows = 0;
    for (const Record* r : by_rank) {
      if (r->status == Status::kOk) continue;
      if (rows++ == limits_.failure_rows) break;
      page << "<tr><td>" << job_link(*r) << "</td><td>" << badge(r->status)
           << "</td><td class=\"why\">" << html_escape(r->ending)
           << (r->attempts > 1 ? fmt::format(" (attempt {})", r->attempts) : "")
           << "</td><td class=\"num\">" << (r->started_us ? seconds_text(r->duration_s) : "")
           << "</td><td>" << html_escape(r->worker) << "</td></tr>\n";
    }
    page << "</table>\n";
    if (not_ok > limits_.failure_rows) {
      page << fmt::format("<p class=\"note\">… and {} more, listed under Jobs below.</p>\n",
                          not_ok - limits_.failure_rows);
    }
    page << "</section>\n";
  }

  // The slowest jobs.
  std::vector<const Record*> slowest = ran;
  size_t n_slow = std::min(limits_.slowest, slowest.size());
  std::partial_sort(slowest.begin(), slowest.begin() + n_slow, slowest.end(),
                    [](const Record* a, const Record* b) { return a->duration_s > b->duration_s; });
  if (n_slow > 0) {
    page << "<section id=\"slowest\">\n<h2>Slowest jobs</h2>\n<table>\n<tr><th>job</th>"
            "<th class=\"num\">duration</th><th>status</th><th>worker</th></tr>\n";
    for (size_t i = 0; i < n_slow; ++i) {
      const Record& r = *slowest[i];
      page << "<tr><td>" << job_link(r) << "</td><td class=\"num\">" << seconds_text(r.duration_s)
           << "</td><td>" << badge(r.status) << "</td><td>" << html_escape(r.worker)
           << "</td></tr>\n";
    }
    page << "</table>\n</section>\n";
  }

  // The timeline: drawn by the script from #report-data.
  size_t never_ran = records_.size() - ran.size();
  page << "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"muted\">One row per worker "
          "process; hover over a job for its name, status and duration, click it for its "
          "output.";
  if (never_ran > 0) {
    page << fmt::format(" {} that never started (skipped or cancelled) {} not drawn.",
                        never_ran == 1 ? "1 job" : fmt::format("{} jobs", never_ran),
                        never_ran == 1 ? "is" : "are");
  }
  page << "</p>\n<noscript><p class=\"note\">The timeline is drawn by the page's script, which is "
          "turned off; everything else here is plain HTML.</p></noscript>\n"
          "<div id=\"timeline-body\"></div>\n<div id=\"tip\" hidden></div>\n</section>\n";

  // Every job with its output, failures first.
  page << "<section id=\"jobs\">\n<h2>Jobs and their output</h2>\n<p class=\"muted\">"
          "Did-not-succeed first, then flaky, then ok, then jobs that never started; each in "
          "completion order. stderr is shown <span class=\"legend-err\">in red</span>, interleaved "
          "with stdout as it arrived. At most "
       << bytes_text(limits_.per_job_bytes)
       << " of each job's output is shown (run with --format jsonl for all of it).</p>\n"
          "<div class=\"tools\" hidden><button id=\"expand-all\" type=\"button\">expand all"
          "</button><button id=\"collapse-all\" type=\"button\">collapse all</button></div>\n";
  uint64_t budget = limits_.total_bytes;
  size_t opened = 0;
  std::string chunk;
  for (const Record* r : by_rank) {
    bool open = page_rank(*r) == 0 && opened < limits_.open_failures;
    opened += open;
    page << fmt::format("<details class=\"job st-{}\" id=\"job-{}\"{}>\n<summary>",
                        status_name(r->status), r->id, open ? " open" : "")
         << badge(r->status) << (r->flaky ? " <span class=\"badge flaky\">flaky</span>" : "")
         << " <span class=\"name\">" << html_escape(r->name) << "</span><span class=\"meta\">"
         << html_escape(r->ending);
    if (r->started_us) page << " · " << seconds_text(r->duration_s);
    if (r->attempts > 1) page << fmt::format(" · attempt {}", r->attempts);
    if (!r->worker.empty()) page << " · " << html_escape(r->worker);
    page << "</span></summary>\n<div class=\"body\">\n<p class=\"cmd\"><code>"
         << html_escape(r->command) << "</code></p>\n";
    uint64_t total = r->out_bytes + r->err_bytes;
    if (total == 0) {
      page << "<p class=\"note\">no output</p>\n";
    } else if (!r->output_kept) {
      page << fmt::format("<p class=\"note\">output not kept (stdout {}, stderr {}): {}</p>\n",
                          bytes_text(r->out_bytes), bytes_text(r->err_bytes),
                          html_escape(spill_error_));
    } else if (r->shown_bytes > budget) {
      page << fmt::format(
          "<p class=\"note\">output not shown: stdout {}, stderr {}; this page already shows "
          "{} of output, its limit.</p>\n",
          bytes_text(r->out_bytes), bytes_text(r->err_bytes), bytes_text(limits_.total_bytes));
    } else {
      budget -= r->shown_bytes;
      page << fmt::format("<p class=\"note\">stdout {}, stderr {}</p>\n", bytes_text(r->out_bytes),
                          bytes_text(r->err_bytes))
           << "<pre class=\"out\">";
      // The escaped fragment, straight from the spill file.
      uint64_t at = r->spill_at, left = r->spill_len;
      while (left > 0) {
        chunk.resize(std::min<uint64_t>(left, 1u << 16));
        ssize_t n = ::pread(spill_.get(), chunk.data(), chunk.size(), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("pread (--report's temporary file for job output)");
        if (n == 0) break;
        page << std::string_view(chunk.data(), static_cast<size_t>(n));
        at += static_cast<uint64_t>(n);
        left -= static_cast<uint64_t>(n);
      }
      page << "</pre>\n";
      if (total > r->shown_bytes) {
        uint64_t more = total - r->shown_bytes;
        page << fmt::format("<p class=\"note\">… {} bytes more{}</p>\n", more, in_units(more));
      }
    }
    page << "</div>\n</details>\n";
  }
  if (records_.empty()) page << "<p class=\"muted\">No jobs.</p>\n";
  page << "</section>\n<script type=\"application/json\" id=\"report-data\">" << data_text
       << "</script>\n<script nonce=\"" << nonce << "\">" << kReportJs << "</script>\n"
       << "</body>\n</html>\n";
  page.flush();
}

}  // namespace procpool
