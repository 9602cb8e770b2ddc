#include "common/messages.h"

#include <csignal>

namespace procpool {

std::vector<StopStep> default_stop_sequence() {
  return {{SIGTERM, Millis(200)}, {SIGKILL, Millis(0)}};
}

json make_run_frame(const Job& job, const std::vector<StopStep>& stop) {
  json f = {{"t", "run"}, {"id", job.id}};
  if (!job.argv.empty()) {
    f["argv"] = job.argv;
  } else {
    f["sh"] = job.shell;
  }
  if (!job.env.empty()) f["env"] = job.env;
  if (!job.cwd.empty()) f["cwd"] = job.cwd;
  if (job.timeout) f["tmo"] = job.timeout->count();
  json steps = json::array();
  for (const auto& s : stop) steps.push_back({s.signal, s.grace.count()});
  f["stop"] = std::move(steps);
  if (job.limits.memory_bytes) f["mem"] = *job.limits.memory_bytes;
  if (job.limits.cpu) f["cpu"] = job.limits.cpu->count();
  if (job.limits.nice) f["nice"] = *job.limits.nice;
  return f;
}

Task parse_run_frame(const json& f) {
  Task t;
  t.id = field<uint64_t>(f, "id");
  if (f.contains("argv")) {
    t.argv = field<std::vector<std::string>>(f, "argv");
    if (t.argv.empty()) throw ProtocolError("run frame has an empty argv");
  } else {
    t.shell = field<std::string>(f, "sh");
  }
  if (f.contains("env")) t.env = field<std::map<std::string, std::string>>(f, "env");
  if (f.contains("cwd")) t.cwd = field<std::string>(f, "cwd");
  if (f.contains("tmo")) t.timeout = Millis(field<int64_t>(f, "tmo"));
  if (f.contains("stop")) {
    for (const auto& s : field<std::vector<std::pair<int, int64_t>>>(f, "stop")) {
      t.stop.push_back({s.first, Millis(s.second)});
    }
  }
  if (t.stop.empty()) t.stop = default_stop_sequence();
  if (f.contains("mem")) t.limits.memory_bytes = field<uint64_t>(f, "mem");
  if (f.contains("cpu")) t.limits.cpu = Millis(field<int64_t>(f, "cpu"));
  if (f.contains("nice")) t.limits.nice = field<int>(f, "nice");
  if (f.contains("slot")) t.slot = field<int>(f, "slot");
  return t;
}

const char* end_how_name(EndHow how) {
  switch (how) {
    case EndHow::kExited:
      return "exited";
    case EndHow::kSignaled:
      return "signaled";
    case EndHow::kTimeout:
      return "timeout";
    case EndHow::kKilled:
      return "killed";
    case EndHow::kError:
      return "error";
  }
  return "error";
}

EndHow parse_end_how(const std::string& name) {
  for (EndHow how :
       {EndHow::kExited, EndHow::kSignaled, EndHow::kTimeout, EndHow::kKilled, EndHow::kError}) {
    if (name == end_how_name(how)) return how;
  }
  throw ProtocolError("unknown end kind '" + name + "'");
}

}  // namespace procpool
