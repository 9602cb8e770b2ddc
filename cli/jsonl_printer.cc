#include "cli/jsonl_printer.h"

#include <unistd.h>

#include "common/fd.h"

namespace procpool {

using json = nlohmann::ordered_json;  // keys in the order written: id and name first

namespace {

bool emit(const json& record) {
  std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace);
  line += '\n';
  return write_all(STDOUT_FILENO, line);
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
              {"host", r.host.empty() ? json(nullptr) : json(r.host)},
              {"stdout", r.output.text(Stream::kStdout)},
              {"stderr", r.output.text(Stream::kStderr)}};
  if (!r.error.empty()) rec["error"] = r.error;
  return rec;
}

bool JsonlPrinter::job(const Future& f) {
  return emit(job_record(f.job(), f.result()));
}

bool JsonlPrinter::summary(const Summary& s) {
  return emit({{"type", "summary"},
               {"total", s.total()},
               {"ok", s.ok},
               {"failed", s.failed},
               {"timeout", s.timeout},
               {"crashed", s.crashed},
               {"error", s.error},
               {"cancelled", s.cancelled},
               {"skipped", s.skipped},
               {"flaky", s.flaky},
               {"duration", s.wall_s}});
}

}  // namespace procpool
