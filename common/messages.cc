#include "common/messages.h"

#include <csignal>

#include <nlohmann/json.hpp>

namespace procpool {

using json = nlohmann::json;

namespace {

void append_json(std::string& out, const json& body) {
  std::string encoded;
  json::to_msgpack(body, nlohmann::detail::output_adapter<char>(encoded));
  append_frame(out, encoded);
}

json parse(std::string_view body) {
  try {
    return json::from_msgpack(body.begin(), body.end());
  } catch (const json::exception& e) {
    throw ProtocolError(std::string("undecodable frame: ") + e.what());
  }
}

// Field `key` of `frame` as T; ProtocolError naming the field when absent or of the wrong type.
template <typename T>
T field(const json& frame, const char* key) {
  auto it = frame.find(key);
  if (it == frame.end()) throw ProtocolError(std::string("frame lacks field '") + key + "'");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw ProtocolError(std::string("frame field '") + key + "' has the wrong type");
  }
}

template <typename T>
void optional_field(const json& frame, const char* key, std::optional<T>& out) {
  if (frame.contains(key)) out = field<T>(frame, key);
}

EndHow parse_end_how(const std::string& name) {
  for (EndHow how : {EndHow::kExited, EndHow::kSignaled, EndHow::kTimeout, EndHow::kKilled,
                     EndHow::kError, EndHow::kRefused, EndHow::kReturned}) {
    if (name == end_how_name(how)) return how;
  }
  throw ProtocolError("unknown end kind '" + name + "'");
}

Task decode_task(const json& f) {
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
  optional_field(f, "mem", t.limits.memory_bytes);
  if (f.contains("cpu")) t.limits.cpu = Millis(field<int64_t>(f, "cpu"));
  optional_field(f, "nice", t.limits.nice);
  if (f.contains("slot")) t.slot = field<int>(f, "slot");
  if (f.contains("load")) {
    auto [per_cpu, plus] = field<std::pair<double, double>>(f, "load");
    t.max_load = LoadLimit{per_cpu, plus};
  }
  optional_field(f, "memfree", t.min_memory_available);
  if (f.contains("ahead")) {
    int ahead = field<int>(f, "ahead");
    if (ahead < 0 || ahead > static_cast<int>(Ahead::kAfterEnd)) {
      throw ProtocolError("run frame has an unknown ahead kind");
    }
    t.ahead = static_cast<Ahead>(ahead);
  }
  return t;
}

Ended decode_ended(const json& f) {
  Ended e;
  e.id = field<uint64_t>(f, "id");
  e.how = parse_end_how(field<std::string>(f, "how"));
  optional_field(f, "code", e.code);
  optional_field(f, "sig", e.sig);
  if (f.contains("err")) e.err = field<std::string>(f, "err");
  if (f.contains("t0")) e.t0 = field<int64_t>(f, "t0");
  if (f.contains("t1")) e.t1 = field<int64_t>(f, "t1");
  optional_field(f, "dur", e.dur);
  if (f.contains("ut")) e.ut = field<double>(f, "ut");
  if (f.contains("st")) e.st = field<double>(f, "st");
  if (f.contains("rss")) e.rss = field<int64_t>(f, "rss");
  return e;
}

}  // namespace

std::vector<StopStep> default_stop_sequence() {
  return {{SIGTERM, Millis(200)}, {SIGKILL, Millis(0)}};
}

Millis stop_sequence_length(const std::vector<StopStep>& steps) {
  Millis total{0};
  for (const auto& s : steps) total += s.grace;
  return total;
}

Task Task::of(const Job& job, const std::vector<StopStep>& stop, int slot) {
  Task t;
  t.id = job.id;
  t.argv = job.argv;
  if (t.argv.empty()) t.shell = job.shell_in_slot(slot);
  t.env = job.env;
  t.cwd = job.cwd;
  t.timeout = job.timeout;
  t.stop = stop;
  t.limits = job.limits;
  t.slot = slot;
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
    case EndHow::kRefused:
      return "refused";
    case EndHow::kReturned:
      return "returned";
  }
  return "error";
}

void append_message(std::string& out, const Hello& m) {
  append_json(out, {{"t", "hello"}, {"v", m.version}, {"pid", m.pid}, {"host", m.host}});
}

void append_message(std::string& out, const Task& m) {
  json f = {{"t", "run"}, {"id", m.id}};
  if (!m.argv.empty()) {
    f["argv"] = m.argv;
  } else {
    f["sh"] = m.shell;
  }
  if (!m.env.empty()) f["env"] = m.env;
  if (!m.cwd.empty()) f["cwd"] = m.cwd;
  if (m.timeout) f["tmo"] = m.timeout->count();
  json steps = json::array();
  for (const auto& s : m.stop) steps.push_back({s.signal, s.grace.count()});
  f["stop"] = std::move(steps);
  if (m.limits.memory_bytes) f["mem"] = *m.limits.memory_bytes;
  if (m.limits.cpu) f["cpu"] = m.limits.cpu->count();
  if (m.limits.nice) f["nice"] = *m.limits.nice;
  if (m.slot) f["slot"] = m.slot;
  if (m.max_load) f["load"] = {m.max_load->per_cpu, m.max_load->plus};
  if (m.min_memory_available) f["memfree"] = *m.min_memory_available;
  if (m.ahead != Ahead::kNo) f["ahead"] = static_cast<int>(m.ahead);
  append_json(out, f);
}

void append_message(std::string& out, const Started& m) {
  append_json(out, {{"t", "start"}, {"id", m.id}, {"pid", m.pid}});
}

void append_message(std::string& out, const Gate& m) {
  append_json(out, {{"t", "gate"}, {"id", m.id}, {"held", m.held}, {"why", m.why}});
}

void append_message(std::string& out, const Ended& m) {
  json f = {{"t", "end"}, {"id", m.id}, {"how", end_how_name(m.how)}};
  if (m.code) f["code"] = *m.code;
  if (m.sig) f["sig"] = *m.sig;
  if (!m.err.empty()) f["err"] = m.err;
  if (m.t0) f["t0"] = m.t0;
  if (m.t1) f["t1"] = m.t1;
  if (m.dur) f["dur"] = *m.dur;
  if (m.ut) f["ut"] = m.ut;
  if (m.st) f["st"] = m.st;
  if (m.rss) f["rss"] = m.rss;
  append_json(out, f);
}

void append_message(std::string& out, const Kill& m) {
  append_json(out, {{"t", "kill"}, {"id", m.id}, {"now", m.now}});
}

void append_message(std::string& out, const Withdraw& m) {
  append_json(out, {{"t", "back"}, {"id", m.id}});
}

FromWorker decode_from_worker(std::string_view body) {
  json f = parse(body);
  std::string type = field<std::string>(f, "t");
  if (type == "end") return decode_ended(f);
  if (type == "start") return Started{field<uint64_t>(f, "id"), field<int64_t>(f, "pid")};
  if (type == "gate") {
    return Gate{field<uint64_t>(f, "id"), field<bool>(f, "held"), field<std::string>(f, "why")};
  }
  if (type == "hello") {
    return Hello{field<int>(f, "v"), field<int64_t>(f, "pid"), field<std::string>(f, "host")};
  }
  throw ProtocolError("unknown frame type '" + type + "' from a worker");
}

ToWorker decode_to_worker(std::string_view body) {
  json f = parse(body);
  std::string type = field<std::string>(f, "t");
  if (type == "run") return decode_task(f);
  if (type == "kill") return Kill{field<uint64_t>(f, "id"), f.value("now", false)};
  if (type == "back") return Withdraw{field<uint64_t>(f, "id")};
  throw ProtocolError("unknown frame type '" + type + "' from the coordinator");
}

std::string describe_message(std::string_view body) {
  try {
    return parse(body).dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const ProtocolError& e) {
    return e.what();
  }
}

}  // namespace procpool
