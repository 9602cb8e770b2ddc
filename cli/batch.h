// Runs one batch: feeds jobs from a source into the pool (holding back those whose needs have
// not succeeded yet), and hands every finished job to the printer, in completion order or,
// with keep_order, in input order. Every job read is accounted for: run, skipped or cancelled.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/report.h"
#include "cli/sources.h"
#include "common/pool.h"

namespace procpool {

struct BatchSettings {
  HaltPolicy halt;          // when to stop early
  std::string halt_text;    // the flag as typed, for the log line
  bool keep_order = false;  // -k: report in input order
  size_t window = 0;        // streamed sources: jobs read but not yet reported, at most
  // --resume: why a job need not run (it already succeeded), or nullopt to run it. Called
  // from the feeder thread as each job is admitted.
  std::function<std::optional<std::string>(const Job&)> already_done;
};

struct BatchOutcome {
  Summary summary;
  bool reader_left = false;        // our stdout's reader went away
  bool halted_on_success = false;  // --halt ...,success=N was reached
  std::string input_error;         // the source failed midway (message for a person)
};

class Batch {
 public:
  Batch(ProcessPool& pool, Printer& printer, std::vector<Recorder*> recorders,
        BatchSettings settings)
      : pool_(pool),
        printer_(printer),
        recorders_(std::move(recorders)),
        settings_(std::move(settings)) {}
  BatchOutcome run(JobSource& source);
  // Stops the batch: `now` stops running jobs too. Safe from any thread.
  void stop(bool now, bool kill_now = false);
  // Marks that stdout's reader has gone (from live output); the batch then stops.
  void reader_left() { reader_left_ = true; }

 private:
  void feed(JobSource& source);
  void admit(Job job);   // submit, hold, or skip; under mu_
  void submit(Job job);  // under mu_
  void finish_without_running(Job job, Status s, std::string why,
                              bool resumed = false);  // under mu_
  void on_done(const Future& f);                      // from any thread
  void release_dependents(const Future& f);           // main thread, under mu_
  void report(const Future& f);                       // main thread
  void stop_locked(bool now, bool kill_now);
  // The next future to handle, or nullopt once every job read has been handled.
  std::optional<Future> next_completed();
  // A feeder that filled the window reads again once no more than this many are outstanding.
  uint64_t refill_mark() const {
    return settings_.window - std::max<uint64_t>(1, settings_.window / 4);
  }

  ProcessPool& pool_;
  Printer& printer_;
  std::vector<Recorder*> recorders_;  // told of every job as it is handled
  BatchSettings settings_;
  BatchOutcome outcome_;
  std::atomic<bool> reader_left_{false};
  JobSource* source_ = nullptr;  // while run() runs: interrupted on stop

  // Recursive: a future cancelled under us runs its done-callback (on_done) at once, in the
  // thread that holds this lock while submitting.
  std::recursive_mutex mu_;                 // guards everything below
  std::condition_variable_any cv_;          // completions arrived, or the end (main thread)
  std::condition_variable_any room_;        // room in the window, or stopping (the feeder)
  std::deque<Future> completed_;            // done, not yet handled by the main thread
  uint64_t created_ = 0;                    // futures made (run, skipped or cancelled)
  uint64_t handled_ = 0;                    // futures the main thread has handled
  bool source_done_ = false;                // the feeder has finished
  bool stopping_ = false;                   // halt, signal or reader gone: start nothing new
  std::map<uint64_t, Job> held_;            // waiting for their needs, by id
  std::map<std::string, Status> finished_;  // outcome of each finished job, by name
  std::map<uint64_t, Future> reorder_;      // -k: finished, waiting for earlier ids
  uint64_t next_to_print_ = 1;              // -k: the id printed next
  // For --halt: counted as results arrive. Percentages are of the whole batch when its size
  // is known up front, else of the jobs read so far.
  uint64_t ran_ok_ = 0, ran_failed_ = 0;
  std::optional<uint64_t> total_;
};

}  // namespace procpool
