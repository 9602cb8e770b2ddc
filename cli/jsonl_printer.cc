#include "cli/jsonl_printer.h"

#include <unistd.h>

#include "cli/json_string.h"
#include "common/fd.h"

namespace procpool {

JsonObject job_record(const Job& job, const Result& r) {
  JsonObject rec;
  rec.add("type", "job").add("id", job.id).add("name", job.name);
  if (job.argv.empty()) {
    rec.add("cmd", job.shell);
  } else {
    rec.add("cmd", job.argv);
  }
  rec.add("status", status_name(r.status))
      .add("exit_code", r.exit_code)
      .add("signal", r.signal ? std::optional(signal_name(*r.signal)) : std::nullopt)
      .add("attempts", r.attempts)
      .add("flaky", r.flaky())
      .add("started", r.started_us ? std::optional(iso_time(r.started_us)) : std::nullopt)
      .add("ended", r.ended_us ? std::optional(iso_time(r.ended_us)) : std::nullopt)
      .add("duration", r.duration_s)
      .add("worker", r.worker_pid ? std::optional(r.worker_pid) : std::nullopt)
      .add("host", r.host.empty() ? std::nullopt : std::optional(r.host));
  if (!r.error.empty()) rec.add("error", r.error);
  if (r.resumed) rec.add("resumed", true);
  return rec;
}

bool JsonlPrinter::job(const Future& f) {
  const Result& r = f.result();
  std::string head = job_record(f.job(), r).text();
  head.pop_back();  // the closing brace: the output fields follow, streamed
  bool ok = write_all(STDOUT_FILENO, head);
  // Output may be far larger than memory: escape it piece by piece straight from its capture.
  for (Stream s : {Stream::kStdout, Stream::kStderr}) {
    if (!ok) break;
    ok = write_all(STDOUT_FILENO, s == Stream::kStdout ? ",\"stdout\":\"" : ",\"stderr\":\"");
    JsonStringWriter w([&](std::string_view piece) { ok = ok && write_all(STDOUT_FILENO, piece); });
    r.output.for_each([&](Stream which, std::string_view bytes) {
      if (which == s && ok) w.feed(bytes);
    });
    w.finish();
    ok = ok && write_all(STDOUT_FILENO, "\"");
  }
  return ok && write_all(STDOUT_FILENO, "}\n");
}

JsonObject& add_summary_counts(JsonObject& rec, const Summary& s) {
  return rec.add("total", s.total())
      .add("ok", s.ok)
      .add("failed", s.failed)
      .add("timeout", s.timeout)
      .add("crashed", s.crashed)
      .add("error", s.error)
      .add("cancelled", s.cancelled)
      .add("skipped", s.skipped)
      .add("flaky", s.flaky)
      .add("resumed", s.resumed)
      .add("duration", s.wall_s);
}

bool JsonlPrinter::summary(const Summary& s) {
  JsonObject rec;
  rec.add("type", "summary");
  return write_all(STDOUT_FILENO, add_summary_counts(rec, s).text() + "\n");
}

}  // namespace procpool
