#include "cli/trace.h"

#include <sys/time.h>

#include <algorithm>

#include "common/log.h"

#include "cli/flags.h"
#include "cli/json_writer.h"
#include "cli/jsonl_printer.h"
#include "cli/report_file.h"

namespace procpool {

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

// Keys in the order written, so a person reading the file sees ph, pid, tid, ts first.
std::string metadata(const char* what, int64_t tid, const std::string& name) {
  JsonObject m;
  m.add("ph", "M").add("pid", kBatchPid);
  if (tid >= 0) m.add("tid", tid);
  m.add("name", what).add("args", JsonObject().add("name", name));
  return m.text();
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

TraceRecorder::TraceRecorder(std::string path) : path_(std::move(path)), origin_us_(wall_now_us()) {
  try {
    // Valid JSON after every event: a killed procpool, or a full disk, still leaves a trace
    // that opens, of every job written so far.
    file_ = ValidFile(create_report_file(kFlag, path_), kFlag, path_, "JSON",
                      "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", "\n]}\n");
    event(metadata("process_name", -1, "procpool batch"));
  } catch (const std::runtime_error& e) {
    throw UsageError(e.what());
  }
}

void TraceRecorder::event(const std::string& json_text) {
  file_.write(first_event_ ? json_text : ",\n" + json_text);
  file_.commit();
  first_event_ = false;
}

void TraceRecorder::name_lane(int64_t tid, const std::function<void()>& write_metadata) {
  if (named_lanes_.count(tid)) return;
  write_metadata();
  named_lanes_.insert(tid);
}

void TraceRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  JsonObject args;
  args.add("id", job.id)
      .add("status", status_name(r.status))
      .add("exit_code", r.exit_code)
      .add("signal", r.signal ? std::optional(signal_name(*r.signal)) : std::nullopt)
      .add("attempts", r.attempts)
      .add("command", job.command_text());
  if (r.flaky()) args.add("flaky", true);
  if (!r.error.empty()) args.add("error", r.error);

  if (!r.started_us || !r.worker_pid) {
    name_lane(kNotRunTid, [&] {
      event(metadata("thread_name", kNotRunTid, "not run (skipped, cancelled)"));
      // Last, below the workers' lanes.
      event(JsonObject()
                .add("ph", "M")
                .add("pid", kBatchPid)
                .add("tid", kNotRunTid)
                .add("name", "thread_sort_index")
                .add("args", JsonObject().add("sort_index", 1000000))
                .text());
    });
    event(JsonObject()
              .add("ph", "i")
              .add("s", "t")
              .add("pid", kBatchPid)
              .add("tid", kNotRunTid)
              .add("ts", wall_now_us() - origin_us_)
              .add("name", job.name)
              .add("cname", colour(r.status))
              .add("args", args)
              .text());
    return;
  }
  name_lane(r.worker_pid, [&] {
    std::string lane = "worker " + std::to_string(r.worker_pid);
    if (!r.host.empty()) lane += "@" + r.host;
    event(metadata("thread_name", r.worker_pid, lane));
  });
  // The Result keeps only the last attempt's times, so a retried job is one event spanning that
  // attempt (its "attempts" arg says how many there were); earlier attempts are not drawn.
  event(JsonObject()
            .add("ph", "X")
            .add("pid", kBatchPid)
            .add("tid", r.worker_pid)
            .add("ts", r.started_us - origin_us_)
            .add("dur", std::max<int64_t>(0, r.ended_us - r.started_us))
            .add("name", job.name)
            .add("cat", status_name(r.status))
            .add("cname", colour(r.status))
            .add("args", args)
            .text());
}

void TraceRecorder::finish(const Summary& s) {
  JsonObject other;
  other.add("batch_start", iso_time(origin_us_)).add("batch_start_us", origin_us_);
  add_summary_counts(other, s);
  file_.replace_tail("\n],\"otherData\":" + other.text() + "}\n");
}

}  // namespace procpool
