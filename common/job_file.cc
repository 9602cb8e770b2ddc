#include "common/job_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/fd.h"

namespace procpool {

using json = nlohmann::json;

namespace {

const std::vector<std::string> kJobKeys = {"name",    "cmd",     "env",  "cwd",
                                           "timeout", "retries", "needs"};
const std::vector<std::string> kDefaultKeys = {"env", "cwd", "timeout", "retries"};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string type_name(const json& v) {
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

// One step from a container to a member: a key of an object, or an index in an array.
struct PathStep {
  std::string key;   // for an object
  size_t index = 0;  // for an array
  bool is_index = false;
};

// A key given twice in one object: where (the path of that object from the document's root).
struct Duplicate {
  std::vector<PathStep> path;
  std::string key;
};

// Builds the document as nlohmann's own DOM parser does (same containers, same cost), except
// that a key already present in its object is remembered (the first such key): JSON readers
// silently keep one of the two, so what runs could differ from what a reviewer read. Keys are
// compared decoded, so "cmd" and "\u0063md" are the same key. A template argument of
// json::sax_parse, so every event is a direct call.
class StrictBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  json root;
  std::optional<Duplicate> duplicate;  // the first key given twice
  std::string error;                   // the parser's message, when it failed

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(number_integer_t v) { return put(v); }
  bool number_unsigned(number_unsigned_t v) { return put(v); }
  bool number_float(number_float_t v, const string_t&) { return put(v); }
  // Copied, not moved: `v` is the lexer's buffer, which keeps its capacity for the next token.
  bool string(string_t& v) { return put(json(v)); }
  bool binary(binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(string_t& k) {
    auto& members = open_.back().value->get_ref<json::object_t&>();
    auto [it, fresh] = members.try_emplace(k);
    if (!fresh && !duplicate) duplicate = Duplicate{path(), it->first};
    open_.back().key = &it->first;
    slot_ = &it->second;  // a repeated key's later value replaces the earlier (it is refused)
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error = e.what();
    return false;
  }

 private:
  struct Open {
    json* value;                       // an object or array still being read
    const std::string* key = nullptr;  // an object's latest key
  };

  json* place(json&& v) {
    if (open_.empty()) {
      root = std::move(v);
      return &root;
    }
    json* parent = open_.back().value;
    if (parent->is_array()) {
      parent->get_ref<json::array_t&>().push_back(std::move(v));
      return &parent->get_ref<json::array_t&>().back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  // A container's address stays valid while it is open: its parent (an array whose last
  // element it is, or an object's node) is not added to before it is closed.
  bool open(json&& v) {
    open_.push_back(Open{place(std::move(v))});
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }
  // Where the innermost open object is: the steps from the root to it.
  std::vector<PathStep> path() const {
    std::vector<PathStep> steps;
    for (size_t i = 0; i + 1 < open_.size(); ++i) {
      const json& parent = *open_[i].value;
      if (parent.is_array()) {
        steps.push_back(PathStep{"", parent.size() - 1, true});
      } else {
        steps.push_back(PathStep{*open_[i].key});
      }
    }
    return steps;
  }

  std::vector<Open> open_;  // containers being read, outermost first
  json* slot_ = nullptr;    // where the value after the latest key goes
};

// "in "env"" for the steps below a job (or the defaults) to the object holding the duplicate.
std::string describe_steps(const std::vector<PathStep>& steps, size_t from) {
  if (from >= steps.size()) return "";
  std::string out = " in ";
  for (size_t i = from; i < steps.size(); ++i) {
    if (steps[i].is_index) {
      out += fmt::format("[{}]", steps[i].index);
    } else {
      out += fmt::format("{}\"{}\"", i > from ? "." : "", steps[i].key);
    }
  }
  return out;
}

std::string duplicate_message(const std::string& key, const std::string& inside) {
  return fmt::format(
      "duplicate key \"{}\"{} ({}; keep one)", key, inside,
      key == "cmd" ? "the classic way to smuggle a command past review"
                   : "JSON readers disagree on which one counts, so what runs may not be what a "
                     "reviewer read");
}

// "job 3 (\"deploy\")": a job by number, and by name when it has a usable one.
std::string job_label(const json& v, size_t number) {
  std::string label = fmt::format("job {}", number);
  if (v.is_object()) {
    auto it = v.find("name");
    if (it != v.end() && it->is_string() && !it->get_ref<const std::string&>().empty() &&
        it->get_ref<const std::string&>().find('\0') == std::string::npos) {
      label += fmt::format(" (\"{}\")", it->get_ref<const std::string&>());
    }
  }
  return label;
}

// Builds messages that say where: "jobs.json: line 4: job 4 ("build"): ...".
struct Where {
  const std::string& source;
  std::optional<size_t> line;  // for JSON Lines
  std::string what;            // "job 3 (\"build\")" or "defaults"

  [[noreturn]] void fail(const std::string& message) const {
    std::string prefix = source + ": ";
    if (line) prefix += fmt::format("line {}: ", *line);
    throw InputError(prefix + what + ": " + message);
  }
};

// A string that reaches exec or a file name cannot hold a NUL byte (JSON's \u0000): exec would
// cut it there and run something other than what the file says.
// `what()` names the string; called only for the message, so a clean file pays one memchr.
template <typename What>
void check_no_nul(const std::string& s, const What& what, const Where& where,
                  const char* because = "which exec cannot pass") {
  size_t at = s.find('\0');
  if (at != std::string::npos) {
    where.fail(fmt::format("{} holds a NUL byte at offset {}, {}", what(), at, because));
  }
}

// A fixed name for check_no_nul.
auto field(const char* what) {
  return [what] { return std::string(what); };
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The allowed key closest to `key` when it is close enough to be a typo ("comand" -> "cmd",
// "Jobs" -> "jobs"), or "".
std::string closest_key(const std::string& key, const std::vector<std::string>& allowed) {
  std::string hint;
  size_t best = std::max<size_t>(2, key.size() / 2) + 1;
  for (const auto& k : allowed) {
    size_t d = std::min(edit_distance(key, k), edit_distance(lowercase(key), k));
    if (d < best) {
      best = d;
      hint = k;
    }
  }
  return hint;
}

void check_keys(const json& obj, const std::vector<std::string>& allowed, const Where& where) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string best = closest_key(key, allowed);
    std::string hint = best.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", best);
    where.fail(
        fmt::format("unknown key \"{}\"{}; allowed keys: {}", key, hint, fmt::join(allowed, ", ")));
  }
}

std::map<std::string, std::string> read_env(const json& v, const Where& where) {
  if (!v.is_object()) {
    where.fail("\"env\" must be an object of names to strings, not " + type_name(v));
  }
  std::map<std::string, std::string> env;
  for (const auto& [k, val] : v.items()) {
    check_no_nul(k, field("\"env\" variable name"), where);
    if (k.empty() || k.find('=') != std::string::npos) {
      where.fail(fmt::format("\"env\" has an invalid variable name \"{}\"", k));
    }
    if (val.is_string()) {
      check_no_nul(
          val.get_ref<const std::string&>(),
          [&] { return fmt::format("\"env\" value of \"{}\"", k); }, where);
      env[k] = val.get<std::string>();
    } else if (val.is_number() || val.is_boolean()) {
      env[k] = val.dump();  // PORT: 8080 means "8080"
    } else {
      where.fail(
          fmt::format("\"env\" value of \"{}\" must be a string, not {}", k, type_name(val)));
    }
  }
  return env;
}

Millis read_timeout(const json& v, const Where& where) {
  std::optional<Millis> d;
  if (v.is_number()) d = parse_duration(fmt::format("{}", v.get<double>()));
  if (v.is_string()) d = parse_duration(v.get<std::string>());
  if (!d || d->count() <= 0) {
    where.fail(fmt::format("\"timeout\" must be {}, greater than zero (1ms at least); got {}",
                           kDurationForms, v.dump()));
  }
  return *d;
}

int read_retries(const json& v, const Where& where) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000) {
    where.fail("\"retries\" must be a whole number from 0 to 1000; got " + v.dump());
  }
  return v.get<int>();
}

std::string read_cwd(const json& v, const Where& where) {
  if (!v.is_string() || v.get<std::string>().empty()) {
    where.fail("\"cwd\" must be a non-empty string (a directory); got " + v.dump());
  }
  check_no_nul(v.get_ref<const std::string&>(), field("\"cwd\""), where,
               "which no directory name can hold");
  return v.get<std::string>();
}

using Defaults = JobDefaults;

Defaults read_defaults(const json& v, const std::string& source, const Defaults& base) {
  Where where{source, std::nullopt, "\"defaults\""};
  if (!v.is_object()) where.fail("must be an object, not " + type_name(v));
  check_keys(v, kDefaultKeys, where);
  Defaults d = base;
  if (v.contains("env")) {
    for (auto& [k, val] : read_env(v["env"], where)) d.env[k] = val;
  }
  if (v.contains("cwd")) d.cwd = read_cwd(v["cwd"], where);
  if (v.contains("timeout")) d.timeout = read_timeout(v["timeout"], where);
  if (v.contains("retries")) d.retries = read_retries(v["retries"], where);
  return d;
}

Job read_job(const json& v, size_t number, std::optional<size_t> line, const Defaults& defaults,
             const std::string& source, std::vector<bool>& named) {
  Where where{source, line, fmt::format("job {}", number)};
  if (!v.is_object()) {
    where.fail("must be an object like {\"cmd\": \"make test\"}, not " + type_name(v));
  }
  Job job;
  job.id = number;
  if (v.contains("name")) {
    const json& n = v["name"];
    if (!n.is_string() || n.get<std::string>().empty()) {
      where.fail("\"name\" must be a non-empty string; got " + n.dump());
    }
    job.name = n.get<std::string>();
    check_no_nul(job.name, field("\"name\""), where,
                 "which no file name can hold (names become file names: --results, job logs)");
    named.resize(number);
    named[number - 1] = true;
    where.what += fmt::format(" (\"{}\")", job.name);
  }
  check_keys(v, kJobKeys, where);
  if (!v.contains("cmd")) where.fail("has no \"cmd\": say what to run, as a string or an array");
  const json& cmd = v["cmd"];
  if (cmd.is_string()) {
    job.shell = cmd.get<std::string>();
    check_no_nul(job.shell, field("\"cmd\""), where);
    if (job.shell.find_first_not_of(" \t\r\n") == std::string::npos) {
      where.fail("\"cmd\" is empty");
    }
  } else if (cmd.is_array()) {
    if (cmd.empty()) where.fail("\"cmd\" is an empty array");
    for (const auto& a : cmd) {
      if (!a.is_string()) where.fail("\"cmd\" array items must be strings; got " + a.dump());
      check_no_nul(
          a.get_ref<const std::string&>(),
          [&] { return fmt::format("\"cmd\" item {}", job.argv.size() + 1); }, where);
      job.argv.push_back(a.get<std::string>());
    }
    if (job.argv[0].empty()) where.fail("\"cmd\" names an empty program");
  } else {
    where.fail("\"cmd\" must be a string or an array of strings, not " + type_name(cmd));
  }
  job.env = defaults.env;
  if (v.contains("env")) {
    for (auto& [k, val] : read_env(v["env"], where)) job.env[k] = val;
  }
  job.cwd = v.contains("cwd") ? read_cwd(v["cwd"], where) : defaults.cwd;
  job.timeout = v.contains("timeout") ? read_timeout(v["timeout"], where) : defaults.timeout;
  job.retries = v.contains("retries") ? read_retries(v["retries"], where) : defaults.retries;
  job.limits = defaults.limits;
  if (v.contains("needs")) {
    const json& needs = v["needs"];
    if (!needs.is_array())
      where.fail("\"needs\" must be an array of job names; got " + needs.dump());
    for (const auto& n : needs) {
      if (!n.is_string() || n.get<std::string>().empty()) {
        where.fail("\"needs\" items must be job names (strings); got " + n.dump());
      }
      check_no_nul(
          n.get_ref<const std::string&>(),
          [&] { return fmt::format("\"needs\" item {}", job.needs.size() + 1); }, where,
          "which no job name can hold");
      job.needs.push_back(n.get<std::string>());
    }
  }
  if (job.name.empty()) job.name = job.command_text();
  return job;
}

// "parse error at line 3, column 11: syntax error ..." -> "line 3, column 11: syntax error ..."
std::string describe_parse_error(std::string msg, std::optional<size_t> line) {
  if (msg.rfind("[json.exception.", 0) == 0 && msg.find("] ") != std::string::npos) {
    if (msg.find("parse error") == std::string::npos) msg = msg.substr(msg.find("] ") + 2);
  }
  size_t at = msg.find("parse error");
  if (at != std::string::npos) msg = msg.substr(at + std::strlen("parse error"));
  if (msg.rfind(" at ", 0) == 0) msg = msg.substr(4);
  if (msg.rfind(": ", 0) == 0) msg = msg.substr(2);
  if (line) {
    // A JSON Lines record was parsed alone, so its own "line 1" is the file's line `line`.
    if (msg.rfind("line 1, ", 0) == 0) msg = msg.substr(std::strlen("line 1, "));
    msg = fmt::format("line {}, {}", *line, msg);
  }
  return msg;
}

const std::vector<std::string> kTopLevelKeys = {"defaults", "jobs"};

// A top-level member meant as "jobs" or "defaults": "job", "Jobs", "default", holding an array
// or an object. No job key is that close to either.
bool near_top_level_key(const std::string& key, const json& value) {
  std::string k = lowercase(key);
  return (value.is_array() || value.is_object()) &&
         (edit_distance(k, "jobs") <= 1 || edit_distance(k, "defaults") <= 2);
}

// One job object, not {"defaults": ..., "jobs": [...]}: neither key, nor (when it has no "cmd")
// a near miss of one, which is refused naming the key meant rather than as a job's unknown key.
bool looks_like_single_job(const json& v) {
  if (!v.is_object() || v.contains("jobs") || v.contains("defaults")) return false;
  if (v.contains("cmd")) return true;
  for (const auto& [key, value] : v.items()) {
    if (near_top_level_key(key, value)) return false;
  }
  return true;
}

StrictBuilder parse_strict(std::string_view text) {
  StrictBuilder b;
  json::sax_parse(text, &b);
  return b;
}

// Refuses a document that gave a key twice, naming the job (or "defaults") and the key.
void refuse_duplicate(const json& doc, const Duplicate& d, const std::string& source,
                      std::optional<size_t> line, size_t number) {
  const auto& steps = d.path;
  auto in_job = [&](const json& job, size_t n, size_t from) {
    Where{source, line, job_label(job, n)}.fail(
        duplicate_message(d.key, describe_steps(steps, from)));
  };
  if (line) in_job(doc, number, 0);  // a JSON Lines record is one job
  if (doc.is_array() && !steps.empty() && steps[0].is_index) {
    in_job(doc[steps[0].index], steps[0].index + 1, 1);
  }
  if (looks_like_single_job(doc)) in_job(doc, 1, 0);
  if (steps.empty()) {
    throw InputError(fmt::format("{}: {}", source, "top-level " + duplicate_message(d.key, "")));
  }
  if (steps[0].key == "jobs" && steps.size() > 1 && steps[1].is_index && doc["jobs"].is_array()) {
    in_job(doc["jobs"][steps[1].index], steps[1].index + 1, 2);
  }
  if (steps[0].key == "defaults") {
    Where{source, line, "\"defaults\""}.fail(duplicate_message(d.key, describe_steps(steps, 1)));
  }
  throw InputError(
      fmt::format("{}: {}", source, duplicate_message(d.key, describe_steps(steps, 0))));
}

std::vector<Job> read_jobs_array(const json& jobs, const Defaults& defaults,
                                 const std::string& source, std::vector<bool>& named) {
  std::vector<Job> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    out.push_back(read_job(jobs[i], i + 1, std::nullopt, defaults, source, named));
  }
  return out;
}

std::vector<Job> parse_json_lines(std::string_view text, const std::string& source,
                                  const Defaults& base, std::vector<bool>& named) {
  std::vector<Job> out;
  size_t line_no = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    ++line_no;
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    StrictBuilder parsed = parse_strict(line);
    if (!parsed.error.empty()) {
      throw InputError(source + ": " + describe_parse_error(parsed.error, line_no));
    }
    if (parsed.duplicate) {
      refuse_duplicate(parsed.root, *parsed.duplicate, source, line_no, out.size() + 1);
    }
    out.push_back(read_job(parsed.root, out.size() + 1, line_no, base, source, named));
  }
  return out;
}

void check_unique_names(const std::vector<Job>& jobs, const std::string& source,
                        const std::vector<bool>& named) {
  std::map<std::string, uint64_t> seen;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i >= named.size() || !named[i]) continue;
    auto [it, fresh] = seen.emplace(jobs[i].name, jobs[i].id);
    if (!fresh) {
      throw InputError(fmt::format(
          "{}: jobs {} and {} are both named \"{}\": names must be unique (they identify jobs in "
          "output, logs and reports)",
          source, it->second, jobs[i].id, jobs[i].name));
    }
  }
}

// Every name in "needs" is a named job, and the graph has no cycle (reported as a -> b -> a).
void check_dependencies(const std::vector<Job>& jobs, const std::string& source,
                        const std::vector<bool>& named) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i < named.size() && named[i]) index[jobs[i].name] = i;
  }
  for (const Job& job : jobs) {
    for (const auto& need : job.needs) {
      if (!index.count(need)) {
        throw InputError(fmt::format(
            "{}: job {} (\"{}\") needs \"{}\", but no job has that name (needs refer to the "
            "\"name\" of another job)",
            source, job.id, job.name, need));
      }
      if (need == job.name) {
        throw InputError(fmt::format("{}: job {} (\"{}\") needs itself", source, job.id, job.name));
      }
    }
  }
  // Depth-first search with colours; the grey path is the cycle when an edge reaches back to it.
  // Iterative, with an explicit stack: a generated chain of 100,000 steps must not overflow.
  enum Colour { kWhite, kGrey, kBlack };
  std::vector<Colour> colour(jobs.size(), kWhite);
  std::vector<std::pair<size_t, size_t>> path;  // (job, index of the next need to follow)
  for (size_t root = 0; root < jobs.size(); ++root) {
    if (colour[root] != kWhite) continue;
    colour[root] = kGrey;
    path.push_back({root, 0});
    while (!path.empty()) {
      auto& [i, next] = path.back();
      if (next == jobs[i].needs.size()) {
        colour[i] = kBlack;
        path.pop_back();
        continue;
      }
      size_t j = index[jobs[i].needs[next++]];
      if (colour[j] == kGrey) {
        std::string cycle;
        auto from = std::find_if(path.begin(), path.end(), [&](auto& p) { return p.first == j; });
        for (auto it = from; it != path.end(); ++it) cycle += jobs[it->first].name + " -> ";
        throw InputError(
            fmt::format("{}: the jobs' needs form a cycle: {}{}", source, cycle, jobs[j].name));
      }
      if (colour[j] == kWhite) {
        colour[j] = kGrey;
        path.push_back({j, 0});
      }
    }
  }
}

}  // namespace

std::vector<Job> parse_job_file(std::string_view text, const std::string& source,
                                const JobDefaults& base) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  std::vector<Job> jobs;
  std::vector<bool> named;  // which jobs were given a name (only those must be unique)
  json doc;
  bool whole = true;
  StrictBuilder parsed = parse_strict(text);
  if (parsed.error.empty()) {
    doc = std::move(parsed.root);
    if (parsed.duplicate) refuse_duplicate(doc, *parsed.duplicate, source, std::nullopt, 1);
  } else {
    // Not one JSON document. If its first line is a JSON object by itself, it is JSON Lines.
    size_t first = text.find_first_not_of(" \t\r\n");
    size_t nl = text.find('\n', first);
    std::string_view first_line =
        text.substr(first, nl == std::string_view::npos ? nl : nl - first);
    if (text[first] == '{' && json::accept(first_line)) {
      whole = false;
      jobs = parse_json_lines(text, source, base, named);
    } else {
      throw InputError(source + ": " + describe_parse_error(parsed.error, std::nullopt));
    }
  }
  if (whole) {
    if (doc.is_array()) {
      jobs = read_jobs_array(doc, base, source, named);
    } else if (looks_like_single_job(doc)) {
      jobs.push_back(read_job(doc, 1, std::nullopt, base, source, named));
    } else if (doc.is_object()) {
      for (const auto& [key, value] : doc.items()) {
        if (key != "jobs" && key != "defaults") {
          std::string best = closest_key(key, kTopLevelKeys);
          std::string hint = best.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", best);
          throw InputError(fmt::format(
              "{}: unknown top-level key \"{}\"{}; the file takes \"defaults\" and \"jobs\"",
              source, key, hint));
        }
      }
      if (!doc.contains("jobs") || !doc["jobs"].is_array()) {
        throw InputError(source + ": \"jobs\" must be an array of job objects");
      }
      Defaults defaults =
          doc.contains("defaults") ? read_defaults(doc["defaults"], source, base) : base;
      jobs = read_jobs_array(doc["jobs"], defaults, source, named);
    } else {
      throw InputError(source +
                       ": expected a JSON array of jobs, an object {\"defaults\": {...}, "
                       "\"jobs\": [...]}, or one job object per line; got " +
                       type_name(doc));
    }
  }
  check_unique_names(jobs, source, named);
  check_dependencies(jobs, source, named);
  return jobs;
}

std::optional<std::map<std::string, std::string>> json_string_members(std::string_view text) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object()) return std::nullopt;
  std::map<std::string, std::string> members;
  for (const auto& [key, value] : v.items()) {
    if (value.is_string()) members.emplace(key, value.get<std::string>());
  }
  return members;
}

bool looks_like_command_lines(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] == '[' || text[first] == '{') return false;
  size_t seen = 0;  // lines looked at: the first few say enough
  for (size_t start = 0; start < text.size() && seen < 20;) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t at = line.find_first_not_of(" \t\r");
    if (at == std::string_view::npos) continue;
    ++seen;
    auto c = static_cast<unsigned char>(line[at]);
    if (!std::isalnum(c) && std::string_view("/.~$_(#").find(line[at]) == std::string_view::npos) {
      return false;
    }
    for (char ch : line) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 && ch != '\t' && ch != '\r') return false;
    }
  }
  return seen > 0;
}

void apply_defaults(Job& job, const JobDefaults& defaults) {
  job.env = defaults.env;
  job.cwd = defaults.cwd;
  job.timeout = defaults.timeout;
  job.retries = defaults.retries;
  job.limits = defaults.limits;
}

namespace {

[[noreturn]] void not_a_job_file(const std::string& shown, const std::string& text, size_t at) {
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  throw InputError(fmt::format(
      "{} is not text: byte {} (line {}) is a NUL byte, which no JSON job file holds. Is it a "
      "job file? A job file is JSON or JSON Lines; for one command per line use --lines",
      shown, at + 1, line));
}

}  // namespace

std::string read_input(const std::string& path) {
  const std::string shown =
      path == "-" ? std::string("the job file on stdin") : fmt::format("job file '{}'", path);
  Fd opened;
  int fd = STDIN_FILENO;
  if (path != "-") {
    opened.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!opened) {
      throw InputError(fmt::format("cannot read job file '{}': {}", path, std::strerror(errno)));
    }
    fd = opened.get();
  }
  const std::string too_large = fmt::format(
      "{} is larger than {}, the most procpool reads (it reads a job file whole, and parses it, "
      "before anything runs): is it a job file, or a stream that never ends? For a stream of "
      "commands, one per line, use --lines",
      shown, fmt::format("{} MiB", kMaxJobFileBytes >> 20));
  std::string text;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > kMaxJobFileBytes) throw InputError(too_large);
    text.reserve(static_cast<size_t>(st.st_size));  // one allocation, not a doubling series
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw InputError(fmt::format("cannot read {}: {}", shown, std::strerror(errno)));
    }
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > kMaxJobFileBytes) throw InputError(too_large);
    // Checked as it arrives: /dev/zero or a binary file is refused at its first chunk.
    if (const void* nul = std::memchr(chunk, '\0', static_cast<size_t>(n))) {
      size_t at = text.size() + static_cast<size_t>(static_cast<const char*>(nul) - chunk);
      text.append(chunk, static_cast<size_t>(n));
      not_a_job_file(shown, text, at);
    }
    text.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace procpool
