#include "cli/report.h"

#include <time.h>

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "common/visible_text.h"

namespace procpool {

void Summary::add(const Job& job, const Result& r) {
  if (r.resumed) {
    ++resumed;
    return;
  }
  if (r.flaky()) ++flaky;
  if (r.started_us) {
    slowest.emplace_back(r.duration_s, job.name);
    std::sort(slowest.begin(), slowest.end(), std::greater<>());
    if (slowest.size() > kSlowest) slowest.pop_back();
  }
  if (!r.ok() && r.status != Status::kCancelled && r.status != Status::kSkipped) {
    if (not_ok.size() < kNotOkListed) {
      std::string why = r.exit_code ? fmt::format("exit {}", *r.exit_code)
                        : r.signal  ? signal_name(*r.signal)
                                    : std::string(status_name(r.status));
      if (r.status == Status::kTimeout) why = "timed out";
      if (r.status == Status::kError) why = "could not start";
      not_ok.push_back(fmt::format("{} ({})", job.name, why));
    }
  }
  switch (r.status) {
    case Status::kOk:
      ++ok;
      break;
    case Status::kFailed:
      ++failed;
      break;
    case Status::kTimeout:
      ++timeout;
      break;
    case Status::kCrashed:
      ++crashed;
      break;
    case Status::kCancelled:
      ++cancelled;
      break;
    case Status::kSkipped:
      ++skipped;
      break;
    case Status::kError:
      ++error;
      break;
  }
}

std::vector<std::pair<const char*, uint64_t>> Summary::by_status() const {
  return {{"ok", ok},           {"failed", failed},         {"timed out", timeout},
          {"crashed", crashed}, {"could not start", error}, {"cancelled", cancelled},
          {"skipped", skipped}};
}

std::string Summary::line() const {
  std::string s;
  auto counts = by_status();
  for (size_t i = 0; i < counts.size(); ++i) {
    // ok, failed and timed out always: a clean run says so; the others when they happened.
    if (i >= 3 && counts[i].second == 0) continue;
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", counts[i].second, counts[i].first);
  }
  if (resumed) s += fmt::format(", {} skipped as already succeeded (--resume)", resumed);
  if (flaky) s += fmt::format(" ({} flaky: passed only on a retry)", flaky);
  return s + fmt::format(" in {:.1f}s", wall_s);
}

std::string Summary::details() const {
  std::string out;
  if (slowest.size() > 1) {
    out += "slowest:";
    for (size_t i = 0; i < slowest.size(); ++i) {
      out +=
          fmt::format("{} {} {:.2f}s", i ? "," : "", visible(slowest[i].second), slowest[i].first);
    }
    out += "\n";
  }
  if (!not_ok.empty()) {
    uint64_t more = failures() - not_ok.size();
    out += "not ok: ";
    for (size_t i = 0; i < not_ok.size(); ++i) {
      if (i) out += ", ";
      append_visible(out, not_ok[i]);
    }
    if (more > 0) out += fmt::format(", and {} more", more);
    out += "\n";
  }
  return out;
}

std::string iso_time(int64_t wall_us) {
  time_t secs = static_cast<time_t>(wall_us / 1000000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>((wall_us / 1000) % 1000));
}

int badness_rank(Status s) {
  switch (s) {
    case Status::kCrashed:
      return 0;
    case Status::kTimeout:
      return 1;
    case Status::kError:
      return 2;
    case Status::kFailed:
      return 3;
    default:
      return -1;
  }
}

}  // namespace procpool
