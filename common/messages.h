// The messages coordinator and worker exchange: one struct per frame, encoded and decoded in
// messages.cc alone, so both sides agree by construction.
//
// worker -> coordinator: Hello {v, pid, host}; Started {id, pid}; Gate (`gate`) {id, held, why};
//                        output frames (frame.h);
//                        Ended {id, how, code, sig, err, t0, t1, dur, ut, st, rss}
// coordinator -> worker: Task (`run`) {id, argv | sh, env, cwd, tmo, stop, mem, cpu, nice, slot,
//                        load, memfree};
//                        Kill {id, now} (now: SIGKILL at once instead of the stop sequence);
//                        Withdraw (`back`) {id}: a task sent ahead and not started, handed back;
//                        a job's stdin goes before its task, in stream-0 output frames
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <procpool/job.h>
#include <procpool/start_gate.h>
#include "common/frame.h"

namespace procpool {

// The worker introduces itself; nothing else is sent before it.
struct Hello {
  int version = kProtocolVersion;  // a mismatch is an error naming both versions
  int64_t pid = 0;                 // the worker's pid on its own machine
  std::string host;                // its host name
};

// Whether a task is sent ahead, and after what the worker may start it without being told.
enum class Ahead {
  kNo,        // not ahead: started on arrival (once the worker is free)
  kAfterOk,   // only after the task before it exited 0 (a pool that halts on failures)
  kAfterEnd,  // after any end of the task before it, except a refusal (kRefused)
};

// `run`: a job for the worker.
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
  // Start it only while the worker's host allows (PoolOptions::max_load, min_memory_available).
  std::optional<LoadLimit> max_load;             // `load`: [per_cpu, plus]
  std::optional<uint64_t> min_memory_available;  // `memfree`: bytes
  // Sent ahead, while the worker still runs the task before it: it starts as soon as that one
  // ends, without waiting to be told, unless that one ended in a way `ahead` excludes; then it
  // is handed back unstarted (an Ended of kind kReturned).
  Ahead ahead = Ahead::kNo;

  // What `job` asks for, as one attempt to run on the worker in `slot` (written at the job's
  // slot_spots). Its input is not in it: append_input_frames sends that.
  static Task of(const Job& job, const std::vector<StopStep>& stop, int slot);
};

// Sent for a task with start conditions (Task::max_load, min_memory_available) instead of
// starting it. `held`: the worker's host does not allow it yet (`why`: the reading, and the
// limit it is not within); the task stays queued on the worker, which looks again on a timer,
// and a `start` frame follows once it allows. Not `held`: the host cannot tell (`why`: the file
// that could not be read), and the task starts as if it allowed; sent once per worker.
struct Gate {
  uint64_t id = 0;
  bool held = true;
  std::string why;
};

// The job's process started.
struct Started {
  uint64_t id = 0;
  int64_t pid = 0;  // leader of the job's process group
};

// How an attempt ended, as the worker reports it.
// kRefused: the system would not make a process for it just now (a process limit reached): it
// never ran, and the coordinator, which sees every worker, decides when to try it again.
// kReturned: a task sent ahead that never started: withdrawn, or the task before it did not
// end as its Task::ahead asks. The coordinator places it again; no attempt is counted.
enum class EndHow { kExited, kSignaled, kTimeout, kKilled, kError, kRefused, kReturned };
const char* end_how_name(EndHow how);

struct Ended {
  uint64_t id = 0;
  EndHow how = EndHow::kError;
  std::optional<int> code;    // exit status, when it exited
  std::optional<int> sig;     // the signal that ended it
  std::string err;            // why it could not start (kError)
  int64_t t0 = 0, t1 = 0;     // wall clock (µs since the epoch) of start and end
  std::optional<double> dur;  // monotonic seconds, when it ran
  double ut = 0, st = 0;      // user and system CPU seconds
  int64_t rss = 0;            // peak resident set, KiB
};

// Stop the job (the stop sequence, or SIGKILL at once with `now`); a queued one is dropped.
struct Kill {
  uint64_t id = 0;
  bool now = false;
};

// Hands back the task sent ahead (Task::ahead) if it has not started; else nothing happens.
struct Withdraw {
  uint64_t id = 0;
};

using FromWorker = std::variant<Hello, Started, Ended, Gate>;
using ToWorker = std::variant<Task, Kill, Withdraw>;

// Each appends one whole frame. Throws ProtocolError, appending nothing, when the message does
// not fit in a frame (a command or environment of more than kMaxFrameBytes).
void append_message(std::string& out, const Hello& m);
void append_message(std::string& out, const Task& m);
void append_message(std::string& out, const Started& m);
void append_message(std::string& out, const Gate& m);
void append_message(std::string& out, const Ended& m);
void append_message(std::string& out, const Kill& m);
void append_message(std::string& out, const Withdraw& m);

// Decode a frame's body. Throw ProtocolError for an undecodable body, an unknown type, or a
// field that is missing or of the wrong type.
FromWorker decode_from_worker(std::string_view body);
ToWorker decode_to_worker(std::string_view body);
// The body as JSON text, for debug logs.
std::string describe_message(std::string_view body);

}  // namespace procpool
