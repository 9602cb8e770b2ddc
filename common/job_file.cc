#include "common/job_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

void check_keys(const json& obj, const std::vector<std::string>& allowed, const Where& where) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    // Suggest the closest allowed key when it is close enough to be a typo ("comand" -> "cmd").
    std::string hint;
    size_t best = std::max<size_t>(2, key.size() / 2) + 1;
    for (const auto& k : allowed) {
      size_t d = edit_distance(key, k);
      if (d < best) {
        best = d;
        hint = fmt::format(" (did you mean \"{}\"?)", k);
      }
    }
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
    if (k.empty() || k.find('=') != std::string::npos) {
      where.fail(fmt::format("\"env\" has an invalid variable name \"{}\"", k));
    }
    if (val.is_string()) {
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
    named.resize(number);
    named[number - 1] = true;
    where.what += fmt::format(" (\"{}\")", job.name);
  }
  check_keys(v, kJobKeys, where);
  if (!v.contains("cmd")) where.fail("has no \"cmd\": say what to run, as a string or an array");
  const json& cmd = v["cmd"];
  if (cmd.is_string()) {
    job.shell = cmd.get<std::string>();
    if (job.shell.find_first_not_of(" \t\r\n") == std::string::npos) {
      where.fail("\"cmd\" is empty");
    }
  } else if (cmd.is_array()) {
    if (cmd.empty()) where.fail("\"cmd\" is an empty array");
    for (const auto& a : cmd) {
      if (!a.is_string()) where.fail("\"cmd\" array items must be strings; got " + a.dump());
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
      job.needs.push_back(n.get<std::string>());
    }
  }
  if (job.name.empty()) job.name = job.command_text();
  return job;
}

// "parse error at line 3, column 11: syntax error ..." -> "line 3, column 11: syntax error ..."
std::string describe_parse_error(const json::parse_error& e, std::optional<size_t> line) {
  std::string msg = e.what();
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

bool looks_like_single_job(const json& v) {
  return v.is_object() && !v.contains("jobs") && !v.contains("defaults");
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
    json v;
    try {
      v = json::parse(line);
    } catch (const json::parse_error& e) {
      throw InputError(source + ": " + describe_parse_error(e, line_no));
    }
    out.push_back(read_job(v, out.size() + 1, line_no, base, source, named));
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
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // Not one JSON document. If its first line is a JSON object by itself, it is JSON Lines.
    size_t first = text.find_first_not_of(" \t\r\n");
    size_t nl = text.find('\n', first);
    std::string_view first_line =
        text.substr(first, nl == std::string_view::npos ? nl : nl - first);
    if (text[first] == '{' && json::accept(first_line)) {
      whole = false;
      jobs = parse_json_lines(text, source, base, named);
    } else {
      throw InputError(source + ": " + describe_parse_error(e, std::nullopt));
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
          throw InputError(fmt::format(
              "{}: unknown top-level key \"{}\"; the file takes \"defaults\" and \"jobs\"", source,
              key));
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

void apply_defaults(Job& job, const JobDefaults& defaults) {
  job.env = defaults.env;
  job.cwd = defaults.cwd;
  job.timeout = defaults.timeout;
  job.retries = defaults.retries;
  job.limits = defaults.limits;
}

std::string read_input(const std::string& path) {
  if (path == "-") return read_all(STDIN_FILENO);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw InputError(fmt::format("cannot read job file '{}': {}", path, std::strerror(errno)));
  }
  try {
    return read_all(fd.get());
  } catch (const std::system_error& e) {
    throw InputError(fmt::format("cannot read job file '{}': {}", path, e.code().message()));
  }
}

}  // namespace procpool
