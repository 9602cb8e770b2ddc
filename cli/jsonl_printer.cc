#include "cli/jsonl_printer.h"

#include <unistd.h>

#include "cli/json_string.h"
#include "common/fd.h"

namespace procpool {

using json = nlohmann::ordered_json;  // keys in the order written: id and name first

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json job_record(const Job& job, const Result& r) {
  json rec = {{"type", "job"},
              {"id", job.id},
              {"name", job.name},
              {"cmd", job.argv.empty() ? json(job.shell) : json(job.argv)},
              {"status", status_name(r.status)},
              {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
              {"signal", r.signal ? json(signal_name(*r.signal)) : json(nullptr)},
              {"attempts", r.attempts},
              {"flaky", r.flaky()},
              {"started", r.started_us ? json(iso_time(r.started_us)) : json(nullptr)},
              {"ended", r.ended_us ? json(iso_time(r.ended_us)) : json(nullptr)},
              {"duration", r.duration_s},
              {"worker", r.worker_pid ? json(r.worker_pid) : json(nullptr)},
              {"host", r.host.empty() ? json(nullptr) : json(r.host)}};
  if (!r.error.empty()) rec["error"] = r.error;
  if (r.resumed) rec["resumed"] = true;
  return rec;
}

bool JsonlPrinter::job(const Future& f) {
  const Result& r = f.result();
  std::string head = dump(job_record(f.job(), r));
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

bool JsonlPrinter::summary(const Summary& s) {
  json rec = {{"type", "summary"},  {"total", s.total()},       {"ok", s.ok},
              {"failed", s.failed}, {"timeout", s.timeout},     {"crashed", s.crashed},
              {"error", s.error},   {"cancelled", s.cancelled}, {"skipped", s.skipped},
              {"flaky", s.flaky},   {"resumed", s.resumed},     {"duration", s.wall_s}};
  return write_all(STDOUT_FILENO, dump(rec) + "\n");
}

}  // namespace procpool
