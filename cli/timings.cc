#include "cli/timings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/journal.h"
#include "common/fd.h"
#include "common/job_file.h"

namespace procpool {

namespace {

// Read whole, so a file that is not a report (a device, an endless pipe) must stop somewhere.
// procpool's own JUnit report keeps at most 2 MiB of output per testcase; another tool's may
// keep everything, hence the room.
constexpr size_t kMaxBytes = size_t{1} << 30;

std::string read_whole(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw UsageError(fmt::format("--timings {}: cannot read it: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError(fmt::format(
        "--timings {}: is a directory; name a journal (--journal FILE) or a JUnit XML report",
        path));
  }
  std::string text;
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw UsageError(fmt::format("--timings {}: cannot read it: {}", path, std::strerror(errno)));
    }
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > kMaxBytes) {
      throw UsageError(fmt::format(
          "--timings {}: larger than {} MiB, the most procpool reads for timings; is it a "
          "journal or a JUnit XML report?",
          path, kMaxBytes >> 20));
    }
    text.append(buf, static_cast<size_t>(n));
  }
}

// A duration worth planning by: a finite, non-negative number of seconds.
std::optional<double> usable(std::optional<double> s) {
  if (!s || !std::isfinite(*s) || *s < 0) return std::nullopt;
  return s;
}

// The whole of `text` as a number, as JSON and JUnit's time attribute write one ("1.5", "2",
// "1e-3"); nullopt for anything else ("", "1.5s", "nan", "1,5").
std::optional<double> parse_number(std::string_view text) {
  if (text.empty() || !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// ---- the journal ------------------------------------------------------------------------------

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// `i` at a string's opening quote: the index just past its closing one, or npos.
size_t json_string_end(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// `i` at a value: the index just past it, or npos.
size_t json_value_end(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return json_string_end(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = json_string_end(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
      if (depth == 0) return i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && !is_space(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

// The number member `key` of the JSON object `line` (one json_string_members accepted), or
// nullopt when it has none or its value is not a number (null: the writer had no finite value).
// json_string_members gives strings only, and a JSON parser of its own would cost this file
// seconds of compile time for one number; the line is known to be an object, so walking its
// top-level members is enough. Of repeated keys the last counts, as with the parser.
std::optional<double> json_number_member(std::string_view line, std::string_view key) {
  size_t i = skip_space(line, 0);
  if (i >= line.size() || line[i] != '{') return std::nullopt;
  ++i;
  std::optional<double> found;
  for (;;) {
    i = skip_space(line, i);
    if (i >= line.size()) return std::nullopt;
    if (line[i] == '}') return found;
    if (line[i] == ',') {
      ++i;
      continue;
    }
    if (line[i] != '"') return std::nullopt;
    size_t key_end = json_string_end(line, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    std::string_view k = line.substr(i + 1, key_end - i - 2);
    i = skip_space(line, key_end);
    if (i >= line.size() || line[i] != ':') return std::nullopt;
    i = skip_space(line, i + 1);
    size_t value_end = json_value_end(line, i);
    if (value_end == std::string_view::npos) return std::nullopt;
    if (k == key) found = parse_number(line.substr(i, value_end - i));
    i = value_end;
  }
}

bool is_identity(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A record cut short by a kill during its write, as cli/journal.cc tells one apart: every record
// starts with this, so a torn one is a prefix of it, or starts with it and does not parse.
bool torn_record(std::string_view line) {
  constexpr std::string_view kStart = "{\"identity\":\"";
  return kStart.substr(0, line.size()) == line.substr(0, kStart.size());
}

}  // namespace

// Parsers of the two formats, friends of the Source they fill.
struct TimingsParser {
  using Source = Timings::Source;

  // `strict`: a line that is not a record is an error (--timings), else skipped (--journal).
  static Source journal(std::string_view text, const std::string& path, bool strict) {
    Source src;
    uint64_t n = 0;
    while (!text.empty()) {
      ++n;
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (skip_space(line, 0) == line.size()) continue;
      auto rec = json_string_members(line);
      bool is_record = rec && rec->contains("identity") && rec->contains("status") &&
                       is_identity(rec->at("identity"));
      if (!is_record) {
        if (!strict || torn_record(line)) continue;  // a torn record: lost, like its job
        throw UsageError(fmt::format(
            "--timings {}: line {} is not a procpool journal record, and the file is not JUnit "
            "XML either (that starts with '<'); give a file procpool's --journal or --junit "
            "wrote, or another tool's JUnit XML report",
            path, n));
      }
      // A job that never ran, or could not run or lost its worker part way, says nothing about
      // how long it takes; an earlier record of it may.
      const std::string& status = rec->at("status");
      if (status == "cancelled" || status == "skipped" || status == "error") continue;
      auto s = usable(json_number_member(line, "duration_s"));  // older records have none
      if (!s) continue;
      src.by_identity[rec->at("identity")] = *s;  // later lines are later records: they win
      if (auto it = rec->find("name"); it != rec->end()) src.by_name[it->second] = *s;
    }
    return src;
  }

  static Source junit(std::string_view text, const std::string& path) {
    return JunitScanner(text, path).run();
  }

 private:
  // The few parts of XML a JUnit report uses: elements and their attributes, with comments,
  // CDATA, processing instructions and a DOCTYPE skipped. Only <testcase> and <testsuite>
  // matter; text between tags is never looked at (it holds no '<' in well-formed XML).
  class JunitScanner {
   public:
    JunitScanner(std::string_view s, const std::string& path) : s_(s), path_(path) {}

    Source run() {
      while ((i_ = s_.find('<', i_)) != std::string_view::npos) {
        if (at("<!--")) {
          skip_past("-->", "a comment is not closed");
        } else if (at("<![CDATA[")) {
          skip_past("]]>", "a CDATA section is not closed");
        } else if (at("<?")) {
          skip_past("?>", "a processing instruction is not closed");
        } else if (at("<!")) {
          skip_declaration();
        } else if (at("</")) {
          end_tag();
        } else {
          start_tag();
        }
      }
      if (!seen_root_) fail("holds no XML element", s_.size());
      return finish();
    }

   private:
    struct Named {  // what testcases of one name said, for the match by bare name
      std::string classname;
      double seconds = 0;
      bool ambiguous = false;  // testcases of several classes have this name
    };

    [[noreturn]] void fail(const std::string& what, size_t at) const {
      throw UsageError(
          fmt::format("--timings {}: not a JUnit XML report that can be read: {} "
                      "(at byte {})",
                      path_, what, at + 1));
    }
    bool at(std::string_view prefix) const { return s_.substr(i_, prefix.size()) == prefix; }
    void skip_past(std::string_view end, const char* what) {
      size_t e = s_.find(end, i_);
      if (e == std::string_view::npos) fail(what, i_);
      i_ = e + end.size();
    }
    // <!DOCTYPE ...>, with an internal subset in brackets that may hold '>'.
    void skip_declaration() {
      size_t start = i_;
      int brackets = 0;
      for (i_ += 2; i_ < s_.size(); ++i_) {
        char c = s_[i_];
        if (c == '[') ++brackets;
        if (c == ']') --brackets;
        if (c == '>' && brackets <= 0) {
          ++i_;
          return;
        }
      }
      fail("a <!...> declaration is not closed", start);
    }
    std::string_view name() {
      size_t start = i_;
      while (i_ < s_.size() && !is_space(s_[i_]) && s_[i_] != '/' && s_[i_] != '>' && s_[i_] != '=')
        ++i_;
      return s_.substr(start, i_ - start);
    }
    void end_tag() {
      size_t start = i_;
      i_ += 2;
      std::string_view n = name();
      size_t gt = s_.find('>', i_);
      if (gt == std::string_view::npos) fail("a tag is not closed", start);
      i_ = gt + 1;
      if (n == "testsuite" && !suite_files_.empty()) suite_files_.pop_back();
      if (n == "testcase") flush_testcase();
    }
    // A testcase is counted at its end tag: a <skipped> or <error> inside says it did not run
    // (procpool writes those with time 0, and so do other tools), which is no duration at all.
    void flush_testcase() {
      if (pending_ && !pending_->not_run) {
        testcase(pending_->name, pending_->classname, pending_->file, pending_->time);
      }
      pending_.reset();
    }
    void start_tag() {
      size_t start = i_;
      ++i_;
      std::string_view element = name();
      if (element.empty()) fail("'<' that starts no tag", start);
      std::map<std::string_view, std::string> attrs;
      bool self_closing = false;
      for (;;) {
        i_ = skip_space(s_, i_);
        if (i_ >= s_.size()) fail("a tag is not closed", start);
        if (s_[i_] == '>') {
          ++i_;
          break;
        }
        if (at("/>")) {
          i_ += 2;
          self_closing = true;
          break;
        }
        size_t attr_at = i_;
        std::string_view attr = name();
        i_ = skip_space(s_, i_);
        if (attr.empty() || i_ >= s_.size() || s_[i_] != '=') {
          fail(fmt::format("an attribute of <{}> has no value", element), attr_at);
        }
        i_ = skip_space(s_, i_ + 1);
        if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) {
          fail(fmt::format("the value of attribute {} is not quoted", attr), attr_at);
        }
        size_t close = s_.find(s_[i_], i_ + 1);
        if (close == std::string_view::npos) {
          fail(fmt::format("the value of attribute {} is not closed", attr), attr_at);
        }
        attrs[attr] = decode(s_.substr(i_ + 1, close - i_ - 1));
        i_ = close + 1;
      }
      if (!seen_root_) {
        seen_root_ = true;
        if (element != "testsuites" && element != "testsuite") {
          fail(fmt::format("its first element is <{}>, not <testsuites> or <testsuite>", element),
               start);
        }
      }
      auto attr = [&](std::string_view key) {
        auto it = attrs.find(key);
        return it == attrs.end() ? std::string() : it->second;
      };
      if (element == "testsuite" && !self_closing) {
        // Some tools name the file on the suite only; its testcases inherit it.
        std::string file = attr("file");
        if (file.empty() && !suite_files_.empty()) file = suite_files_.back();
        suite_files_.push_back(std::move(file));
      } else if (element == "testcase") {
        flush_testcase();  // one left open before this one
        std::string file = attr("file");
        if (file.empty() && !suite_files_.empty()) file = suite_files_.back();
        pending_ = Pending{attr("name"), attr("classname"), file, attr("time"), false};
        if (self_closing) flush_testcase();
      } else if ((element == "skipped" || element == "error") && pending_) {
        pending_->not_run = true;
      }
    }
    void testcase(const std::string& name, const std::string& classname, const std::string& file,
                  std::string time) {
      // Whitespace around a number is harmless (XML Schema's xs:decimal collapses it).
      size_t b = skip_space(time, 0), e = time.size();
      while (e > b && is_space(time[e - 1])) --e;
      auto s = usable(parse_number(std::string_view(time).substr(b, e - b)));
      if (!s) return;
      if (!name.empty()) {
        auto [it, added] = named_.try_emplace(name, Named{classname, *s, false});
        if (!added) {
          if (it->second.classname != classname) it->second.ambiguous = true;
          it->second.seconds = *s;  // the same test again (a rerun): the later one wins
        }
        if (!classname.empty()) src_.by_qualified[classname + "." + name] = *s;
      }
      if (!file.empty()) src_.by_file[file] += *s;
      if (!classname.empty()) src_.by_class[classname] += *s;
    }
    Source finish() {
      flush_testcase();
      for (auto& [name, n] : named_) {
        if (!n.ambiguous) src_.by_name[name] = n.seconds;
      }
      return std::move(src_);
    }

    // An attribute's value as the parser would give it: references decoded, and literal tabs and
    // line ends turned into spaces (attribute-value normalisation). An unknown or broken
    // reference is kept as written.
    static std::string decode(std::string_view v) {
      std::string out;
      out.reserve(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (c == '\r') {
          out += ' ';
          if (i + 1 < v.size() && v[i + 1] == '\n') ++i;
          continue;
        }
        if (c == '\t' || c == '\n') {
          out += ' ';
          continue;
        }
        if (c != '&') {
          out += c;
          continue;
        }
        size_t semi = v.find(';', i);
        if (semi == std::string_view::npos || semi - i > 12) {
          out += c;
          continue;
        }
        std::string_view ref = v.substr(i + 1, semi - i - 1);
        if (auto text = reference(ref)) {
          out += *text;
          i = semi;
        } else {
          out += c;
        }
      }
      return out;
    }
    static std::optional<std::string> reference(std::string_view ref) {
      if (ref == "amp") return "&";
      if (ref == "lt") return "<";
      if (ref == "gt") return ">";
      if (ref == "quot") return "\"";
      if (ref == "apos") return "'";
      if (ref.size() < 2 || ref[0] != '#') return std::nullopt;
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || cp == 0 ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return std::nullopt;
      }
      std::string out;
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | cp >> 6);
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | cp >> 12);
        out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | cp >> 18);
        out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
        out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      return out;
    }

    std::string_view s_;
    const std::string& path_;
    size_t i_ = 0;
    bool seen_root_ = false;
    std::vector<std::string> suite_files_;  // per open <testsuite>: the file its testcases get
    std::map<std::string, Named> named_;
    struct Pending {  // the testcase open now, counted at its end tag
      std::string name, classname, file, time;
      bool not_run;  // it holds <skipped> or <error>
    };
    std::optional<Pending> pending_;
    Source src_;
  };
};

bool Timings::Source::empty() const {
  return by_identity.empty() && by_name.empty() && by_qualified.empty() && by_file.empty() &&
         by_class.empty();
}

std::optional<double> Timings::Source::find(const Job& job, const std::string& identity) const {
  // The journal knows the very command; a name may have been given to another one since.
  if (auto it = by_identity.find(identity); it != by_identity.end()) return it->second;
  // A JUnit report: a job per testcase, per class or per test file.
  for (const auto* map : {&by_name, &by_qualified, &by_file, &by_class}) {
    if (auto it = map->find(job.name); it != map->end()) return it->second;
  }
  return std::nullopt;
}

void Timings::add(Source source) {
  if (!source.empty()) sources_.push_back(std::move(source));
}

void Timings::load_file(const std::string& path) {
  std::string text = read_whole(path);
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a UTF-8 byte order mark
  size_t first = skip_space(body, 0);
  if (first < body.size() && body[first] == '<') {
    add(TimingsParser::junit(body, path));
  } else {
    add(TimingsParser::journal(body, path, /*strict=*/true));
  }
}

void Timings::load_journal_if_present(const std::string& path) {
  std::string text;
  try {
    text = read_whole(path);
  } catch (const UsageError&) {
    return;  // missing (a first run), or the recorder will say why it cannot be read
  }
  add(TimingsParser::journal(text, path, /*strict=*/false));
}

std::optional<double> Timings::seconds(const Job& job) const {
  if (sources_.empty()) return std::nullopt;
  std::string identity = job_identity(job);
  for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) {
    if (auto s = it->find(job, identity)) return s;
  }
  return std::nullopt;
}

bool Timings::empty() const {
  return sources_.empty();
}

}  // namespace procpool
