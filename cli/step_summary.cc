// How the summary is made safe to show: every piece of untrusted text (a job's name, how it
// ended, its host, lines of its stderr) is first made visible (common/visible_text.h: control
// characters escaped, so it is one line, which a table row must be), then cut, then escaped for
// Markdown and HTML at once by writing each character that means something to either as a
// numeric entity. Entities are what both GitHub's renderer and others (Python-Markdown) leave
// as text: `&#124;` never splits a table cell the way a `|` would, even where a backslash
// escape is not honoured (inside code spans, in some renderers inside cells), and `&#42;` never
// starts emphasis. The only markup in the file is procpool's own.
#include "cli/step_summary.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include <procpool/this_machine.h>
#include "cli/flags.h"
#include "cli/report_file.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

constexpr uint64_t kTailBytes = 8u << 10;               // of stderr read for its last lines
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

// `text` (visible text: valid UTF-8, no control characters) as Markdown that renders as
// exactly that text, also inside a table cell and inside inline HTML.
std::string md_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      // Markdown's inline syntax and GFM's extensions: escapes, code spans, emphasis, links
      // and images, table cells, strikethrough, math, emoji shortcodes, a heading's closing
      // hashes. A numeric entity is always just the character.
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '!':
      case '|':
      case '~':
      case '$':
      case ':':
      case '#':
        out += fmt::format("&#{};", static_cast<int>(c));
        break;
      default:
        out += c;
    }
  }
  return out;
}

// `text` cut to at most `max_chars` characters (UTF-8), with an ellipsis when cut.
std::string cut(std::string text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a continuation
    if (chars++ == max_chars) {
      text.resize(i);
      text += kEllipsis;
      break;
    }
  }
  return text;
}

// Untrusted text as one visible line, cut.
std::string shown(std::string_view text, size_t max_chars) {
  return cut(visible(text), max_chars);
}

// The last bytes of a job's stderr (at most kTailBytes); `cut_off` says whether earlier ones exist.
std::string stderr_tail(const Output& out, bool& cut_off) {
  uint64_t size = out.size(Stream::kStderr);
  uint64_t skip = size > kTailBytes ? size - kTailBytes : 0;
  cut_off = skip > 0;
  std::string tail;
  tail.reserve(size - skip);
  out.for_each([&](Stream s, std::string_view bytes) {
    if (s != Stream::kStderr) return;
    if (skip >= bytes.size()) {
      skip -= bytes.size();
      return;
    }
    bytes.remove_prefix(skip);
    skip = 0;
    tail.append(bytes);
  });
  // A cut through a UTF-8 sequence: its continuation bytes would show as \xHH.
  size_t lead = 0;
  while (cut_off && lead < 3 && lead < tail.size() &&
         (static_cast<unsigned char>(tail[lead]) & 0xC0) == 0x80) {
    ++lead;
  }
  return tail.substr(lead);
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The last `keep` lines of `tail` as a terminal would have left them: a carriage return
// (a progress bar redrawing itself) keeps what came after it, tabs become spaces, blank lines
// at the end are dropped. `earlier` is set when lines before them are left out.
std::vector<std::string> last_lines(std::string_view tail, bool tail_cut, size_t keep,
                                    bool& earlier) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < tail.size()) {
    size_t nl = tail.find('\n', start);
    if (nl == std::string_view::npos) nl = tail.size();
    lines.push_back(tail.substr(start, nl - start));
    start = nl + 1;
  }
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  size_t first = lines.size() > keep ? lines.size() - keep : 0;
  earlier = first > 0 || tail_cut;
  std::vector<std::string> out;
  for (size_t i = first; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (size_t cr = line.rfind('\r'); cr != std::string_view::npos) line.remove_prefix(cr + 1);
    std::string text(line);
    std::replace(text.begin(), text.end(), '\t', ' ');
    // The first line of a tail that began mid-line is the end of a longer one.
    std::string prefix = (i == 0 && tail_cut) ? std::string(kEllipsis) : "";
    out.push_back(prefix + shown(text, StepSummaryContent::kLineChars));
  }
  return out;
}

std::string count_table(const Summary& s) {
  std::vector<std::pair<const char*, uint64_t>> counts{{"ok", s.ok}};
  for (auto [name, n] : {std::pair<const char*, uint64_t>{"failed", s.failed},
                         {"timed out", s.timeout},
                         {"crashed", s.crashed},
                         {"could not start", s.error},
                         {"cancelled", s.cancelled},
                         {"skipped", s.skipped},
                         {"resumed", s.resumed},
                         {"flaky", s.flaky}}) {
    if (n > 0) counts.emplace_back(name, n);
  }
  std::string head = "|", rule = "|", values = "|";
  for (auto [name, n] : counts) {
    head += fmt::format(" {} |", name);
    rule += " ---: |";
    values += fmt::format(" {} |", n);
  }
  head += " wall time |";
  rule += " ---: |";
  values += fmt::format(" {:.1f}s |", s.wall_s);
  return head + "\n" + rule + "\n" + values + "\n";
}

std::string verdict(const Summary& s) {
  uint64_t total = s.total();
  if (total == 0) return "No jobs ran.";
  if (s.all_ok()) {
    std::string text = fmt::format("\xE2\x9C\x85 All {} jobs succeeded", total);  // U+2705
    if (s.resumed) text += fmt::format(" ({} of them in an earlier run)", s.resumed);
    return text + ".";
  }
  if (s.failures() > 0) {
    return fmt::format("\xE2\x9D\x8C {} of {} jobs did not succeed.", s.failures(),
                       total);  // U+274C
  }
  return fmt::format("\xE2\x9A\xA0\xEF\xB8\x8F {} of {} jobs did not run.",  // U+26A0 U+FE0F
                     s.cancelled + s.skipped, total);
}

// Leading spaces as no-break spaces: indentation (a traceback's) survives HTML's collapsing.
std::string keep_indent(std::string escaped) {
  size_t n = escaped.find_first_not_of(' ');
  if (n == std::string::npos) n = escaped.size();
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "&nbsp;";
  return out + escaped.substr(n);
}

}  // namespace

void StepSummaryContent::add(const Job& job, const Result& r) {
  if (r.resumed) return;  // not run this time
  uint64_t seq = ++seq_;
  if (r.started_us) {
    auto later = std::find_if(slowest_.begin(), slowest_.end(),
                              [&](const auto& e) { return e.first < r.duration_s; });
    if (later != slowest_.end() || slowest_.size() < kSlowest) {
      slowest_.emplace(later, r.duration_s, shown(job.name, kTextChars));
      if (slowest_.size() > kSlowest) slowest_.pop_back();
    }
  }
  int how_bad = badness_rank(r.status);
  if (how_bad < 0) return;
  ++not_ok_;
  // Full: the new row replaces the least bad one kept, when it is worse (an equal one came
  // earlier, so it stays); otherwise nothing of this job is kept, not even its stderr's tail.
  auto least_bad = std::max_element(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) {
    return std::pair(a.rank, a.seq) < std::pair(b.rank, b.seq);
  });
  if (rows_.size() >= kRowsShown && how_bad >= least_bad->rank) return;

  Row row;
  row.rank = how_bad;
  row.seq = seq;
  row.name = shown(job.name, kTextChars);
  std::string ending = ending_text(job, r);
  if (ending.empty()) ending = "could not start";
  if (r.attempts > 1) ending += fmt::format(", attempt {}", r.attempts);
  row.ending = shown(ending, kTextChars);
  row.duration_s = r.duration_s;
  row.host = shown(r.host.empty() ? local_host_name() : r.host, kTextChars);
  bool tail_cut = false;
  std::string tail = stderr_tail(r.output, tail_cut);
  row.stderr_lines = last_lines(tail, tail_cut, kStderrLines, row.earlier_lines);
  if (rows_.size() >= kRowsShown) {
    *least_bad = std::move(row);
  } else {
    rows_.push_back(std::move(row));
  }
}

std::string StepSummaryContent::row_markdown(const Row& row) const {
  std::string stderr_cell;
  if (!row.stderr_lines.empty()) {
    size_t n = row.stderr_lines.size();
    std::string what = row.earlier_lines
                           ? (n == 1 ? std::string("last line") : fmt::format("last {} lines", n))
                           : (n == 1 ? std::string("1 line") : fmt::format("{} lines", n));
    // One line of inline HTML, since a table row cannot span lines: <br> between the lines.
    stderr_cell = fmt::format("<details><summary>{}</summary><code>", what);
    for (size_t i = 0; i < n; ++i) {
      if (i) stderr_cell += "<br>";
      stderr_cell += keep_indent(md_text(row.stderr_lines[i]));
    }
    stderr_cell += "</code></details>";
  }
  return fmt::format("| {} | {} | {:.2f}s | {} | {} |\n", md_text(row.name), md_text(row.ending),
                     row.duration_s, md_text(row.host), stderr_cell);
}

std::string StepSummaryContent::markdown(const std::string& title, const Summary& s,
                                         size_t max_bytes) const {
  // A blank line first: whatever the step wrote before may not have ended its line.
  std::string md = "\n\n### procpool";
  if (!title.empty()) md += ": " + md_text(shown(title, kTextChars));
  md += "\n\n" + verdict(s) + "\n\n" + count_table(s);

  std::string slowest;
  if (slowest_.size() > 1) {  // one job alone is not news
    slowest = "\n#### Slowest jobs\n\n| job | duration |\n| --- | ---: |\n";
    for (const auto& [seconds, name] : slowest_) {
      slowest += fmt::format("| {} | {:.2f}s |\n", md_text(name), seconds);
    }
  }

  if (not_ok_ > 0) {
    std::vector<const Row*> order;
    for (const Row& row : rows_) order.push_back(&row);
    std::sort(order.begin(), order.end(), [](const Row* a, const Row* b) {
      return std::pair(a->rank, a->seq) < std::pair(b->rank, b->seq);
    });
    md +=
        "\n#### Jobs that did not succeed\n\n"
        "| job | how it ended | duration | host | stderr |\n"
        "| --- | --- | ---: | --- | --- |\n";
    constexpr size_t kClosingRoom = 512;  // the "and N more" line
    size_t listed = 0;
    bool cut_for_size = false;
    for (const Row* row : order) {
      std::string line = row_markdown(*row);
      if (md.size() + line.size() + slowest.size() + kClosingRoom > max_bytes) {
        cut_for_size = true;
        break;
      }
      md += line;
      ++listed;
    }
    if (listed < not_ok_) {
      md += fmt::format("\n\xE2\x80\xA6 and {} more that did not succeed", not_ok_ - listed);
      md += cut_for_size ? " (left out to keep this summary within GitHub's size limit; the "
                           "step's log has every job)\n"
                         : " (the step's log has every job)\n";
    }
  }
  return md + slowest;
}

StepSummaryRecorder::StepSummaryRecorder(std::string path, std::string title)
    : path_(std::move(path)), title_(std::move(title)) {
  // O_NONBLOCK only to open: a FIFO nobody reads fails at once (ENXIO) instead of hanging.
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644));
  if (!fd_) {
    int err = errno;
    std::string hint;
    if (err == ENOENT) hint = " (does its directory exist?)";
    if (err == EACCES || err == EROFS) hint = " (it is not writable here)";
    if (err == EISDIR) hint = " (it names a directory)";
    if (err == ENXIO) hint = " (a FIFO nobody reads?)";
    throw UsageError(fmt::format(
        "GITHUB_STEP_SUMMARY={}: cannot open the job summary to append to it: {}{}; unset "
        "GITHUB_STEP_SUMMARY (or pass --ci plain) to run without a job summary",
        visible(path_), std::strerror(err), hint));
  }
  int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd_.get(), F_SETFL, flags & ~O_NONBLOCK);
}

void StepSummaryRecorder::job(const Future& f) {
  content_.add(f.job(), f.result());
}

void StepSummaryRecorder::finish(const Summary& s) {
  if (finished_) return;
  finished_ = true;
  // GitHub drops a step's whole summary past 1 MiB: what the step wrote before (other tools,
  // an earlier procpool) leaves this one less room.
  constexpr uint64_t kGithubLimit = 1 << 20;
  struct stat st {};
  uint64_t used = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  uint64_t room = used + 4096 < kGithubLimit ? kGithubLimit - used - 4096 : 4096;
  size_t budget = static_cast<size_t>(std::min<uint64_t>(StepSummaryContent::kMaxBytes, room));
  // One write, taken back whole when the disk cannot hold all of it: the step's summary keeps
  // whatever was in it before, and never half a table.
  append_record(fd_.get(), content_.markdown(title_, s, budget), label());
}

std::unique_ptr<Recorder> make_step_summary(CiStyle style, const std::string& title) {
  if (style != CiStyle::kGithub) return nullptr;
  const char* path = std::getenv("GITHUB_STEP_SUMMARY");
  if (path == nullptr || *path == '\0') return nullptr;
  return std::make_unique<StepSummaryRecorder>(path, title);
}

}  // namespace procpool
