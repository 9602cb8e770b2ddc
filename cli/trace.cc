#include "cli/trace.h"

#include <sys/time.h>

#include <nlohmann/json.hpp>
#include "common/log.h"

#include "cli/report_file.h"

namespace procpool {

// Keys in the order written, so a person reading the file sees ph, pid, tid, ts first.
using TraceJson = nlohmann::ordered_json;

namespace {

constexpr std::string_view kFlag = "--trace";
constexpr int kBatchPid = 1;
// Jobs that never started (skipped, cancelled before a worker took them) have no worker and no
// times; they are drawn as instant events in a lane of their own, so every job is in the trace.
constexpr int64_t kNotRunTid = 0;

int64_t wall_now_us() {
  timeval tv;
  ::gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

std::string dump(const TraceJson& j) {
  return j.dump(-1, ' ', false, TraceJson::error_handler_t::replace);
}

TraceJson metadata(const char* what, int64_t tid, const std::string& name) {
  TraceJson m = {{"ph", "M"}, {"pid", kBatchPid}};
  if (tid >= 0) m["tid"] = tid;
  m["name"] = what;
  m["args"] = {{"name", name}};
  return m;
}

// Chrome's reserved colour names: the Perfetto UI ignores them, chrome://tracing uses them.
const char* colour(Status s) {
  switch (s) {
    case Status::kOk:
      return "good";
    case Status::kFailed:
    case Status::kError:
      return "bad";
    case Status::kTimeout:
    case Status::kCrashed:
      return "terrible";
    case Status::kCancelled:
    case Status::kSkipped:
      return "grey";
  }
  return "grey";
}

}  // namespace

TraceRecorder::TraceRecorder(std::string path)
    : path_(std::move(path)), file_(create_report_file(kFlag, path_)), origin_us_(wall_now_us()) {
  write("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
  event(dump(metadata("process_name", -1, "procpool batch")));
}

void TraceRecorder::write(std::string_view text) {
  if (broken_) return;
  try {
    write_report(file_.get(), text, kFlag, path_);
  } catch (const std::exception& e) {
    // Said once: a full disk must not turn into one error line per job.
    broken_ = true;
    log::error("{}; the trace is incomplete", e.what());
  }
}

void TraceRecorder::event(const std::string& json_text) {
  write(first_event_ ? json_text : ",\n" + json_text);
  first_event_ = false;
}

void TraceRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  TraceJson args = {{"id", job.id},
                    {"status", status_name(r.status)},
                    {"exit_code", r.exit_code ? TraceJson(*r.exit_code) : TraceJson(nullptr)},
                    {"signal", r.signal ? TraceJson(signal_name(*r.signal)) : TraceJson(nullptr)},
                    {"attempts", r.attempts},
                    {"command", job.command_text()}};
  if (r.flaky()) args["flaky"] = true;
  if (!r.error.empty()) args["error"] = r.error;

  if (!r.started_us || !r.worker_pid) {
    if (named_lanes_.insert(kNotRunTid).second) {
      event(dump(metadata("thread_name", kNotRunTid, "not run (skipped, cancelled)")));
      // Last, below the workers' lanes.
      event(dump(TraceJson{{"ph", "M"},
                           {"pid", kBatchPid},
                           {"tid", kNotRunTid},
                           {"name", "thread_sort_index"},
                           {"args", {{"sort_index", 1000000}}}}));
    }
    event(dump(TraceJson{{"ph", "i"},
                         {"s", "t"},
                         {"pid", kBatchPid},
                         {"tid", kNotRunTid},
                         {"ts", wall_now_us() - origin_us_},
                         {"name", job.name},
                         {"cname", colour(r.status)},
                         {"args", args}}));
    return;
  }
  if (named_lanes_.insert(r.worker_pid).second) {
    std::string lane = "worker " + std::to_string(r.worker_pid);
    if (!r.host.empty()) lane += "@" + r.host;
    event(dump(metadata("thread_name", r.worker_pid, lane)));
  }
  // The Result keeps only the last attempt's times, so a retried job is one event spanning that
  // attempt (its "attempts" arg says how many there were); earlier attempts are not drawn.
  event(dump(TraceJson{{"ph", "X"},
                       {"pid", kBatchPid},
                       {"tid", r.worker_pid},
                       {"ts", r.started_us - origin_us_},
                       {"dur", std::max<int64_t>(0, r.ended_us - r.started_us)},
                       {"name", job.name},
                       {"cat", status_name(r.status)},
                       {"cname", colour(r.status)},
                       {"args", args}}));
}

void TraceRecorder::finish(const Summary& s) {
  TraceJson other = {{"batch_start", iso_time(origin_us_)},
                     {"batch_start_us", origin_us_},
                     {"total", s.total()},
                     {"ok", s.ok},
                     {"failed", s.failed},
                     {"timeout", s.timeout},
                     {"crashed", s.crashed},
                     {"error", s.error},
                     {"cancelled", s.cancelled},
                     {"skipped", s.skipped},
                     {"flaky", s.flaky},
                     {"duration", s.wall_s}};
  write("\n],\"otherData\":" + dump(other) + "}\n");
  file_.reset();
}

}  // namespace procpool
