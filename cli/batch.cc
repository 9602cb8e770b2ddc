#include "cli/batch.h"

#include <poll.h>

#include <algorithm>
#include <csignal>
#include <new>

#include <fmt/format.h>

#include "common/log.h"

namespace procpool {

BatchOutcome Batch::run(JobSource& source) {
  source_ = &source;
  while (!finished()) {
    read_input();
    if (finished()) break;
    wait_and_handle();
  }
  source_ = nullptr;
  // -k: whatever is still waiting (ids that were never read after a halt) goes out in order.
  for (auto& [id, f] : reorder_) report(f);
  reorder_.clear();
  outcome_.halted_on_success = events_.halt && events_.halt->on_success();
  return outcome_;
}

bool Batch::finished() const {
  return source_done_ && held_.empty() && ready_.empty() && handled_ == created_;
}

size_t Batch::waiting() const {
  return held_.size() + ready_.size();
}

void Batch::read_input() {
  while (!source_done_ && !input_blocked_) {
    // Streamed inputs may be endless: read only a bounded way ahead of what has been reported.
    if (settings_.window > 0 && created_ + waiting() - handled_ >= settings_.window) break;
    std::optional<Job> job;
    Fetched got;
    try {
      got = source_->fetch(job);
    } catch (const std::exception& e) {
      // Bad input midway (InputError), or input that cannot be read: what was read still
      // runs to the end and is reported; nothing more is read.
      outcome_.input_error = e.what();
      source_done_ = true;  // not stop(): that would cancel what was read and not yet started
      break;
    }
    if (got == Fetched::kEnd) source_done_ = true;
    if (got == Fetched::kBlocked) input_blocked_ = true;
    if (got != Fetched::kJob) break;
    admit(std::move(*job));
    if (events_.halt) events_.halt->jobs_read(created_ + waiting());
  }
}

void Batch::wait_and_handle() {
  pollfd fds[4] = {{completed_.fd(), POLLIN, 0},
                   {events_.signals ? events_.signals->fd() : -1, POLLIN, 0},
                   {input_blocked_ && !source_done_ ? source_->wait_fd() : -1, POLLIN, 0},
                   {events_.halt && !stopping_ ? events_.halt->fd() : -1, POLLIN, 0}};
  int timeout_ms = -1;
  if (auto due = events_.progress ? events_.progress->next_due() : std::nullopt) {
    auto left = std::chrono::ceil<Millis>(*due - Clock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
  }
  if (::poll(fds, 4, timeout_ms) < 0 && errno != EINTR) throw_errno("poll");
  if (fds[1].revents) {
    for (int signo : events_.signals->take()) on_signal(signo);
  }
  if (fds[2].revents) input_blocked_ = false;
  if (fds[3].revents) notice_halt();  // decided after the job that caused it was handled
  while (std::optional<Future> f = completed_.try_pop()) {
    handle(*f);
    notice_halt();
    if (events_.live && events_.live->reader_left() && !outcome_.reader_left) {
      outcome_.reader_left = true;
      stop(/*now=*/true);
    }
  }
  if (events_.progress) events_.progress->tick();
}

void Batch::on_signal(int signo) {
  int count = ++signals_seen_[signo];
  if (signo == SIGHUP) {
    if (count == 1) log::warn("SIGHUP: starting no new jobs; letting running ones finish");
    stop(/*now=*/false);
    return;
  }
  if (outcome_.stopped_by == 0) outcome_.stopped_by = signo;
  if (count == 1) {
    log::warn("{}: stopping all jobs (again to kill them at once)",
              signo == SIGINT ? "interrupted" : "SIGTERM");
    stop(/*now=*/true);
  } else {
    stop(/*now=*/true, /*kill_now=*/true);
  }
}

void Batch::notice_halt() {
  if (stopping_ || !events_.halt) return;
  // The watch's own record: the pool's is set a moment later, on its thread.
  Halt halt = events_.halt->decided();
  if (halt == Halt::kNo) return;
  // The pool already acted, before any worker got another job; here the rest of the batch
  // follows: held jobs are cancelled and a pipe is read no further.
  bool now = halt == Halt::kNow;
  log::warn("halting ({}): {}", settings_.halt_text,
            now ? "stopping running jobs" : "starting no new jobs");
  stop(now);
}

void Batch::stop(bool now, bool kill_now) {
  stopping_ = true;
  // A pipe or terminal may never end, nor even say anything more: once stopping, it is not read
  // any further (decided here, not when it next has data). Files and arguments are read to the
  // end, each job reported cancelled, so every input is accounted for.
  if (source_ && !source_->drainable()) source_done_ = true;
  for (auto& [id, job] : held_) finish_without_running(std::move(job), Status::kCancelled, "");
  held_.clear();
  for (auto& [key, job] : ready_) finish_without_running(std::move(job), Status::kCancelled, "");
  ready_.clear();
  if (now) {
    pool_.terminate(kill_now);
  } else {
    pool_.shutdown(/*wait=*/false, /*cancel_pending=*/true);
  }
}

void Batch::submit(Job job) {
  if (settings_.start_rank.empty()) {
    start(std::move(job));
    return;
  }
  auto rank = settings_.start_rank.find(job.id);
  size_t key = rank == settings_.start_rank.end() ? settings_.start_rank.size() : rank->second;
  ready_.emplace(std::pair(key, job.id), std::move(job));
  start_ready();
}

void Batch::start_ready() {
  // The pool starts jobs first come, first served: given only what its workers can start now,
  // it starts them in the planned order, also those whose needs are met later.
  size_t limit =
      settings_.planned_in_pool ? settings_.planned_in_pool : static_cast<size_t>(pool_.workers());
  while (!ready_.empty() && in_pool_.size() < limit) {
    auto first = ready_.begin();
    Job job = std::move(first->second);
    ready_.erase(first);
    uint64_t id = job.id;
    if (start(std::move(job))) in_pool_.insert(id);
  }
}

bool Batch::start(Job job) {
  // What it needs has succeeded (admit waited for it): the pool, which does not order jobs,
  // would refuse a job that still names them.
  job.needs.clear();
  try {
    Future f = pool_.submit(job);
    ++created_;
    completed_.add(f);
    return true;
  } catch (const std::runtime_error& e) {
    // The pool stopped taking jobs under us (a halt it decided, or it broke): the job is
    // accounted for all the same.
    log::debug("not submitted: {}", e.what());
    std::optional<std::string> broken = pool_.broken();
    finish_without_running(std::move(job), broken ? Status::kError : Status::kCancelled,
                           broken.value_or(""));
  }
  return false;
}

void Batch::finish_without_running(Job job, Status s, std::string why, bool resumed) {
  ++created_;
  Future f(std::move(job));
  if (s == Status::kCancelled && why.empty()) {
    f.cancel();
  } else {
    f.set_running_or_notify_cancel();
    Result r;
    r.status = s;
    r.error = std::move(why);
    r.resumed = resumed;
    f.set_result(std::move(r));
  }
  completed_.add(f);
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

void Batch::release_dependents(const Future& f) {
  // A job --resume skipped succeeded before: what needs it may run.
  finished_[f.job().name] = f.result().resumed ? Status::kOk : f.result().status;
  if (held_.empty()) return;
  std::vector<Job> ready;
  for (auto it = held_.begin(); it != held_.end();) {
    const auto& needs = it->second.needs;
    if (std::find(needs.begin(), needs.end(), f.job().name) == needs.end()) {
      ++it;
      continue;
    }
    bool waiting = false, failed_need = false;
    for (const auto& need : needs) {
      auto st = finished_.find(need);
      waiting = waiting || st == finished_.end();
      failed_need = failed_need || (st != finished_.end() && st->second != Status::kOk);
    }
    if (waiting && !failed_need) {
      ++it;
      continue;
    }
    ready.push_back(std::move(it->second));
    it = held_.erase(it);
  }
  // Re-admitted in id order: admit() skips those with a failed need and submits the rest (in
  // the planned order, when there is one).
  for (auto& job : ready) admit(std::move(job));
}

void Batch::handle(const Future& f) {
  ++handled_;
  release_dependents(f);
  if (in_pool_.erase(f.job().id)) start_ready();
  outcome_.summary.add(f.job(), f.result());
  recorders_.job(f);
  if (!settings_.keep_order) {
    report(f);
    return;
  }
  reorder_.emplace(f.job().id, f);
  for (auto it = reorder_.find(next_to_print_); it != reorder_.end();
       it = reorder_.find(next_to_print_)) {
    report(it->second);
    reorder_.erase(it);
    ++next_to_print_;
  }
}

void Batch::report(const Future& f) {
  if (outcome_.reader_left) return;
  bool written = false;
  try {
    written = printer_.job(f);
  } catch (const std::bad_alloc&) {
    // Costs this job's block, not the batch: its result is in the summary and the files.
    log::error("cannot print the output of job '{}': out of memory", f.job().name);
    written = true;
  } catch (const std::exception& e) {
    // stdout closed (EBADF), a full disk behind a redirection: the same as a reader gone.
    log::error("cannot write the output of job '{}': {}", f.job().name, e.what());
  }
  if (!written) {
    outcome_.reader_left = true;
    stop(/*now=*/true);
  }
}

}  // namespace procpool
