// Parsing the values of command-line flags that take more than a number. Each parser throws
// UsageError with a message naming the flag, what it got and the forms it accepts.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <procpool/job.h>
#include <procpool/start_gate.h>
#include "common/messages.h"

namespace procpool {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// GNU parallel's --halt: when to stop the batch early, and how.
struct HaltPolicy {
  enum class When { kNever, kSoon, kNow };  // soon: start nothing new; now: also stop running
  enum class Count { kFail, kSuccess, kDone };
  When when = When::kNever;
  Count count = Count::kFail;
  double threshold = 1;  // jobs, or percent of the batch when `percent`
  bool percent = false;

  // Whether the batch must stop, given what has finished so far out of `total` jobs.
  bool triggered(uint64_t failed, uint64_t succeeded, uint64_t total) const;
};

// "never", "now,fail=1", "soon,fail=3", "now,fail=10%", "now,success=1", "soon,done=50%".
HaltPolicy parse_halt(const std::string& text);
// "TERM,200ms,KILL": signals (TERM, SIGTERM or 15) with the grace between them. KILL is added
// at the end when missing, so a job can never outlive its stop.
std::vector<StopStep> parse_term_seq(const std::string& text);
// "512M", "2G", "1048576", "64K": bytes.
uint64_t parse_size(const std::string& flag, const std::string& text);
// GNU parallel's --load: "4", "2.5", "100%" (of the host's CPUs), "+2" or "-1" (CPUs more or
// fewer than the host has).
LoadLimit parse_load(const std::string& text);
// A duration flag value (see kDurationForms); zero allowed only when `allow_zero`.
Millis parse_duration_flag(const std::string& flag, const std::string& text, bool allow_zero);
// GNU parallel's relative --timeout: "200%" of the median run time, as a factor (2.0).
double parse_timeout_percent(const std::string& text);
// -j 0, as GNU parallel means it: every job at once. The pool starts workers only as jobs wait
// for one, and no more than the descriptor and process limits allow (it warns when those cut
// it short), so this is a ceiling, not a cost.
inline constexpr int kAsManyAsPossible = 1024;
// "N", "N%" of the CPUs, "+N"/"-N" CPUs more or fewer (at least 1), or 0: kAsManyAsPossible.
int parse_jobs(const std::string& text, int cpus);
// "failed,timeout,crashed" (any subset).
std::vector<Status> parse_retry_on(const std::string& text);
// "TERM", "SIGTERM", "15" -> 15; -1 when not a signal.
int parse_signal(const std::string& text);

}  // namespace procpool
