// The frames coordinator and worker exchange, built and read in one place so both sides agree.
//
// worker -> coordinator: hello {v, pid, host}; start {id, pid}; output frames (frame.h);
//                        end {id, how, code, sig, err, t0, t1, dur, ut, st, rss}
// coordinator -> worker: run {id, argv | sh, env, cwd, tmo, stop, mem, cpu, nice, slot};
//                        kill {id, now} (now: SIGKILL at once instead of the stop sequence)
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/frame.h"
#include "common/job.h"

namespace procpool {

// One step of stopping a process group: send `signal`, then wait `grace` before the next step.
struct StopStep {
  int signal;
  Millis grace;
};
// TERM, 200 ms, KILL: polite first, certain after.
std::vector<StopStep> default_stop_sequence();

// A `run` frame as the worker sees it.
struct Task {
  uint64_t id = 0;                         // the job's id
  std::vector<std::string> argv;           // exec'd directly when non-empty
  std::string shell;                       // else run by /bin/sh -c
  std::map<std::string, std::string> env;  // overrides of the worker's environment
  std::string cwd;                         // empty = the worker's own
  std::optional<Millis> timeout;           // per attempt
  std::vector<StopStep> stop;              // how to stop the group on timeout or kill
  Limits limits;                           // rlimits and niceness for the job's process
  int slot = 0;                            // the worker's slot (PROCPOOL_SLOT); 0 = unknown
};

json make_run_frame(const Job& job, const std::vector<StopStep>& stop);
// Throws ProtocolError when a field is missing or of the wrong type.
Task parse_run_frame(const json& frame);

// How an attempt ended, as the worker reports it in `end`.
enum class EndHow { kExited, kSignaled, kTimeout, kKilled, kError };
const char* end_how_name(EndHow how);
EndHow parse_end_how(const std::string& name);

// Reads field `key` of `frame` as T, throwing ProtocolError naming the field when it is absent
// or of the wrong type.
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

}  // namespace procpool
