// What to run, and how it ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <procpool/output.h>

namespace procpool {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// One step of stopping a process group: send `signal`, then wait `grace` before the next step.
struct StopStep {
  int signal{};
  Millis grace{};
};
// TERM, 200 ms, KILL: polite first, certain after.
std::vector<StopStep> default_stop_sequence();
// How long a whole stop sequence may take: the sum of its graces.
Millis stop_sequence_length(const std::vector<StopStep>& steps);

// Per-job resource limits, set in the job's process before it runs.
struct Limits {
  std::optional<uint64_t> memory_bytes;  // RLIMIT_AS: address space
  std::optional<Millis> cpu{};           // RLIMIT_CPU: CPU time (SIGXCPU, then SIGKILL)
  std::optional<int> nice{};             // scheduling niceness
  bool any() const { return memory_bytes || cpu || nice; }
};

// What to run. Exactly one of `argv` (exec'd directly) and `shell` (run by /bin/sh -c) is set.
struct Job {
  uint64_t id = 0;                           // 1-based position in the batch; unique per pool
  std::string name{};                        // shown to people; the command when none was given
  std::vector<std::string> argv{};           // exec'd directly when non-empty
  std::string shell{};                       // run through /bin/sh -c when argv is empty
  std::map<std::string, std::string> env{};  // added to (overriding) the inherited environment
  std::string cwd{};                         // working directory; empty = inherit
  std::optional<Millis> timeout{};           // wall-clock limit per attempt
  int retries = 0;                           // extra attempts after a failed one
  Limits limits{};                           // resource limits of each attempt
  // The bytes of its stdin, read by the command as a file (each attempt from the start);
  // null: /dev/null. Shared, so copies of the job never copy the bytes.
  std::shared_ptr<const std::string> input{};
  // Offsets in `shell` where the number of the slot that runs it goes, each attempt its own
  // ({%} of a map template, which is known only when a worker takes the job).
  std::vector<size_t> slot_spots{};
  // Names of jobs that must succeed before this one starts: honoured by the CLI's job files;
  // the pool refuses a job that has any (it does not order jobs).
  std::vector<std::string> needs{};

  // `shell` as the worker in `slot` runs it: the slot's number at each of slot_spots.
  std::string shell_in_slot(int slot) const;
  // The command as one line of text, for headers, logs and JSON.
  std::string command_text() const;
};

enum class Status { kOk, kFailed, kTimeout, kCrashed, kCancelled, kSkipped, kError };

// "ok", "failed", "timeout", "crashed", "cancelled", "skipped", "error".
const char* status_name(Status s);
// "SIGKILL" for 9, "SIG42" for numbers without a name.
std::string signal_name(int sig);

// How a job ended (its last attempt). A plain value: copies are cheap (the output's bytes are
// shared, not copied: common/output.h) and each stays valid as long as it is kept.
struct Result {
  Status status = Status::kError;
  std::optional<int> exit_code;     // set when the command exited
  std::optional<int> signal;        // set when the command (or its worker) died by a signal
  std::string error;                // why, when it could not run or its worker was lost
  int attempts = 0;                 // how many times it was started
  int64_t started_us = 0;           // wall clock (µs since the epoch) of the last attempt's start
  int64_t ended_us = 0;             // wall clock of its end
  double duration_s = 0;            // monotonic duration of the last attempt
  int64_t worker_pid = 0;           // the worker that ran it
  std::string host;                 // where that worker runs
  double user_s = 0, system_s = 0;  // CPU time of the command (rusage)
  int64_t max_rss_kb = 0;           // peak resident set size of the command
  Output output;                    // what it printed, in arrival order, stream by stream
  bool resumed = false;  // not run (status skipped): the journal says it already succeeded
  bool halted = false;   // cancelled while running because halt_when said Halt::kNow

  bool ok() const { return status == Status::kOk; }
  // Succeeded, but only after a failed attempt: worth a look even though the batch passed.
  bool flaky() const { return ok() && attempts > 1; }
};

// How `job` ended, in words: "exit 3", "SIGSEGV", "timed out after 5s", "not started", why it
// could not run. The one description of an ending, for reports and JobError.
std::string ending_text(const Job& job, const Result& r);

// A job that did not succeed, as an exception (Future::value_or_throw): it carries a copy of
// the job's Result (status, exit code, output...) and the job's name. what() reads
// `job "build" failed: exit 3`. Copies are cheap and never throw.
class JobError : public std::runtime_error {
 public:
  JobError(const Job& job, Result result);
  const Result& result() const noexcept { return d_->result; }
  const std::string& job_name() const noexcept { return d_->job_name; }

 private:
  struct Detail {
    std::string job_name;
    Result result;
  };
  std::shared_ptr<const Detail> d_;
};

}  // namespace procpool
