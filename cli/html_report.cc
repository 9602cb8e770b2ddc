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
#include <iterator>
#include <map>
#include <queue>

#include <fmt/format.h>
#include "common/log.h"

#include "cli/flags.h"
#include "cli/html_escape.h"
#include "cli/html_report_assets.h"
#include "cli/json_string.h"
#include "cli/json_writer.h"
#include "cli/report_file.h"
#include "common/duration.h"

namespace procpool {

namespace {

constexpr std::string_view kFlag = "--report";
constexpr size_t kPageChunk = 1u << 20;     // page text buffered before a write
constexpr size_t kMaxLanes = 256;           // timeline rows, at most one per worker process
constexpr size_t kNameBytes = 1u << 10;     // of a job's name in the page's data
constexpr size_t kCommandBytes = 4u << 10;  // of a job's command
// The page's statuses, in the order of its filter buttons; the data names them by index here.
constexpr Status kStatusOrder[] = {Status::kOk,      Status::kFailed, Status::kTimeout,
                                   Status::kCrashed, Status::kError,  Status::kCancelled,
                                   Status::kSkipped};
// "at" of a job without its output on the page (kept ones have their offset, >= 1).
constexpr int64_t kNoOutput = -1, kOutputNotKept = -2, kOutputOverBudget = -3;

int status_column(Status s) {
  for (size_t i = 0; i < std::size(kStatusOrder); ++i) {
    if (kStatusOrder[i] == s) return static_cast<int>(i);
  }
  return 0;
}

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

// A run of one stream's bytes, as kept for the page.
struct Segment {
  Stream stream;
  std::string bytes;
};

void add_segment(std::vector<Segment>& to, Stream s, std::string_view bytes) {
  if (bytes.empty()) return;
  if (to.empty() || to.back().stream != s) to.push_back({s, std::string()});
  to.back().bytes += bytes;
}

// Bytes at the end of `s` that begin a UTF-8 sequence it does not finish (0 to 3).
size_t unfinished_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(3, s.size()); ++back) {
    auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    size_t needs = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return needs > back ? back : 0;
  }
  return 0;
}

// The length of valid UTF-8 text in UTF-16 code units, as the page's script indexes strings:
// one per character, two for those beyond U+FFFF.
uint64_t utf16_length(std::string_view utf8) {
  uint64_t n = 0;
  for (char ch : utf8) {
    auto c = static_cast<unsigned char>(ch);
    n += (c & 0xC0) != 0x80;
    n += c >= 0xF0;
  }
  return n;
}

// At most `max` bytes of `s`, cut at a character boundary, "…" where it was cut.
std::string clipped(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  std::string_view head(s.data(), max);
  head.remove_suffix(unfinished_utf8_tail(head));
  return fmt::format("{}… ({} bytes more)", head, s.size() - head.size());
}

// A JSON array written as it grows, for the page's columns of 100,000 values.
class Column {
 public:
  template <typename T>
  void add(const T& value) {
    text_ += text_.empty() ? '[' : ',';
    text_ += to_json(value);
  }
  std::string text() const { return text_.empty() ? "[]" : text_ + "]"; }

 private:
  std::string text_;
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

// The head and the tail of the output (all of it when it fits), both streams in arrival order,
// as the JSON value the page's script reads: [[1,"stdout"],[2,"stderr"],[0,BYTES_CUT],[1,...]].
// Written straight into the spill file.
void HtmlReport::keep_output(const Output& output, Record& rec) {
  rec.spill_at = spill_size_;
  uint64_t total = rec.out_bytes + rec.err_bytes;
  uint64_t head_end = total, tail_start = total;  // bytes [0, head_end) and [tail_start, total)
  if (total > limits_.head_bytes + limits_.tail_bytes) {
    head_end = limits_.head_bytes;
    tail_start = total - limits_.tail_bytes;
  }
  // Both parts are small (head_bytes + tail_bytes at most), so they are gathered in memory.
  std::vector<Segment> head, tail;
  uint64_t at = 0;
  output.for_each([&](Stream s, std::string_view bytes) {
    uint64_t end = at + bytes.size();
    if (at < head_end) add_segment(head, s, bytes.substr(0, std::min(end, head_end) - at));
    if (end > tail_start && tail_start < total) {
      add_segment(tail, s, bytes.substr(std::max(at, tail_start) - at));
    }
    at = end;
  });
  if (tail_start < total) {
    // Cut at character boundaries, not through one: no U+FFFD that the output did not have.
    if (!head.empty()) {
      std::string& last = head.back().bytes;
      last.resize(last.size() - unfinished_utf8_tail(last));
    }
    if (!tail.empty()) {
      std::string& first = tail.front().bytes;
      size_t n = 0;
      while (n < 3 && n < first.size() && (static_cast<unsigned char>(first[n]) & 0xC0) == 0x80) {
        ++n;
      }
      first.erase(0, n);
    }
  }
  uint64_t shown = 0;
  for (const auto* part : {&head, &tail}) {
    for (const Segment& seg : *part) shown += seg.bytes.size();
  }
  std::string fragment = "[";
  auto add = [&](const Segment& seg) {
    if (seg.bytes.empty()) return;
    if (fragment.size() > 1) fragment += ',';
    fragment += seg.stream == Stream::kStderr ? "[2,\"" : "[1,\"";
    JsonStringWriter w([&](std::string_view piece) { fragment += script_safe_json(piece); });
    w.feed(seg.bytes);
    w.finish();
    fragment += "\"]";
  };
  for (const Segment& seg : head) add(seg);
  if (shown < total) {
    if (fragment.size() > 1) fragment += ',';
    fragment += fmt::format("[0,{}]", total - shown);
  }
  for (const Segment& seg : tail) add(seg);
  fragment += ']';
  rec.text_len = utf16_length(fragment);
  spill(fragment);
  rec.shown_bytes = shown;
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

  if (rec.out_bytes + rec.err_bytes == 0) {
    rec.output_kept = true;  // nothing to keep
  } else if (spill_error_.empty()) {
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
  std::vector<const Record*> by_rank;  // the page's order: what needs a look first
  for (const Record& r : records_) by_rank.push_back(&r);
  std::stable_sort(by_rank.begin(), by_rank.end(),
                   [](const Record* a, const Record* b) { return page_rank(*a) < page_rank(*b); });
  std::vector<uint32_t> ran;  // page indices of the jobs that started, by start time
  for (uint32_t i = 0; i < by_rank.size(); ++i) {
    if (!by_rank[i]->worker.empty()) ran.push_back(i);
  }
  std::stable_sort(ran.begin(), ran.end(), [&](uint32_t a, uint32_t b) {
    return by_rank[a]->started_us < by_rank[b]->started_us;
  });

  // Timeline lanes: one per worker process, in order of first start. A batch whose workers
  // were replaced again and again (--max-tasks-per-worker, workers lost) would have too many
  // to draw: its jobs are then packed into as few rows as ran at once.
  std::map<std::string, int> worker_of;  // worker label -> index
  std::vector<std::string> workers;
  std::vector<int> lane(by_rank.size(), -1);
  for (uint32_t i : ran) {
    auto [it, added] = worker_of.emplace(by_rank[i]->worker, static_cast<int>(workers.size()));
    if (added) workers.push_back(by_rank[i]->worker);
    lane[i] = it->second;
  }
  std::vector<std::string> lanes = workers;
  if (workers.size() > kMaxLanes) {
    lanes.clear();
    // (end, row) of the job each row ran last, the one free first on top.
    std::priority_queue<std::pair<int64_t, int>, std::vector<std::pair<int64_t, int>>,
                        std::greater<>>
        free_at;
    for (uint32_t i : ran) {
      const Record& r = *by_rank[i];
      int row;
      if (!free_at.empty() && free_at.top().first <= r.started_us) {
        row = free_at.top().second;
        free_at.pop();
      } else {
        row = static_cast<int>(lanes.size());
        lanes.push_back(fmt::format("row {}", row + 1));
      }
      lane[i] = row;
      free_at.emplace(std::max(r.ended_us, r.started_us), row);
    }
  }

  // Where each output goes in #report-outputs (offsets in UTF-16 code units, as the script's
  // strings count), within the page's budget, in page order: failures first.
  std::vector<int64_t> out_at(by_rank.size(), kNoOutput), out_len(by_rank.size(), 0);
  uint64_t budget = limits_.total_bytes, offset = 1;  // after the array's '['
  std::vector<const Record*> outputs;
  for (size_t i = 0; i < by_rank.size(); ++i) {
    const Record& r = *by_rank[i];
    if (r.out_bytes + r.err_bytes == 0) continue;
    if (!r.output_kept) {
      out_at[i] = kOutputNotKept;
    } else if (r.spill_len > budget) {
      out_at[i] = kOutputOverBudget;
    } else {
      budget -= r.spill_len;
      out_at[i] = static_cast<int64_t>(offset);
      out_len[i] = static_cast<int64_t>(r.text_len);
      offset += r.text_len + 1;  // and the comma
      outputs.push_back(&r);
    }
  }

  // The jobs, one array per field ("columns"), in page order.
  Column id, name, status, flaky, meta, cmd, out, err, at, len, lane_col, start, dur, by_start;
  for (size_t i = 0; i < by_rank.size(); ++i) {
    const Record& r = *by_rank[i];
    id.add(r.id);
    name.add(clipped(r.name, kNameBytes));
    status.add(status_column(r.status));
    flaky.add(r.flaky ? 1 : 0);
    std::string m = r.ending;
    if (r.started_us) m += " · " + seconds_text(r.duration_s);
    if (r.attempts > 1) m += fmt::format(" · attempt {}", r.attempts);
    if (!r.worker.empty()) m += " · " + r.worker;
    meta.add(m);
    cmd.add(clipped(r.command, kCommandBytes));
    out.add(r.out_bytes);
    err.add(r.err_bytes);
    at.add(out_at[i]);
    len.add(out_len[i]);
    lane_col.add(lane[i]);
    bool started = !r.worker.empty();
    start.add(started ? (r.started_us - origin_us_) / 1000.0 : 0.0);
    dur.add(started ? std::max<int64_t>(0, r.ended_us - r.started_us) / 1000.0 : 0.0);
  }
  for (uint32_t i : ran) by_start.add(i);
  JsonArray statuses, lane_names;
  for (Status st : kStatusOrder) statuses.add(status_name(st));
  for (const std::string& l : lanes) lane_names.add(l);
  size_t open = 0;
  while (open < by_rank.size() && open < limits_.open_failures && page_rank(*by_rank[open]) == 0) {
    ++open;
  }
  std::string data = "{";
  auto member = [&](std::string_view key, const std::string& json) {
    if (data.size() > 1) data += ",\n";
    data += json_quote(key) + ":" + json;
  };
  member("wall_ms", to_json(s.wall_s * 1000));
  member("statuses", statuses.text());
  member("lanes", lane_names.text());
  member("open", to_json(open));
  member("total_bytes", to_json(limits_.total_bytes));
  member("spill_error", to_json(spill_error_));
  member("by_start", by_start.text());
  member("id", id.text());
  member("name", name.text());
  member("status", status.text());
  member("flaky", flaky.text());
  member("meta", meta.text());
  member("cmd", cmd.text());
  member("out", out.text());
  member("err", err.text());
  member("at", at.text());
  member("len", len.text());
  member("lane", lane_col.text());
  member("start", start.text());
  member("dur", dur.text());
  data += "}";

  std::string nonce = make_nonce();
  Page page(file_.get(), path_);
  std::string title = "procpool report: " + s.line();
  page << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       << "script-src 'nonce-" << nonce << "'; style-src 'nonce-" << nonce
       << "'; base-uri 'none'; form-action 'none'\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<meta name=\"color-scheme\" content=\"light dark\">\n"
       << "<title>" << html_escape(title) << "</title>\n"
       << "<style nonce=\"" << nonce << "\">" << kReportCss << "</style>\n</head>\n<body>\n";

  // Summary: counts, when and how long, how many workers.
  page << "<header>\n<h1>procpool report</h1>\n<p class=\"muted\">started " << iso_time(origin_us_)
       << " · " << seconds_text(s.wall_s) << " wall time · "
       << fmt::format("{} job{}", s.total(), s.total() == 1 ? "" : "s") << " · "
       << fmt::format("{} worker process{}", workers.size(), workers.size() == 1 ? "" : "es")
       << "</p>\n</header>\n<section id=\"summary\">\n<h2>Summary</h2>\n<ul class=\"counts\">\n";
  std::pair<const char*, uint64_t> counts[] = {{"ok", s.ok},
                                               {"failed", s.failed},
                                               {"timeout", s.timeout},
                                               {"crashed", s.crashed},
                                               {"error", s.error},
                                               {"skipped", s.skipped},
                                               {"cancelled", s.cancelled},
                                               {"flaky", s.flaky}};
  for (auto [cname, n] : counts) {
    page << fmt::format(
        "<li class=\"st-{0}{2}\"><span class=\"n\" id=\"count-{0}\">{1}</span>{3}</li>\n", cname, n,
        n ? "" : " zero",
        std::string_view(cname) == "error"   ? "could not start"
        : std::string_view(cname) == "flaky" ? "flaky (ok after a retry)"
                                             : cname);
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
  std::vector<const Record*> slowest;
  for (uint32_t i : ran) slowest.push_back(by_rank[i]);
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
  page << "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"muted\">"
       << (lanes.size() == workers.size()
               ? "One row per worker process"
               : fmt::format("{} worker processes, packed into one row per job running at once",
                             workers.size()))
       << "; hover over a job for its name, status and duration, click it for its output.";
  if (never_ran > 0) {
    page << fmt::format(" {} that never started (skipped or cancelled) {} not drawn.",
                        never_ran == 1 ? "1 job" : fmt::format("{} jobs", never_ran),
                        never_ran == 1 ? "is" : "are");
  }
  page << "</p>\n<noscript><p class=\"note\">The timeline is drawn by the page's script, which is "
          "turned off.</p></noscript>\n"
          "<div id=\"timeline-body\"></div>\n<div id=\"tip\" hidden></div>\n</section>\n";

  // Every job with its output, failures first: the list is drawn by the script.
  page << "<section id=\"jobs\">\n<h2>Jobs and their output</h2>\n<p class=\"muted\">"
          "Did-not-succeed first, then flaky, then ok, then jobs that never started; each in "
          "completion order. Click a job for its command and output: stderr is shown "
          "<span class=\"legend-err\">in red</span>, interleaved with stdout as it arrived, "
          "terminal colours as colours, other control characters as symbols (␛). Of a long "
          "output the first "
       << bytes_text(limits_.head_bytes) << " and the last " << bytes_text(limits_.tail_bytes)
       << " are shown (run with --format jsonl for all of it).</p>\n"
          "<noscript><p class=\"note\">The job list is drawn by the page's script, which is "
          "turned off; the tables above are plain HTML.</p></noscript>\n"
          "<div class=\"tools\" hidden><input type=\"search\" id=\"search\" placeholder=\"name "
          "contains…\" aria-label=\"show the jobs whose name contains\" autocomplete=\"off\">"
          "<span id=\"chips\" role=\"group\" aria-label=\"show jobs by status\"></span>"
          "<span id=\"shown\" aria-live=\"polite\"></span>"
          "<button id=\"expand-all\" type=\"button\">expand all</button>"
          "<button id=\"collapse-all\" type=\"button\">collapse all</button></div>\n"
          "<div id=\"list\"></div>\n";
  if (records_.empty()) page << "<p class=\"muted\">No jobs.</p>\n";
  page << "</section>\n<script type=\"application/json\" id=\"report-data\">"
       << script_safe_json(data) << "</script>\n";
  data = std::string();

  // The outputs: the fragments straight from the spill file, already JSON and safe in <script>.
  page << "<script type=\"application/json\" id=\"report-outputs\">[";
  std::string chunk;
  bool first = true;
  for (const Record* r : outputs) {
    if (!first) page << ",";
    first = false;
    uint64_t from = r->spill_at, left = r->spill_len;
    while (left > 0) {
      chunk.resize(std::min<uint64_t>(left, 1u << 16));
      ssize_t n = ::pread(spill_.get(), chunk.data(), chunk.size(), static_cast<off_t>(from));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("pread (--report's temporary file for job output)");
      if (n == 0) {
        throw std::runtime_error(
            fmt::format("{} {}: its temporary file for job output was cut short", kFlag, path_));
      }
      page << std::string_view(chunk.data(), static_cast<size_t>(n));
      from += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
    }
  }
  page << "]</script>\n<script nonce=\"" << nonce << "\">" << kReportJs << "</script>\n"
       << "</body>\n</html>\n";
  page.flush();
}

}  // namespace procpool
