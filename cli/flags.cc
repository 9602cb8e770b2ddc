#include "cli/flags.h"

#include <string.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdlib>

#include <fmt/format.h>

#include "common/duration.h"

namespace procpool {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string::npos ? at : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

// A whole non-negative decimal number filling all of `text`, or -1.
double number(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  return *end == '\0' && std::isfinite(v) ? v : -1;
}

}  // namespace

bool HaltPolicy::triggered(uint64_t failed, uint64_t succeeded, uint64_t total) const {
  if (when == When::kNever) return false;
  uint64_t n = count == Count::kFail      ? failed
               : count == Count::kSuccess ? succeeded
                                          : failed + succeeded;
  if (n == 0) return false;
  if (!percent) return static_cast<double>(n) >= threshold;
  return total > 0 && 100.0 * static_cast<double>(n) / static_cast<double>(total) >= threshold;
}

HaltPolicy parse_halt(const std::string& text) {
  const char* forms =
      "accepted forms: never, now|soon,fail=N, now|soon,fail=N%, now|soon,success=N[%], "
      "now|soon,done=N[%] (for example --halt now,fail=1)";
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("--halt {}: {}; {}", text, why, forms));
  };
  HaltPolicy p;
  if (text == "never") return p;
  auto parts = split(text, ',');
  if (parts.size() != 2) throw bad("expected WHEN,WHAT=N");
  if (parts[0] == "now") {
    p.when = HaltPolicy::When::kNow;
  } else if (parts[0] == "soon") {
    p.when = HaltPolicy::When::kSoon;
  } else {
    throw bad("'" + parts[0] + "' is not now or soon");
  }
  auto eq = parts[1].find('=');
  if (eq == std::string::npos) throw bad("expected fail=N, success=N or done=N");
  std::string what = parts[1].substr(0, eq), value = parts[1].substr(eq + 1);
  if (what == "fail") {
    p.count = HaltPolicy::Count::kFail;
  } else if (what == "success") {
    p.count = HaltPolicy::Count::kSuccess;
  } else if (what == "done") {
    p.count = HaltPolicy::Count::kDone;
  } else {
    throw bad("'" + what + "' is not fail, success or done");
  }
  if (!value.empty() && value.back() == '%') {
    p.percent = true;
    value.pop_back();
  }
  p.threshold = number(value);
  if (p.threshold <= 0 || (p.percent && p.threshold > 100) ||
      (!p.percent && p.threshold != std::floor(p.threshold))) {
    throw bad("'" + parts[1].substr(eq + 1) + "' is not a whole number >= 1 or a percentage");
  }
  return p;
}

int parse_signal(const std::string& text) {
  double n = number(text);
  if (n >= 1 && n < NSIG && n == std::floor(n)) return static_cast<int>(n);
  std::string name = text;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev && name == abbrev) return sig;
  }
  return -1;
}

std::vector<StopStep> parse_term_seq(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format(
        "--term-seq {}: {}; expected signals with the grace between them, like TERM,200ms,KILL "
        "or INT,1s,TERM,2s,KILL",
        text, why));
  };
  auto parts = split(text, ',');
  if (parts.size() % 2 == 0) throw bad("it must start and end with a signal");
  std::vector<StopStep> steps;
  for (size_t i = 0; i < parts.size(); i += 2) {
    int sig = parse_signal(parts[i]);
    if (sig < 0) throw bad("'" + parts[i] + "' is not a signal");
    Millis grace{0};
    if (i + 1 < parts.size()) {
      auto d = parse_duration(parts[i + 1]);
      if (!d) throw bad("'" + parts[i + 1] + "' is not a duration");
      grace = *d;
    }
    steps.push_back({sig, grace});
  }
  if (steps.back().signal != SIGKILL) {
    steps.back().grace = Millis(1000);
    steps.push_back({SIGKILL, Millis(0)});
  }
  return steps;
}

uint64_t parse_size(const std::string& flag, const std::string& text) {
  std::string digits = text;
  double scale = 1;
  if (!digits.empty()) {
    char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
    if (unit == 'B') {
      digits.pop_back();
      unit = digits.empty() ? 0 : static_cast<char>(std::toupper(digits.back()));
    }
    const char* units = "KMGT";
    if (const char* at = unit ? std::strchr(units, unit) : nullptr) {
      scale = std::pow(1024.0, static_cast<double>(at - units + 1));
      digits.pop_back();
    }
  }
  double v = number(digits);
  if (v <= 0) {
    throw UsageError(fmt::format(
        "{} {}: expected a size in bytes with an optional K, M, G or T suffix (512M, 2G)", flag,
        text));
  }
  return static_cast<uint64_t>(v * scale);
}

LoadLimit parse_load(const std::string& text) {
  auto bad = [&] {
    return UsageError(fmt::format(
        "--load {}: expected the load average below which jobs start (4, 2.5), a percentage of "
        "the CPUs of the host they run on (100%: one per CPU), or +N / -N for N more or fewer "
        "than its CPUs",
        text));
  };
  if (text.empty()) throw bad();
  if (text.back() == '%') {
    double v = number(text.substr(0, text.size() - 1));
    if (v < 0 || v > 1e6) throw bad();
    return {v / 100, 0};
  }
  if (text[0] == '+' || text[0] == '-') {
    double v = number(text.substr(1));
    if (v < 0 || v > 1e6) throw bad();
    return {1, text[0] == '-' ? -v : v};
  }
  double v = number(text);
  if (v < 0 || v > 1e9) throw bad();
  return {0, v};
}

Millis parse_duration_flag(const std::string& flag, const std::string& text, bool allow_zero) {
  auto d = parse_duration(text);
  if (!d || (!allow_zero && d->count() == 0)) {
    throw UsageError(fmt::format("{} {}: expected {}{}", flag, text, kDurationForms,
                                 allow_zero ? "" : ", greater than zero"));
  }
  return *d;
}

double parse_timeout_percent(const std::string& text) {
  double v = text.size() > 1 && text.back() == '%' ? number(text.substr(0, text.size() - 1)) : -1;
  if (v <= 0 || v > 1e9) {
    throw UsageError(fmt::format(
        "--timeout {}: expected {}, or a percentage greater than zero of the median run time "
        "of the jobs that succeeded so far (200%)",
        text, kDurationForms));
  }
  return v / 100;
}

int parse_jobs(const std::string& text, int cpus) {
  std::string digits = text;
  bool percent = !digits.empty() && digits.back() == '%';
  if (percent) digits.pop_back();
  int sign = 0;  // +N, -N: CPUs more or fewer
  if (!percent && !digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    sign = digits[0] == '+' ? 1 : -1;
    digits.erase(0, 1);
  }
  double v = number(digits);
  if (v < 0 || v != std::floor(v) || v > 100000) {
    throw UsageError(fmt::format(
        "-j {}: expected a number of jobs at once (4), a percentage of the {} CPUs (50%), +N or "
        "-N for N more or fewer than the CPUs, or 0 for as many as possible",
        text, cpus));
  }
  if (percent) return std::max(1, static_cast<int>(std::lround(v * cpus / 100.0)));
  if (sign) return std::max(1, cpus + sign * static_cast<int>(v));
  return v == 0 ? kAsManyAsPossible : static_cast<int>(v);
}

std::vector<Status> parse_retry_on(const std::string& text) {
  std::vector<Status> out;
  for (const auto& part : split(text, ',')) {
    if (part == "failed") {
      out.push_back(Status::kFailed);
    } else if (part == "timeout") {
      out.push_back(Status::kTimeout);
    } else if (part == "crashed") {
      out.push_back(Status::kCrashed);
    } else {
      throw UsageError(fmt::format(
          "--retry-on {}: '{}' is not one of failed, timeout, crashed (give any of them, "
          "comma-separated)",
          text, part));
    }
  }
  return out;
}

}  // namespace procpool
