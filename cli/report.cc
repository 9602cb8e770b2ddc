#include "cli/report.h"

#include <time.h>

#include <fmt/format.h>

namespace procpool {

void Summary::add(const Result& r) {
  if (r.flaky()) ++flaky;
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

std::string Summary::line() const {
  std::string s = fmt::format("{} ok, {} failed, {} timed out", ok, failed, timeout);
  if (crashed) s += fmt::format(", {} crashed", crashed);
  if (error) s += fmt::format(", {} could not start", error);
  if (cancelled) s += fmt::format(", {} cancelled", cancelled);
  if (skipped) s += fmt::format(", {} skipped", skipped);
  if (flaky) s += fmt::format(" ({} flaky: passed only on a retry)", flaky);
  return s + fmt::format(" in {:.1f}s", wall_s);
}

std::string iso_time(int64_t wall_us) {
  time_t secs = static_cast<time_t>(wall_us / 1000000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>((wall_us / 1000) % 1000));
}

}  // namespace procpool
