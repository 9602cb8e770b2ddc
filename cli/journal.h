// --journal FILE and --resume: a durable record of every finished job, appended line by line as
// jobs finish, so a run that was killed, cancelled or failed can be resumed without running
// again what already succeeded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

// A job's identity across runs: FNV-1a 64 over a canonical serialisation of what it runs (argv
// or shell string), its env and its cwd, as 16 hex digits. Not its position, name, timeout or
// retries: reordering a job file, renaming a job or giving it more time does not make it a
// new job; changing its command, env or cwd does.
std::string job_identity(const Job& job);

// FNV-1a, 64 bits: what the identity is made with (stable across machines and versions).
uint64_t fnv1a64(std::string_view bytes);

// Why a job need not run, or nullopt: the predicate --resume hands to the batch.
using AlreadyDone = std::function<std::optional<std::string>(const Job&)>;

class JournalRecorder : public Recorder {
 public:
  // Reads what `path` already holds (it need not exist), then opens it for appending.
  // UsageError when it cannot be opened, or holds lines that are not journal records (so a
  // job file given by mistake is never appended to).
  explicit JournalRecorder(const std::string& path);
  // One JSON line per job, written with a single write(2) as it finishes; jobs skipped by
  // --resume are not written again (their earlier record stands).
  void job(const Future& f) override;
  void finish(const Summary&) override {}
  std::string label() const override { return "--journal " + path_; }
  // --resume: skips the jobs whose latest record, before this run, says `ok`.
  AlreadyDone already_succeeded() const;

 private:
  std::string path_;  // for messages
  Fd fd_;             // opened O_APPEND
  // Identity -> whether its latest record was ok, as read at the start; never changed after,
  // so the history can be read while the journal is appended to.
  std::shared_ptr<const std::unordered_map<uint64_t, bool>> history_;
};

}  // namespace procpool
