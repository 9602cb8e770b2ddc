// Runs one batch on the main thread's loop, ninja-style: read what input the window allows,
// then wait for the next thing to happen: a job completing (the completion queue), a signal
// (a signalfd), the status line's timer, or more input when it is a pipe or a terminal. Jobs
// whose needs have not succeeded yet are held back; every finished job goes to the printer and
// the recorders, in completion order or, with keep_order, in input order. Every job read is
// accounted for: run, skipped or cancelled.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <procpool/completion_queue.h>
#include <procpool/pool.h>
#include "cli/halt_watch.h"
#include "cli/line_writer.h"
#include "cli/progress.h"
#include "cli/recorders.h"
#include "cli/report.h"
#include "cli/signals.h"
#include "cli/sources.h"

namespace procpool {

struct BatchSettings {
  std::string halt_text;    // the --halt flag as typed, for the log line
  bool keep_order = false;  // -k: report in input order
  size_t window = 0;        // jobs read but not yet reported, at most (0: no limit)
  // --resume: why a job need not run (it already succeeded), or nullopt to run it.
  std::function<std::optional<std::string>(const Job&)> already_done;
  // Longest first: each job's place in the planned start order, by id (empty: input order,
  // every job handed to the pool as soon as it may run). With a plan the pool gets only as many
  // jobs as it has workers, the next one from the ready jobs in plan order as each ends, so a
  // job whose needs are met late still starts in its planned place.
  std::unordered_map<uint64_t, size_t> start_rank;
  // With a plan: how many jobs the pool may hold at once (0: one per worker). A job waiting out
  // a --retry-delay holds no worker but still counts, so run_batch lifts the limit then.
  size_t planned_in_pool = 0;
};

// What the batch saw besides its jobs' results.
struct BatchOutcome {
  Summary summary;
  bool reader_left = false;        // our stdout's reader went away
  bool halted_on_success = false;  // --halt ...,success=N was reached
  std::string input_error;         // the source failed midway (message for a person)
  int stopped_by = 0;              // the first SIGINT or SIGTERM, or 0
};

// What the loop waits on besides the pool; any may be null.
struct BatchEvents {
  SignalEvents* signals = nullptr;  // SIGINT, SIGTERM, SIGHUP
  Progress* progress = nullptr;     // the status line's timer
  LiveLines* live = nullptr;        // --line-buffer: its reader may leave
  HaltWatch* halt = nullptr;        // --halt, decided in the pool
};

class Batch {
 public:
  Batch(ProcessPool& pool, Printer& printer, Recorders& recorders, BatchSettings settings,
        BatchEvents events)
      : pool_(pool),
        printer_(printer),
        recorders_(recorders),
        settings_(std::move(settings)),
        events_(events) {}
  BatchOutcome run(JobSource& source);

 private:
  void read_input();       // admits jobs while the window has room and input is ready
  void wait_and_handle();  // one poll, then whatever it reported
  bool finished() const;   // every job read has been handled, and no more will be
  void admit(Job job);     // submit, hold, or skip
  void submit(Job job);    // to the pool, or with a plan to the ready jobs
  void start_ready();      // ready jobs to the pool, in plan order, while it has idle workers
  bool start(Job job);     // to the pool now; false when it refused (the job is accounted for)
  size_t waiting() const;  // jobs read that wait for their needs or (with a plan) a worker
  void finish_without_running(Job job, Status s, std::string why, bool resumed = false);
  void handle(const Future& f);  // a completed job: record, report, release what needs it
  void release_dependents(const Future& f);
  void report(const Future& f);
  void on_signal(int signo);
  void notice_halt();
  // Starts nothing new; with `now`, also stops running jobs (`kill_now`: with SIGKILL).
  void stop(bool now, bool kill_now = false);

  ProcessPool& pool_;
  Printer& printer_;
  Recorders& recorders_;  // told of every job as it is handled
  BatchSettings settings_;
  BatchEvents events_;
  BatchOutcome outcome_;
  CompletionQueue completed_;  // every job's future, as it completes

  JobSource* source_ = nullptr;      // while run() runs
  bool source_done_ = false;         // nothing more will be read
  bool input_blocked_ = false;       // waiting for the input to be readable
  bool stopping_ = false;            // halt, signal or reader gone: start nothing new
  std::map<int, int> signals_seen_;  // by signal: how many so far
  uint64_t created_ = 0;             // futures made (run, skipped or cancelled)
  uint64_t handled_ = 0;             // futures handled
  std::map<uint64_t, Job> held_;     // waiting for their needs, by id
  std::map<std::pair<size_t, uint64_t>, Job> ready_;  // with a plan: may run, by (rank, id)
  std::set<uint64_t> in_pool_;              // with a plan: ids the pool has and has not finished
  std::map<std::string, Status> finished_;  // outcome of each finished job, by name
  std::map<uint64_t, Future> reorder_;      // -k: finished, waiting for earlier ids
  uint64_t next_to_print_ = 1;              // -k: the id printed next
};

}  // namespace procpool
