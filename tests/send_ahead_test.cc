// Jobs sent ahead (PoolOptions::send_ahead, Task::ahead): while recent jobs ran short, a busy
// worker is sent its next job, which it starts the moment its job ends (or hands back unstarted,
// Ended kReturned); the coordinator withdraws it (Withdraw) behind a job that runs long, and
// stops, halts and lost workers take it back unstarted.
//
//   worker     `procpool worker` driven frame by frame by the test, as its coordinator: when a
//              task sent ahead starts, when it is handed back, that a withdrawal or a kill of a
//              queued task never starts it. Fully deterministic: nothing is sent ahead by chance.
//   runs       `procpool run` on real commands: every job once, halts that start nothing after
//              a failure, a long job that does not hold back the one behind it, a worker lost
//              while it held a job ahead.
//   pool       ProcessPool: stop() of a job sent ahead, and which send_ahead sends what.
//
// Whether the coordinator sends a job ahead depends on how long recent jobs ran (under 5 ms), so
// the cases about a particular job sent ahead read the coordinator's debug log (-v, or a log
// handler) to see that it was, and run again (a few rounds at most) when it was not; what they
// assert about the outcome holds in every round. No case asserts a duration.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <procpool/logging.h>
#include <procpool/pool.h>
#include "common/fd.h"
#include "common/frame.h"
#include "common/messages.h"
#include "common/worker_process.h"
#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/pools.h"
#include "tests/support/process_checks.h"

namespace procpool::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// How many runs a case makes, at most, before it gives up on seeing a job sent ahead.
constexpr int kRounds = 4;
// Bounds every wait: a hang fails the case instead of blocking ctest.
constexpr auto kNoHang = 60s;

// The failing job among quick ones: it runs a few ms, so the coordinator hears it started, and
// sends the next job ahead of it, before it ends (an `exit 3` alone often ends first).
const std::string kFailure = "sleep 0.005; exit 3";

// A shell snippet that waits (bounded, about 20 s) until `path` exists: the job waits for the
// test's signal, never for time to pass.
std::string wait_for(const std::string& path) {
  return "i=0; while [ ! -e " + path + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ";
}

// ---- the coordinator's debug log ----------------------------------------------------------------

// One frame line of the debug log: "worker 123 gets {...}", "worker 123 gets ahead: {...}",
// "worker 123 sent {...}" (with "procpool: debug: " before it on stderr).
struct FrameLine {
  enum Kind { kGets, kGetsAhead, kSent };
  long worker = 0;
  Kind kind = kGets;
  json msg;
};

std::vector<FrameLine> frame_lines(const std::string& log) {
  static const std::regex line_re(R"(worker (\d+) (gets ahead: |gets |sent )(\{.*\})$)");
  std::vector<FrameLine> out;
  for (const std::string& line : lines(log)) {
    std::smatch m;
    if (!std::regex_search(line, m, line_re)) continue;
    FrameLine f;
    f.worker = std::stol(m[1].str());
    f.kind = m[2] == "sent "   ? FrameLine::kSent
             : m[2] == "gets " ? FrameLine::kGets
                               : FrameLine::kGetsAhead;
    try {
      f.msg = json::parse(m[3].str());
    } catch (const json::exception&) {
      continue;  // not a frame (a job's name that looks like one)
    }
    out.push_back(std::move(f));
  }
  return out;
}

size_t count_ahead(const std::vector<FrameLine>& log) {
  return static_cast<size_t>(std::count_if(
      log.begin(), log.end(), [](const FrameLine& f) { return f.kind == FrameLine::kGetsAhead; }));
}

// The job with `id` was sent ahead to some worker.
bool sent_ahead(const std::vector<FrameLine>& log, uint64_t id) {
  return std::any_of(log.begin(), log.end(), [&](const FrameLine& f) {
    return f.kind == FrameLine::kGetsAhead && f.msg.value("id", uint64_t{0}) == id;
  });
}

// A worker handed the job with `id` back unstarted.
bool handed_back(const std::vector<FrameLine>& log, uint64_t id) {
  return std::any_of(log.begin(), log.end(), [&](const FrameLine& f) {
    return f.kind == FrameLine::kSent && f.msg.value("t", "") == "end" &&
           f.msg.value("how", "") == "returned" && f.msg.value("id", uint64_t{0}) == id;
  });
}

// Start frames `worker` sent after it reported the end of job `id` (its run, not a hand-back).
std::vector<uint64_t> started_after_end(const std::vector<FrameLine>& log, long worker,
                                        uint64_t id) {
  std::vector<uint64_t> started;
  bool ended = false;
  for (const FrameLine& f : log) {
    if (f.worker != worker || f.kind != FrameLine::kSent) continue;
    std::string t = f.msg.value("t", "");
    // Handed back unstarted is no end: the job may be sent there again, and run.
    if (t == "end" && f.msg.value("id", uint64_t{0}) == id &&
        f.msg.value("how", "") != "returned") {
      ended = true;
    }
    if (ended && t == "start") started.push_back(f.msg.value("id", uint64_t{0}));
  }
  return started;
}

// Jobs sent to any worker (as its job or ahead) after the coordinator heard job `id` end (its
// run, not a hand-back): under a halt on its failure, none.
std::vector<uint64_t> sent_after_end(const std::vector<FrameLine>& log, uint64_t id) {
  std::vector<uint64_t> sent;
  bool ended = false;
  for (const FrameLine& f : log) {
    if (f.kind == FrameLine::kSent && f.msg.value("t", "") == "end" &&
        f.msg.value("id", uint64_t{0}) == id && f.msg.value("how", "") != "returned") {
      ended = true;
    }
    if (ended && f.kind != FrameLine::kSent) sent.push_back(f.msg.value("id", uint64_t{0}));
  }
  return sent;
}

// ---- procpool run -------------------------------------------------------------------------------

// `procpool run --lines -v --format jsonl FLAGS`, on `commands`: its job records in input order
// (by id: --lines numbers the lines from 1), its summary, its frame log.
struct LinesRun {
  RunOutput out;
  std::vector<json> jobs;  // jobs[i]: the record of line i+1
  json summary;
  std::vector<FrameLine> log;
};

LinesRun run_lines(const std::vector<std::string>& commands,
                   const std::vector<std::string>& flags) {
  std::vector<std::string> args{"run", "--lines", "-v", "--format", "jsonl"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::string input;
  for (const auto& c : commands) input += c + "\n";
  LinesRun r;
  r.out = run_procpool(args, input);
  r.log = frame_lines(r.out.err);
  r.jobs.resize(commands.size());
  std::vector<json> records;
  EXPECT_NO_THROW(records = parse_json_lines(r.out.out)) << r.out.out.substr(0, 2000);
  std::set<uint64_t> seen;
  for (auto& rec : records) {
    if (rec.value("type", "") == "summary") {
      r.summary = rec;
      continue;
    }
    auto id = rec.at("id").get<uint64_t>();
    EXPECT_TRUE(seen.insert(id).second) << "job " << id << " reported twice";
    EXPECT_TRUE(id >= 1 && id <= commands.size()) << rec;
    if (id >= 1 && id <= commands.size()) r.jobs[id - 1] = rec;
  }
  EXPECT_EQ(seen.size(), commands.size()) << "not every job was reported\n"
                                          << r.out.err.substr(0, 4000);
  return r;
}

// A job that never started: cancelled, no attempt, no start time.
void expect_not_started(const json& job) {
  EXPECT_EQ(job.value("status", ""), "cancelled") << job;
  EXPECT_EQ(job.value("attempts", -1), 0) << job;
  EXPECT_TRUE(job.contains("started") && job["started"].is_null()) << job;
}

// ---- many short jobs: every one runs once -------------------------------------------------------

void every_short_job_runs_once(const std::string& jobs_flag) {
  constexpr int kJobs = 300;
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    std::string ran = dir.path() + "/ran";
    std::vector<std::string> commands;
    for (int i = 1; i <= kJobs; ++i) {
      commands.push_back("echo " + std::to_string(i) + "; echo " + std::to_string(i) + " >> " +
                         ran);
    }
    LinesRun r = run_lines(commands, {jobs_flag});
    ASSERT_EQ(r.out.exit_status, 0) << r.out.err.substr(0, 4000);
    for (int i = 1; i <= kJobs; ++i) {
      const json& j = r.jobs[i - 1];
      EXPECT_EQ(j.value("status", ""), "ok") << j;
      EXPECT_EQ(j.value("attempts", -1), 1) << j;
      EXPECT_EQ(j.value("stdout", ""), std::to_string(i) + "\n") << j;
    }
    EXPECT_EQ(r.summary.value("total", -1), kJobs) << r.summary;
    EXPECT_EQ(r.summary.value("ok", -1), kJobs) << r.summary;
    // What the jobs did, not what was reported: each line ran exactly once.
    std::map<int, int> runs;
    for (const auto& l : lines(slurp(ran))) ++runs[std::stoi(l)];
    ASSERT_EQ(runs.size(), static_cast<size_t>(kJobs));
    for (const auto& [i, n] : runs) EXPECT_EQ(n, 1) << "job " << i << " ran " << n << " times";
    // No job ahead is ever started twice: each start frame names a different job.
    std::set<uint64_t> starts;
    for (const auto& f : r.log) {
      if (f.kind == FrameLine::kSent && f.msg.value("t", "") == "start") {
        EXPECT_TRUE(starts.insert(f.msg.value("id", uint64_t{0})).second) << f.msg;
      }
    }
    EXPECT_EQ(starts.size(), static_cast<size_t>(kJobs));
    exercised = count_ahead(r.log) > 0;
  }
  EXPECT_TRUE(exercised) << "no job was sent ahead in " << kRounds << " runs of " << kJobs
                         << " short jobs";
}

TEST(SendAheadRuns, EveryShortJobRunsOnceAtTwoWorkers) {
  every_short_job_runs_once("-j2");
}

TEST(SendAheadRuns, EveryShortJobRunsOnceAtOneWorker) {
  every_short_job_runs_once("-j1");
}

// 30 quick jobs, then kFailure if `fail`, then `touches` jobs each leaving a file m1, m2, ... in
// `dir`: the batches the halt cases run.
std::vector<std::string> quick_then_touches(const TempDir& dir, bool fail, int touches) {
  std::vector<std::string> commands;
  for (int i = 1; i <= 30; ++i) commands.push_back("true w" + std::to_string(i));
  if (fail) commands.push_back(kFailure);
  for (int i = 1; i <= touches; ++i) {
    commands.push_back("touch " + dir.path() + "/m" + std::to_string(i));
  }
  return commands;
}

// Without a halt a job sent ahead starts after any end: a failure does not keep the next job
// from starting, and what was sent ahead says so (Ahead::kAfterEnd).
TEST(SendAheadRuns, WithoutAHaltAFailureDoesNotStopTheJobsAfterIt) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    std::vector<std::string> commands = quick_then_touches(dir, true, 30);
    LinesRun r = run_lines(commands, {"-j1"});
    EXPECT_EQ(r.out.exit_status, 1) << r.out.err.substr(0, 4000);
    EXPECT_EQ(r.jobs[30].value("status", ""), "failed") << r.jobs[30];
    for (int i = 1; i <= 30; ++i) {
      const json& j = r.jobs[30 + i];
      EXPECT_EQ(j.value("status", ""), "ok") << j;
      EXPECT_EQ(j.value("attempts", -1), 1) << j;
      EXPECT_TRUE(file_exists(dir.path() + "/m" + std::to_string(i))) << j;
    }
    for (const auto& f : r.log) {
      if (f.kind == FrameLine::kGetsAhead) {
        EXPECT_EQ(f.msg.value("ahead", -1), 2) << f.msg;
      }
    }
    // The job right after the failure was waiting on the worker when it failed.
    exercised = sent_ahead(r.log, 32);
  }
  EXPECT_TRUE(exercised) << "the job after the failure was never sent ahead";
}

// ---- halts on failures start nothing after the failure ------------------------------------------

// 30 quick jobs, a failure, 30 jobs that leave a file each: under `flags` (a halt on the first
// failure) at -j1, none of the 30 starts, though the first of them was (usually) waiting on the
// worker as the failure ended (Ahead::kAfterOk: handed back).
void halt_on_failure_starts_nothing_after_it(const std::vector<std::string>& flags) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    std::vector<std::string> commands = quick_then_touches(dir, true, 30);
    std::vector<std::string> all{"-j1"};
    all.insert(all.end(), flags.begin(), flags.end());
    LinesRun r = run_lines(commands, all);
    EXPECT_EQ(r.out.exit_status, 1) << r.out.err.substr(0, 4000);
    const json& failed = r.jobs[30];
    EXPECT_EQ(failed.value("status", ""), "failed") << failed;
    EXPECT_EQ(failed.value("exit_code", -1), 3) << failed;
    for (int i = 1; i <= 30; ++i) {
      EXPECT_FALSE(file_exists(dir.path() + "/m" + std::to_string(i))) << "m" << i << " ran";
      expect_not_started(r.jobs[30 + i]);
    }
    EXPECT_EQ(r.summary.value("cancelled", -1), 30) << r.summary;
    // Whatever was sent ahead may only start after a success.
    for (const auto& f : r.log) {
      if (f.kind == FrameLine::kGetsAhead) {
        EXPECT_EQ(f.msg.value("ahead", -1), 1) << f.msg;
      }
    }
    long worker = failed.value("worker", 0L);
    EXPECT_EQ(started_after_end(r.log, worker, 31), std::vector<uint64_t>{})
        << "its worker started jobs after the failure";
    EXPECT_EQ(sent_after_end(r.log, 31), std::vector<uint64_t>{}) << "sent after the failure";
    exercised = sent_ahead(r.log, 32);
    if (exercised) {
      EXPECT_TRUE(handed_back(r.log, 32)) << "m1 was sent ahead and not handed back";
    }
  }
  EXPECT_TRUE(exercised) << "the job after the failure was never sent ahead";
}

TEST(SendAheadRuns, FailFastAtOneWorkerStartsNothingAfterTheFailure) {
  halt_on_failure_starts_nothing_after_it({"--fail-fast"});
}

TEST(SendAheadRuns, HaltNowOnFailAtOneWorkerStartsNothingAfterTheFailure) {
  halt_on_failure_starts_nothing_after_it({"--halt", "now,fail=1"});
}

TEST(SendAheadRuns, HaltSoonOnFailAtOneWorkerStartsNothingAfterTheFailure) {
  halt_on_failure_starts_nothing_after_it({"--halt", "soon,fail=1"});
}

// At -j2 the other worker may run the first jobs after the failure while it runs, or start the
// one it holds as it ends, as without jobs sent ahead; but the failing worker starts nothing
// more, nothing is sent to any worker once the coordinator heard of the failure, and what did
// not start is reported so.
TEST(SendAheadRuns, FailFastAtTwoWorkersStartsNothingOnTheFailingWorker) {
  for (int round = 0; round < 2; ++round) {
    TempDir dir;
    std::vector<std::string> commands = quick_then_touches(dir, true, 30);
    LinesRun r = run_lines(commands, {"-j2", "--fail-fast"});
    EXPECT_EQ(r.out.exit_status, 1) << r.out.err.substr(0, 4000);
    const json& failed = r.jobs[30];
    EXPECT_EQ(failed.value("status", ""), "failed") << failed;
    for (int i = 1; i <= 30; ++i) {
      const json& j = r.jobs[30 + i];
      bool exists = file_exists(dir.path() + "/m" + std::to_string(i));
      std::string status = j.value("status", "");
      EXPECT_TRUE(status == "ok" || status == "cancelled") << j;
      if (status == "ok") {
        EXPECT_TRUE(exists) << j;
      }
      if (j.value("attempts", -1) == 0) {
        expect_not_started(j);
        EXPECT_FALSE(exists) << "reported not started, yet it ran: " << j;
      }
    }
    for (const auto& f : r.log) {
      if (f.kind == FrameLine::kGetsAhead) {
        EXPECT_EQ(f.msg.value("ahead", -1), 1) << f.msg;
      }
    }
    EXPECT_GT(count_ahead(r.log), 0u) << "nothing was sent ahead";
    long worker = failed.value("worker", 0L);
    EXPECT_EQ(started_after_end(r.log, worker, 31), std::vector<uint64_t>{})
        << "the failing worker started jobs after the failure";
    // The other worker may have started what it held when the failure ended; nothing was sent
    // to either after the coordinator heard of it.
    EXPECT_EQ(sent_after_end(r.log, 31), std::vector<uint64_t>{}) << "sent after the failure";
  }
}

// A halt on the second failure: the first hands back the job sent ahead of it, which is placed
// again and runs, one attempt, as does everything after it.
TEST(SendAheadRuns, JobHandedBackAfterAFailureThatDoesNotHaltRunsOnce) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    std::string ran = dir.path() + "/ran";
    std::vector<std::string> commands;
    for (int i = 1; i <= 30; ++i) commands.push_back("true w" + std::to_string(i));
    commands.push_back(kFailure);
    for (int i = 1; i <= 10; ++i) commands.push_back("echo m" + std::to_string(i) + " >> " + ran);
    LinesRun r = run_lines(commands, {"-j1", "--halt", "now,fail=2"});
    EXPECT_EQ(r.out.exit_status, 1) << r.out.err.substr(0, 4000);
    for (int i = 1; i <= 10; ++i) {
      const json& j = r.jobs[30 + i];
      EXPECT_EQ(j.value("status", ""), "ok") << j;
      EXPECT_EQ(j.value("attempts", -1), 1) << "handed back, and counted as an attempt: " << j;
    }
    std::vector<std::string> expected;
    for (int i = 1; i <= 10; ++i) expected.push_back("m" + std::to_string(i));
    EXPECT_EQ(lines(slurp(ran)), expected) << "each ran once, in order";
    exercised = sent_ahead(r.log, 32) && handed_back(r.log, 32);
  }
  EXPECT_TRUE(exercised) << "the job after the failure was never sent ahead and handed back";
}

// --fail-fast with retries at -j1: a job that fails every attempt is retried at once (the retry
// goes first), and only its last failure halts; nothing after it may start in between, as
// without jobs sent ahead: the job handed back after the first failed attempt goes behind the
// retry.
TEST(SendAheadRuns, FailFastWithRetriesStartsNothingBetweenAFailureAndItsRetry) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    std::vector<std::string> commands = quick_then_touches(dir, true, 5);
    LinesRun r = run_lines(commands, {"-j1", "--fail-fast", "--retries", "1"});
    EXPECT_EQ(r.out.exit_status, 1) << r.out.err.substr(0, 4000);
    const json& failed = r.jobs[30];
    EXPECT_EQ(failed.value("status", ""), "failed") << failed;
    EXPECT_EQ(failed.value("attempts", -1), 2) << failed;
    for (int i = 1; i <= 5; ++i) {
      EXPECT_FALSE(file_exists(dir.path() + "/m" + std::to_string(i))) << "m" << i << " ran";
      expect_not_started(r.jobs[30 + i]);
    }
    exercised = sent_ahead(r.log, 32);
  }
  EXPECT_TRUE(exercised) << "the job after the failure was never sent ahead";
}

// Halts on successes (or on any end) could be reached by any job: nothing is sent ahead, so
// nothing starts after the job that halts.
TEST(SendAheadRuns, HaltOnSuccessesSendsNothingAhead) {
  for (const char* halt : {"now,success=30", "soon,done=30"}) {
    TempDir dir;
    std::vector<std::string> commands = quick_then_touches(dir, false, 10);
    LinesRun r = run_lines(commands, {"-j1", "--halt", halt});
    EXPECT_EQ(count_ahead(r.log), 0u) << halt;
    for (int i = 1; i <= 10; ++i) {
      EXPECT_FALSE(file_exists(dir.path() + "/m" + std::to_string(i))) << halt << ": m" << i;
      expect_not_started(r.jobs[29 + i]);
    }
  }
}

// --delay spaces the starts, which a job started by its worker cannot honour: none is sent ahead.
TEST(SendAheadRuns, DelaySendsNothingAhead) {
  std::vector<std::string> commands;
  for (int i = 1; i <= 20; ++i) commands.push_back("true w" + std::to_string(i));
  LinesRun r = run_lines(commands, {"-j1", "--delay", "1ms"});
  EXPECT_EQ(r.out.exit_status, 0) << r.out.err.substr(0, 4000);
  EXPECT_EQ(count_ahead(r.log), 0u);
}

// A worker replaced after N jobs is never sent a job it would run as its N+1st.
TEST(SendAheadRuns, MaxTasksPerWorkerHoldsWithJobsSentAhead) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    std::vector<std::string> commands;
    for (int i = 1; i <= 60; ++i) commands.push_back("echo $PPID; true w" + std::to_string(i));
    LinesRun r = run_lines(commands, {"-j1", "--max-tasks-per-worker", "3"});
    ASSERT_EQ(r.out.exit_status, 0) << r.out.err.substr(0, 4000);
    std::map<std::string, int> per_worker;
    for (const json& j : r.jobs) {
      EXPECT_EQ(j.value("status", ""), "ok") << j;
      ++per_worker[j.value("stdout", "")];
    }
    for (const auto& [pid, n] : per_worker) EXPECT_LE(n, 3) << "worker " << pid << " ran " << n;
    EXPECT_EQ(per_worker.size(), 20u);
    exercised = count_ahead(r.log) > 0;
  }
  EXPECT_TRUE(exercised) << "no job was sent ahead";
}

// ---- a long job does not hold back the job sent ahead behind it ---------------------------------

// -j2: 20 quick jobs, a 2 s sleep, 20 quick jobs. The job sent ahead to the sleep's worker is
// taken back and runs on the other one: every quick job starts before the sleep ends (a margin
// of seconds over the 10 ms after which it is taken back). `keep_order`: -k.
void long_job_does_not_hold_back(bool keep_order) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    std::vector<std::string> commands;
    for (int i = 1; i <= 20; ++i) commands.push_back("echo a" + std::to_string(i));
    commands.push_back("sleep 2; echo slept");
    for (int i = 1; i <= 20; ++i) commands.push_back("echo b" + std::to_string(i));
    std::vector<std::string> flags{"-j2"};
    if (keep_order) flags.push_back("-k");
    LinesRun r = run_lines(commands, flags);
    ASSERT_EQ(r.out.exit_status, 0) << r.out.err.substr(0, 4000);
    const json& sleeper = r.jobs[20];
    ASSERT_EQ(sleeper.value("status", ""), "ok") << sleeper;
    // Same format and zone ("2026-12-06T21:56:10.911Z"): compared as strings.
    std::string slept_until = sleeper.value("ended", "");
    for (size_t i = 21; i < r.jobs.size(); ++i) {
      const json& j = r.jobs[i];
      EXPECT_EQ(j.value("status", ""), "ok") << j;
      EXPECT_EQ(j.value("attempts", -1), 1) << j;
      EXPECT_EQ(j.value("stdout", ""), "b" + std::to_string(i - 20) + "\n") << j;
      EXPECT_LT(j.value("started", ""), slept_until)
          << "held back behind the sleep (" << sleeper.value("started", "") << " .. " << slept_until
          << "): " << j;
    }
    if (keep_order) {
      // -k: the records come in input order.
      std::vector<json> records = parse_json_lines(r.out.out);
      for (size_t i = 0; i < r.jobs.size() && i < records.size(); ++i) {
        EXPECT_EQ(records[i].value("id", uint64_t{0}), i + 1) << records[i];
      }
    }
    // Was a job sent ahead to the sleep's worker while it slept? Then it was taken back.
    long worker = sleeper.value("worker", 0L);
    bool sleeping = false;
    for (const auto& f : r.log) {
      if (f.worker != worker) continue;
      uint64_t id = f.msg.value("id", uint64_t{0});
      std::string t = f.msg.value("t", "");
      if (f.kind == FrameLine::kSent && id == 21 && t == "start") sleeping = true;
      if (f.kind == FrameLine::kSent && id == 21 && t == "end") sleeping = false;
      if (sleeping && f.kind == FrameLine::kGetsAhead) {
        exercised = true;
        EXPECT_TRUE(handed_back(r.log, id)) << "sent ahead behind the sleep, never withdrawn";
      }
    }
  }
  EXPECT_TRUE(exercised) << "no job was sent ahead to the sleeping worker in " << kRounds
                         << " runs";
}

TEST(SendAheadRuns, LongJobDoesNotHoldBackTheJobBehindIt) {
  long_job_does_not_hold_back(false);
}

TEST(SendAheadRuns, LongJobDoesNotHoldBackTheJobBehindItWithKeepOrder) {
  long_job_does_not_hold_back(true);
}

// -k in text mode: the output is in input order whatever was sent ahead and taken back.
TEST(SendAheadRuns, KeepOrderPrintsInInputOrder) {
  std::string input, expected;
  for (int i = 1; i <= 20; ++i) {
    input += "echo a" + std::to_string(i) + "\n";
    expected += "a" + std::to_string(i) + "\n";
  }
  input += "sleep 1; echo slept\n";
  expected += "slept\n";
  for (int i = 1; i <= 20; ++i) {
    input += "echo b" + std::to_string(i) + "\n";
    expected += "b" + std::to_string(i) + "\n";
  }
  RunOutput r = run_procpool({"run", "--lines", "-j2", "-k", "-q"}, input);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

// ---- a worker lost while it holds a job sent ahead ----------------------------------------------

// -j1: warm-up jobs, then a job that stops its own worker (SIGSTOP: the worker can neither start
// the job sent ahead of it nor hand it back when withdrawn) and sleeps, then `after`. The test
// kills the stopped worker: the sleeping job crashed, `after` is placed again unstarted and runs
// on the replacement, one attempt; the run ends.
TEST(SendAheadRuns, WorkerLostWhileItHoldsAJobAheadRequeuesIt) {
  bool exercised = false;
  for (int round = 0; round < kRounds && !exercised; ++round) {
    TempDir dir;
    ScopedSubreaper subreaper;  // what the lost worker's job leaves comes back to us
    std::string d = dir.path();
    json jobs = json::array();
    for (int i = 1; i <= 20; ++i) {
      jobs.push_back({{"name", "w" + std::to_string(i)}, {"cmd", "true"}});
    }
    // Only its first attempt stops the worker (a worker lost before it said the job started
    // may run it again).
    jobs.push_back(
        {{"name", "blocker"},
         {"timeout", 60},
         {"cmd", "if mkdir " + d + "/once 2>/dev/null; then kill -STOP $PPID; echo $PPID > " + d +
                     "/worker.tmp && mv " + d + "/worker.tmp " + d + "/worker; sleep 30; fi"}});
    jobs.push_back({{"name", "after"}, {"cmd", "touch " + d + "/after; echo $PPID"}});
    std::string file = dir.write("jobs.json", jobs.dump());
    Background run = Background::procpool({"run", "-j1", "-v", "--format", "jsonl", file});

    pid_t worker = -1;
    bool ahead_seen = false;
    if (wait_for_file(d + "/worker")) {
      worker = read_pid(d + "/worker");
      // The coordinator sends `after` ahead as soon as the blocker has started, if at all.
      ahead_seen = run.wait_for_stderr("\"sh\":\"touch " + d + "/after;", 5s);
      std::string cmdline = slurp("/proc/" + std::to_string(worker) + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      EXPECT_NE(cmdline.find("worker"), std::string::npos) << worker << ": " << cmdline;
      if (cmdline.find("worker") != std::string::npos) {
        EXPECT_EQ(::kill(worker, SIGKILL), 0);
      }
    } else {
      ADD_FAILURE() << "the blocker never wrote its worker's pid";
    }
    BackgroundResult r = run.wait(kNoHang);
    ASSERT_FALSE(r.hung) << "the run did not end after its worker was lost\n"
                         << r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
    EXPECT_EQ(r.exit_status, 1) << r.err.substr(0, 4000);
    std::map<std::string, json> by_name;
    for (const json& rec : parse_json_lines(r.out)) {
      if (rec.value("type", "") == "job") by_name[rec.value("name", "")] = rec;
    }
    const json& after = by_name["after"];
    EXPECT_EQ(after.value("status", ""), "ok") << after;
    EXPECT_EQ(after.value("attempts", -1), 1) << after;
    EXPECT_TRUE(file_exists(d + "/after"));
    EXPECT_NE(after.value("stdout", ""), std::to_string(worker) + "\n") << after;
    std::vector<FrameLine> log = frame_lines(r.err);
    uint64_t after_id = after.value("id", uint64_t{0});
    // Sent ahead while the blocker ran, and never handed back: the worker was stopped.
    exercised = ahead_seen && sent_ahead(log, after_id) && !handed_back(log, after_id);
    if (exercised) {
      const json& b = by_name["blocker"];
      EXPECT_EQ(b.value("status", ""), "crashed") << b;
      EXPECT_EQ(b.value("attempts", -1), 1) << b;
      EXPECT_EQ(b.value("worker", 0L), worker) << b;
    }
  }
  EXPECT_TRUE(exercised) << "`after` was never sent ahead to the worker that was lost";
}

// ---- the worker, driven frame by frame ----------------------------------------------------------

// `procpool worker` with the test as its coordinator: frames written as messages.cc writes
// them, and every message it sends read back in order.
class DrivenWorker {
 public:
  DrivenWorker() : proc_({PROCPOOL_BIN, "worker"}) {
    set_nonblocking(proc_.to().get(), false);
    auto hello = next();
    EXPECT_TRUE(hello && std::holds_alternative<Hello>(*hello)) << "no hello from the worker";
  }

  template <typename M>
  void send(const M& m, const std::string& input = "") {
    std::string frames;
    if (!input.empty()) append_input_frames(frames, id_of(m), input);
    append_message(frames, m);
    ASSERT_TRUE(write_all(proc_.to().get(), frames));
  }

  // The next message (output frames are kept, by job), or nullopt after kNoHang or at EOF.
  std::optional<FromWorker> next() {
    auto deadline = std::chrono::steady_clock::now() + kNoHang;
    for (;;) {
      while (auto f = reader_.next_frame()) {
        if (f->output) {
          output_[f->output->id] += f->output->bytes;
          continue;
        }
        return decode_from_worker(f->body);
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd fds[2] = {{proc_.from().get(), POLLIN, 0}, {proc_.err().get(), POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
      char buf[65536];
      if (fds[1].revents) {
        ssize_t n = ::read(proc_.err().get(), buf, sizeof buf);
        if (n > 0) err_.append(buf, static_cast<size_t>(n));
      }
      if (fds[0].revents) {
        ssize_t n = ::read(proc_.from().get(), buf, sizeof buf);
        if (n == 0) return std::nullopt;
        if (n > 0) reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
      }
    }
  }

  // The next message, which must be a T (else the test fails, naming what came).
  template <typename T>
  T expect() {
    auto m = next();
    if (!m) {
      ADD_FAILURE() << "the worker said nothing more; its stderr: " << err_;
      return T{};
    }
    if (!std::holds_alternative<T>(*m)) {
      ADD_FAILURE() << "unexpected message (variant index " << m->index() << ")";
      return T{};
    }
    return std::get<T>(*m);
  }

  const std::string& output(uint64_t id) { return output_[id]; }
  pid_t pid() const { return proc_.pid(); }

 private:
  static uint64_t id_of(const Task& t) { return t.id; }
  template <typename M>
  static uint64_t id_of(const M& m) {
    return m.id;
  }

  WorkerProcess proc_;
  FrameReader reader_;
  std::map<uint64_t, std::string> output_;
  std::string err_;
};

Task shell_task(uint64_t id, const std::string& cmd, Ahead ahead = Ahead::kNo) {
  Task t;
  t.id = id;
  t.shell = cmd;
  t.stop = default_stop_sequence();
  t.ahead = ahead;
  return t;
}

// A task whose process has started: its start frame, then (once `go` exists) its end.
class SendAheadWorker : public ::testing::Test {
 protected:
  // Sends job 1, which waits for `go_` and then runs `then`, and waits for it to start.
  void start_first(const std::string& then) {
    worker_.send(shell_task(1, wait_for(go_) + then));
    EXPECT_EQ(worker_.expect<Started>().id, 1u);
  }
  void release() { dir_.write("go", ""); }

  TempDir dir_;
  std::string go_ = dir_.path() + "/go";
  std::string b_ = dir_.path() + "/b";
  // The next frames: task `id` handed back unstarted.
  void expect_handed_back(uint64_t id) {
    Ended back = worker_.expect<Ended>();
    EXPECT_EQ(back.id, id);
    EXPECT_EQ(back.how, EndHow::kReturned);
    EXPECT_FALSE(back.code);
  }
  // The next frames: task `id` started, then exited.
  void expect_ran(uint64_t id) {
    EXPECT_EQ(worker_.expect<Started>().id, id);
    Ended end = worker_.expect<Ended>();
    EXPECT_EQ(end.id, id);
    EXPECT_EQ(end.how, EndHow::kExited);
  }

  DrivenWorker worker_;
};

TEST_F(SendAheadWorker, AfterOkStartsByItselfAfterASuccess) {
  start_first("exit 0");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterOk));
  release();
  // Nothing more is sent: the worker starts job 2 on its own the moment job 1 ends.
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.how, EndHow::kExited);
  EXPECT_EQ(first.code, 0);
  expect_ran(2);
  EXPECT_TRUE(file_exists(b_));
}

TEST_F(SendAheadWorker, AfterOkIsHandedBackAfterAFailure) {
  start_first("exit 3");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterOk));
  release();
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.code, 3);
  expect_handed_back(2);
  // The worker goes on with what it is sent next; job 2 never started.
  worker_.send(shell_task(3, "echo three"));
  EXPECT_EQ(worker_.expect<Started>().id, 3u);
  EXPECT_EQ(worker_.expect<Ended>().id, 3u);
  EXPECT_EQ(worker_.output(3), "three\n");
  EXPECT_FALSE(file_exists(b_));
}

TEST_F(SendAheadWorker, AfterOkIsHandedBackAfterAJobKilledBySignal) {
  start_first("kill -9 $$");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterOk));
  release();
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.how, EndHow::kSignaled);
  expect_handed_back(2);
  EXPECT_FALSE(file_exists(b_));
}

TEST_F(SendAheadWorker, AfterOkArrivingAfterAFailureIsHandedBack) {
  // The failure ended before the job sent ahead of it arrived: still not started.
  start_first("exit 3");
  release();
  EXPECT_EQ(worker_.expect<Ended>().code, 3);
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterOk));
  expect_handed_back(2);
  EXPECT_FALSE(file_exists(b_));
}

TEST_F(SendAheadWorker, AfterEndStartsAfterAFailure) {
  start_first("exit 3");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterEnd));
  release();
  EXPECT_EQ(worker_.expect<Ended>().code, 3);
  expect_ran(2);
  EXPECT_TRUE(file_exists(b_));
}

TEST_F(SendAheadWorker, WithdrawHandsBackAQueuedTask) {
  start_first("exit 0");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterEnd));
  worker_.send(Withdraw{2});
  // Handed back while job 1 still runs (it waits for `go`, not yet there).
  expect_handed_back(2);
  release();
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.how, EndHow::kExited);
  // Nothing starts after it: the next frame is the start of what is sent next.
  worker_.send(shell_task(3, "true"));
  EXPECT_EQ(worker_.expect<Started>().id, 3u);
  EXPECT_EQ(worker_.expect<Ended>().id, 3u);
  EXPECT_FALSE(file_exists(b_));
}

TEST_F(SendAheadWorker, KillDropsAQueuedTaskUnstarted) {
  start_first("exit 0");
  worker_.send(shell_task(2, "touch " + b_, Ahead::kAfterEnd));
  worker_.send(Kill{2, false});
  Ended dropped = worker_.expect<Ended>();
  EXPECT_EQ(dropped.id, 2u);
  EXPECT_EQ(dropped.how, EndHow::kKilled);
  EXPECT_FALSE(dropped.dur) << "it never ran";
  release();
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.how, EndHow::kExited) << "the running job was not the one killed";
  worker_.send(shell_task(3, "true"));
  EXPECT_EQ(worker_.expect<Started>().id, 3u);
  EXPECT_FALSE(file_exists(b_));
}

TEST_F(SendAheadWorker, WithdrawOfAStartedJobDoesNothing) {
  start_first("echo one");
  worker_.send(Withdraw{1});
  // A task sent ahead and withdrawn after it: its hand-back says the worker read the frames
  // before it, the withdrawal of job 1 included.
  worker_.send(shell_task(2, "true", Ahead::kAfterEnd));
  worker_.send(Withdraw{2});
  expect_handed_back(2);
  release();
  Ended first = worker_.expect<Ended>();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.how, EndHow::kExited);
  EXPECT_EQ(first.code, 0);
  EXPECT_EQ(worker_.output(1), "one\n");
}

TEST_F(SendAheadWorker, InputOfAHandedBackTaskIsDropped) {
  // The coordinator sends a job's input again with the job each time it sends it: what a
  // hand-back left must not be read twice.
  start_first("exit 0");
  worker_.send(shell_task(2, "cat", Ahead::kAfterEnd), "hello\n");
  worker_.send(Withdraw{2});
  EXPECT_EQ(worker_.expect<Ended>().how, EndHow::kReturned);
  release();
  EXPECT_EQ(worker_.expect<Ended>().id, 1u);
  worker_.send(shell_task(2, "cat"), "hello\n");
  EXPECT_EQ(worker_.expect<Started>().id, 2u);
  Ended again = worker_.expect<Ended>();
  EXPECT_EQ(again.how, EndHow::kExited);
  EXPECT_EQ(worker_.output(2), "hello\n");
}

TEST_F(SendAheadWorker, InputOfATaskHandedBackAfterAFailureIsDropped) {
  start_first("exit 3");
  worker_.send(shell_task(2, "cat", Ahead::kAfterOk), "hello\n");
  release();
  EXPECT_EQ(worker_.expect<Ended>().code, 3);
  EXPECT_EQ(worker_.expect<Ended>().how, EndHow::kReturned);
  worker_.send(shell_task(2, "cat"), "hello\n");
  EXPECT_EQ(worker_.expect<Started>().id, 2u);
  EXPECT_EQ(worker_.expect<Ended>().how, EndHow::kExited);
  EXPECT_EQ(worker_.output(2), "hello\n");
}

// ---- the library: stop(), and what send_ahead sends ---------------------------------------------

// Collects the pool's debug log through set_log_handler; restores the default on destruction
// (declared before the pool, it outlives the pool's thread).
class LogCapture {
 public:
  // `on_line`, when given, runs on the logging thread for each line, after it is kept.
  explicit LogCapture(std::function<void(std::string_view)> on_line = nullptr)
      : on_line_(std::move(on_line)) {
    set_log_level(LogLevel::kDebug);
    set_log_handler([this](LogLevel, std::string_view line) {
      {
        std::lock_guard lock(mu_);
        text_.append(line).push_back('\n');
      }
      if (on_line_) on_line_(line);
    });
  }
  ~LogCapture() {
    set_log_handler(nullptr);
    set_log_level(LogLevel::kInfo);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<FrameLine> frames() {
    std::lock_guard lock(mu_);
    return frame_lines(text_);
  }

 private:
  std::function<void(std::string_view)> on_line_;
  std::mutex mu_;
  std::string text_;
};

// Runs `n` quick jobs on `pool` and waits for them: the recent run times that make the pool
// send jobs ahead.
void warm_up(ProcessPool& pool, int n) {
  std::vector<Future> quick;
  for (int i = 0; i < n; ++i)
    quick.push_back(pool.submit(shell_job("w" + std::to_string(i), "true")));
  for (auto& f : quick) ASSERT_EQ(f.result(kPatience).status, Status::kOk);
}

// One round on a one-worker pool, warmed up: a job that sleeps, then one that touches a file.
// Should the pool send the second ahead of the first, the log handler holds the pool's thread at
// the very line that says so while `act` runs on the test's thread: whatever `act` asks of the
// pool finds that job there, ahead, not pending and not yet taken back (that needs the pool's
// thread). Else (the recent jobs ran too long, say) `act` runs all the same, a few seconds
// later, so the round ends; but it does not count.
struct HeldRound {
  bool exercised = false;  // the second job was sent ahead, and `act` ran while it was
  bool acted = false;      // what `act` returned
  Result sleeper, toucher;
  std::optional<Result> next;  // a job submitted afterwards, when the pool still takes them
  bool touched = false;        // the second job's file exists once the pool is shut down
};

HeldRound held_round(const std::string& sleep_cmd,
                     const std::function<bool(ProcessPool&, const Future& toucher)>& act,
                     bool then_next) {
  HeldRound round;
  TempDir dir;
  std::string touched = dir.path() + "/touched";
  std::string touch_cmd = "touch " + touched;
  std::string marker = "\"sh\":" + json(touch_cmd).dump();
  std::mutex mu;
  std::condition_variable cv;
  bool seen = false, acted = false;
  LogCapture log([&](std::string_view line) {
    if (line.find("gets ahead: ") == std::string_view::npos ||
        line.find(marker) == std::string_view::npos) {
      return;
    }
    std::unique_lock lock(mu);
    seen = true;
    cv.notify_all();
    cv.wait_for(lock, 20s, [&] { return acted; });
  });
  {
    ProcessPool pool(pool_options(1));
    warm_up(pool, 20);
    Future sleeper = pool.submit(shell_job("sleeper", sleep_cmd));
    Future toucher = pool.submit(shell_job("toucher", touch_cmd));
    {
      // Sent ahead within a few ms of the sleeper's start, if at all.
      std::unique_lock lock(mu);
      round.exercised = cv.wait_for(lock, 5s, [&] { return seen; });
    }
    round.acted = act(pool, toucher);
    {
      std::lock_guard lock(mu);
      acted = true;
      cv.notify_all();
    }
    round.sleeper = sleeper.result(kPatience);
    round.toucher = toucher.result(kPatience);
    if (then_next) round.next = pool.submit(shell_job("next", "echo $PPID")).result(kPatience);
    pool.shutdown(true);
  }
  round.touched = file_exists(touched);
  return round;
}

// Rounds of held_round until one finds the second job sent ahead (a round can miss it: recent
// run times decide); that round, or nothing after kRounds.
std::optional<HeldRound> exercised_round(
    const std::string& sleep_cmd,
    const std::function<bool(ProcessPool&, const Future& toucher)>& act, bool then_next) {
  for (int i = 0; i < kRounds; ++i) {
    HeldRound r = held_round(sleep_cmd, act, then_next);
    if (r.exercised) return r;
  }
  ADD_FAILURE() << "the job behind the sleeper was never sent ahead in " << kRounds << " rounds";
  return std::nullopt;
}

// The job sent ahead was withdrawn before it started: cancelled, no attempt, its file absent.
void expect_withdrawn_unstarted(const HeldRound& r, const char* why) {
  EXPECT_EQ(r.toucher.status, Status::kCancelled) << r.toucher.error;
  EXPECT_EQ(r.toucher.attempts, 0);
  EXPECT_FALSE(r.touched) << why;
}

// stop() of a job while it waits ahead of a running one on its worker: withdrawn (a Kill for
// it) before it started, cancelled, no attempt; the job it was behind runs on untouched, and
// its worker goes on.
TEST(SendAheadPool, StopOfAJobSentAheadNeverStartsIt) {
  auto r = exercised_round(
      "sleep 1; echo slept",
      [](ProcessPool& pool, const Future& toucher) { return pool.stop(toucher); }, true);
  if (!r) return;
  EXPECT_EQ(r->sleeper.status, Status::kOk) << r->sleeper.error;
  EXPECT_EQ(r->sleeper.output.text(Stream::kStdout), "slept\n");
  ASSERT_TRUE(r->next);
  EXPECT_EQ(r->next->status, Status::kOk) << r->next->error;
  EXPECT_EQ(r->next->worker_pid, r->sleeper.worker_pid) << "the worker was replaced";
  EXPECT_TRUE(r->acted) << "stop() found nothing to stop";
  EXPECT_EQ(r->toucher.error, "stopped by ProcessPool::stop before it started");
  expect_withdrawn_unstarted(*r, "the stopped job ran");
}

// A job sent ahead is running to its future (too late to cancel, as a job in Python's call
// queue), yet not among running(): its process has not started. Left alone, it runs.
TEST(SendAheadPool, AJobSentAheadIsRunningButNotStarted) {
  bool listed = true;
  auto r = exercised_round(
      "sleep 1; echo slept",
      [&](ProcessPool& pool, const Future& toucher) {
        auto running = pool.running();
        listed = std::any_of(running.begin(), running.end(),
                             [&](const RunningJob& j) { return j.future == toucher; });
        bool sleeper_listed = running.size() == 1 && running[0].future.job().name == "sleeper";
        return toucher.state() == Future::State::kRunning && !Future(toucher).cancel() &&
               sleeper_listed;
      },
      false);
  if (!r) return;
  EXPECT_TRUE(r->acted) << "its future was not running, could be cancelled, or the sleeper "
                           "was not the one job listed as running";
  EXPECT_FALSE(listed) << "listed as running before its process started";
  EXPECT_EQ(r->toucher.status, Status::kOk) << r->toucher.error;
  EXPECT_EQ(r->toucher.attempts, 1);
  EXPECT_TRUE(r->touched);
}

// terminate() stops the running job, and withdraws the one sent ahead of it before that ends:
// else its worker would start it the moment the stopped job ends (Ahead::kAfterEnd).
TEST(SendAheadPool, TerminateWithdrawsTheJobSentAhead) {
  auto r = exercised_round(
      "sleep 30",
      [](ProcessPool& pool, const Future&) {
        pool.terminate();
        return true;
      },
      false);
  if (!r) return;
  EXPECT_EQ(r->sleeper.status, Status::kCancelled) << r->sleeper.error;
  EXPECT_EQ(r->sleeper.attempts, 1);
  expect_withdrawn_unstarted(*r, "the job sent ahead started after the one it waited for");
}

// shutdown(cancel_pending): what has not started is cancelled, the job sent ahead included,
// while the running job runs to its end.
TEST(SendAheadPool, CancellingShutdownWithdrawsTheJobSentAhead) {
  auto r = exercised_round(
      "sleep 1; echo slept",
      [](ProcessPool& pool, const Future&) {
        pool.shutdown(false, true);
        return true;
      },
      false);
  if (!r) return;
  EXPECT_EQ(r->sleeper.status, Status::kOk) << r->sleeper.error;
  EXPECT_EQ(r->sleeper.output.text(Stream::kStdout), "slept\n");
  expect_withdrawn_unstarted(*r, "the cancelled job ran");
}

// The same from the outside, as a user would: stop() once the job before it is seen running.
// Wherever the job is by then (ahead on the worker, taken back, or still pending), it never
// starts.
TEST(SendAheadPool, StopOfTheJobBehindARunningOneNeverStartsIt) {
  TempDir dir;
  std::string touched = dir.path() + "/touched";
  ProcessPool pool(pool_options(1));
  warm_up(pool, 20);
  Future sleeper = pool.submit(shell_job("sleeper", "sleep 1"));
  Future toucher = pool.submit(shell_job("toucher", "touch " + touched));
  ASSERT_TRUE(eventually([&] { return !pool.running().empty(); }, 20s));
  EXPECT_EQ(pool.running().front().future.job().name, "sleeper");
  EXPECT_TRUE(pool.stop(toucher));
  const Result& second = toucher.result(kPatience);
  EXPECT_EQ(second.status, Status::kCancelled);
  EXPECT_EQ(second.attempts, 0);
  EXPECT_TRUE(second.error.empty() ||
              second.error == "stopped by ProcessPool::stop before it started")
      << second.error;
  EXPECT_EQ(sleeper.result(kPatience).status, Status::kOk);
  pool.shutdown(true);
  EXPECT_FALSE(file_exists(touched)) << "the stopped job ran";
}

// Which kind of frame goes ahead, if any, for each send_ahead (40 quick jobs on one worker).
std::vector<FrameLine> frames_of_quick_jobs(PoolOptions options) {
  LogCapture log;
  {
    ProcessPool pool(std::move(options));
    std::vector<Future> futures;
    for (int i = 0; i < 40; ++i) {
      futures.push_back(pool.submit(shell_job("q" + std::to_string(i), "true")));
    }
    for (auto& f : futures) EXPECT_EQ(f.result(kPatience).status, Status::kOk);
  }
  return log.frames();
}

// The ahead kinds of the jobs sent ahead, over a few rounds until some were.
std::set<int> ahead_kinds(const PoolOptions& options) {
  std::set<int> kinds;
  for (int round = 0; round < kRounds && kinds.empty(); ++round) {
    for (const auto& f : frames_of_quick_jobs(options)) {
      if (f.kind == FrameLine::kGetsAhead) kinds.insert(f.msg.value("ahead", -1));
    }
  }
  return kinds;
}

TEST(SendAheadPool, AutoSendsShortJobsAheadAfterAnyEnd) {
  EXPECT_EQ(ahead_kinds(pool_options(1)), std::set<int>{2});
}

TEST(SendAheadPool, AfterAnyEndSendsKindAfterEnd) {
  PoolOptions options = pool_options(1);
  options.send_ahead = SendAhead::kAfterAnyEnd;
  options.halt_when = [](const Future&) { return Halt::kNo; };
  EXPECT_EQ(ahead_kinds(options), std::set<int>{2});
}

TEST(SendAheadPool, AfterSuccessSendsKindAfterOk) {
  PoolOptions options = pool_options(1);
  options.send_ahead = SendAhead::kAfterSuccess;
  EXPECT_EQ(ahead_kinds(options), std::set<int>{1});
}

TEST(SendAheadPool, NeverSendsNothingAhead) {
  PoolOptions options = pool_options(1);
  options.send_ahead = SendAhead::kNever;
  auto frames = frames_of_quick_jobs(options);
  EXPECT_GE(frames.size(), 80u) << "the debug log was not captured";
  EXPECT_EQ(count_ahead(frames), 0u);
}

TEST(SendAheadPool, AutoWithHaltWhenSendsNothingAhead) {
  PoolOptions options = pool_options(1);
  options.halt_when = [](const Future&) { return Halt::kNo; };
  auto frames = frames_of_quick_jobs(options);
  EXPECT_GE(frames.size(), 80u) << "the debug log was not captured";
  EXPECT_EQ(count_ahead(frames), 0u);
}

}  // namespace
}  // namespace procpool::testing
