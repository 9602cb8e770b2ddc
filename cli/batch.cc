#include "cli/batch.h"

#include <thread>

#include "common/log.h"

#include "common/job_file.h"

namespace procpool {

void Batch::on_done(const Future& f) {
  {
    std::lock_guard lock(mu_);
    completed_.push_back(f);
    // Decided here, in the pool's manager thread, before it hands the freed worker another
    // job: a halt on the first failure must not let one more job start.
    Status s = f.result().status;
    if (s == Status::kOk) ++ran_ok_;
    if (s == Status::kFailed || s == Status::kTimeout || s == Status::kCrashed ||
        s == Status::kError) {
      ++ran_failed_;
    }
    uint64_t batch_size = total_.value_or(created_ + held_.size());
    if (!stopping_ && settings_.halt.triggered(ran_failed_, ran_ok_, batch_size)) {
      bool now = settings_.halt.when == HaltPolicy::When::kNow;
      outcome_.halted_on_success = settings_.halt.count == HaltPolicy::Count::kSuccess;
      log::warn("halting ({}): {}", settings_.halt_text,
                now ? "stopping running jobs" : "starting no new jobs");
      stop_locked(now, false);
    }
  }
  cv_.notify_all();
}

void Batch::submit(Job job) {
  ++created_;
  try {
    Future f = pool_.submit(std::move(job));
    f.add_done_callback([this](const Future& done) { on_done(done); });
  } catch (const std::runtime_error& e) {
    // The pool was shut down under us (a signal): account for the job anyway.
    log::debug("not submitted: {}", e.what());
    --created_;
    stopping_ = true;
  }
}

void Batch::finish_without_running(Job job, Status s, std::string why, bool resumed) {
  ++created_;
  Future f(std::move(job));
  if (s == Status::kCancelled) {
    f.cancel();
  } else {
    f.set_running_or_notify_cancel();
    Result r;
    r.status = s;
    r.error = std::move(why);
    r.resumed = resumed;
    f.set_result(std::move(r));
  }
  completed_.push_back(f);
  cv_.notify_all();
}

void Batch::admit(Job job) {
  if (stopping_) {
    finish_without_running(std::move(job), Status::kCancelled, "");
    return;
  }
  if (settings_.already_done) {
    if (std::optional<std::string> why = settings_.already_done(job)) {
      finish_without_running(std::move(job), Status::kSkipped, std::move(*why), /*resumed=*/true);
      return;
    }
  }
  for (const auto& need : job.needs) {
    auto it = finished_.find(need);
    if (it == finished_.end()) {
      held_.emplace(job.id, std::move(job));
      return;
    }
    if (it->second != Status::kOk) {
      std::string why = fmt::format("needs {}: {}", need, status_name(it->second));
      finish_without_running(std::move(job), Status::kSkipped, std::move(why));
      return;
    }
  }
  submit(std::move(job));
}

void Batch::feed(JobSource& source) {
  try {
    while (auto job = source.next()) {
      std::unique_lock lock(mu_);
      if (settings_.window > 0 && created_ - handled_ >= settings_.window) {
        // Full: wait until a quarter of the window is free, then read that much in one go.
        // Waking for every reported job cost each job two more thread switches.
        room_.wait(lock, [&] { return stopping_ || created_ - handled_ <= refill_mark(); });
      }
      if (stopping_ && !source.drainable()) break;
      admit(std::move(*job));
    }
  } catch (const std::exception& e) {
    // Bad input midway (InputError), or the input could not be read at all: what was read
    // still runs to the end and is reported; nothing more is read.
    std::lock_guard lock(mu_);
    outcome_.input_error = e.what();
    stop_locked(/*now=*/false, false);
  }
  std::lock_guard lock(mu_);
  source_done_ = true;
  // Nothing more will arrive, so jobs still held wait for needs that are never coming only
  // when those were never in the input at all (impossible for checked job files).
  cv_.notify_all();
}

void Batch::release_dependents(const Future& f) {
  // A job --resume skipped succeeded before: what needs it may run.
  finished_[f.job().name] = f.result().resumed ? Status::kOk : f.result().status;
  if (held_.empty()) return;
  std::vector<Job> ready;
  for (auto it = held_.begin(); it != held_.end();) {
    const auto& needs = it->second.needs;
    bool waiting = false;
    bool involved = std::find(needs.begin(), needs.end(), f.job().name) != needs.end();
    if (!involved) {
      ++it;
      continue;
    }
    for (const auto& need : needs) waiting = waiting || !finished_.count(need);
    bool failed_need = false;
    for (const auto& need : needs) {
      auto st = finished_.find(need);
      failed_need = failed_need || (st != finished_.end() && st->second != Status::kOk);
    }
    if (waiting && !failed_need) {
      ++it;
      continue;
    }
    ready.push_back(std::move(it->second));
    it = held_.erase(it);
  }
  // Re-admitted in id order: admit() skips those with a failed need and submits the rest.
  for (auto& job : ready) admit(std::move(job));
}

void Batch::stop_locked(bool now, bool kill_now) {
  stopping_ = true;
  if (source_ && !source_->drainable()) source_->interrupt();
  for (auto& [id, job] : held_) finish_without_running(std::move(job), Status::kCancelled, "");
  held_.clear();
  if (now) {
    pool_.terminate(kill_now);
  } else {
    pool_.shutdown(/*wait=*/false, /*cancel_pending=*/true);
  }
  cv_.notify_all();
  room_.notify_all();
}

void Batch::stop(bool now, bool kill_now) {
  std::lock_guard lock(mu_);
  stop_locked(now, kill_now);
}

void Batch::report(const Future& f) {
  if (outcome_.reader_left) return;
  bool written = false;
  try {
    written = printer_.job(f);
  } catch (const std::exception& e) {
    // stdout closed (EBADF), a full disk behind a redirection: the same as a reader gone.
    log::error("cannot write the output of job '{}': {}", f.job().name, e.what());
  }
  if (!written) {
    outcome_.reader_left = true;
    stop(/*now=*/true);
  }
}

std::optional<Future> Batch::next_completed() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] {
    return !completed_.empty() || (source_done_ && held_.empty() && handled_ == created_);
  });
  if (completed_.empty()) return std::nullopt;
  Future next = completed_.front();
  completed_.pop_front();
  ++handled_;
  release_dependents(next);
  if (settings_.window > 0 && created_ - handled_ <= refill_mark()) room_.notify_one();
  return next;
}

BatchOutcome Batch::run(JobSource& source) {
  {
    std::lock_guard lock(mu_);
    source_ = &source;
  }
  total_ = source.size();
  std::thread feeder([&] { feed(source); });
  while (std::optional<Future> next = next_completed()) {
    const Future& f = *next;
    outcome_.summary.add(f.job(), f.result());
    for (Recorder* r : recorders_) {
      try {
        r->job(f);
      } catch (const std::exception& e) {
        log::error("cannot record job '{}': {}", f.job().name, e.what());
      }
    }

    if (settings_.keep_order) {
      reorder_.emplace(f.job().id, f);
      for (auto it = reorder_.find(next_to_print_); it != reorder_.end();
           it = reorder_.find(next_to_print_)) {
        report(it->second);
        reorder_.erase(it);
        ++next_to_print_;
      }
    } else {
      report(f);
    }
    if (reader_left_ && !outcome_.reader_left) {
      outcome_.reader_left = true;
      stop(/*now=*/true);
    }
  }
  feeder.join();
  {
    std::lock_guard lock(mu_);
    source_ = nullptr;
  }
  // -k: whatever is still waiting (ids that were never read after a halt) goes out in order.
  for (auto& [id, f] : reorder_) report(f);
  reorder_.clear();
  return outcome_;
}

}  // namespace procpool
