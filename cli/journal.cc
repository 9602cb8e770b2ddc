#include "cli/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include "common/log.h"

#include "cli/flags.h"
#include "cli/json_writer.h"
#include "cli/report_file.h"
#include "common/job_file.h"

namespace procpool {

namespace {

// Every piece with its length first, so no two different jobs serialise alike.
void field(std::string& out, std::string_view piece) {
  out += std::to_string(piece.size());
  out += ':';
  out += piece;
}

std::optional<uint64_t> parse_identity(const std::string& hex) {
  if (hex.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::string canonical(const Job& job) {
  std::string out = "procpool-job-1\n";
  if (job.argv.empty()) {
    out += "sh";
    field(out, job.shell);
  } else {
    out += "argv" + std::to_string(job.argv.size());
    for (const auto& a : job.argv) field(out, a);
  }
  out += "env" + std::to_string(job.env.size());  // a std::map: sorted, so order-free
  for (const auto& [k, v] : job.env) {
    field(out, k);
    field(out, v);
  }
  out += "cwd";
  field(out, job.cwd);
  // Only when there is one, so journals of jobs without stay valid.
  if (job.input) {
    out += "stdin";
    field(out, *job.input);
  }
  return out;
}

uint64_t identity_hash(const Job& job) {
  return fnv1a64(canonical(job));
}

// A record cut short: by a kill during its write(2), or a full disk before procpool took the
// part back. Every record starts with this, so a torn one of any length is a prefix of it, or
// starts with it and does not parse.
bool torn_record(const std::string& line) {
  constexpr std::string_view kStart = "{\"identity\":\"";
  return std::string_view(kStart).substr(0, line.size()) ==
         std::string_view(line).substr(0, kStart.size());
}

}  // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string job_identity(const Job& job) {
  return fmt::format("{:016x}", identity_hash(job));
}

JournalRecorder::JournalRecorder(const std::string& path) : path_(path) {
  auto history = std::make_shared<std::unordered_map<uint64_t, bool>>();
  bool ends_with_newline = true;
  std::vector<uint64_t> torn;  // line numbers; said once the whole file is known to be a journal
  {
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open() && ::access(path.c_str(), F_OK) == 0) {
      throw UsageError(fmt::format("--journal {}: cannot read it: {}", path, std::strerror(errno)));
    }
    std::string line;
    for (uint64_t n = 1; in && std::getline(in, line); ++n) {
      if (in.eof()) ends_with_newline = false;  // no newline after it
      if (line.empty()) continue;
      auto rec = json_string_members(line);
      std::optional<uint64_t> id;
      if (rec && rec->contains("identity") && rec->contains("status")) {
        id = parse_identity(rec->at("identity"));
      }
      if (!id && torn_record(line)) {
        // Lost, like the job it described, which never counted as finished.
        torn.push_back(n);
        continue;
      }
      if (!id) {
        throw UsageError(fmt::format(
            "--journal {}: line {} is not a procpool journal record; name a new file, or one "
            "an earlier --journal run wrote (nothing was appended to this one)",
            path, n));
      }
      (*history)[*id] = rec->at("status") == "ok";  // the latest record wins
    }
  }
  for (uint64_t n : torn) {
    log::warn(
        "--journal {}: line {} is incomplete (a run was stopped while writing it); ignoring it",
        path, n);
  }
  history_ = std::move(history);
  fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd_) {
    throw UsageError(
        fmt::format("--journal {}: cannot open it for appending: {}", path, std::strerror(errno)));
  }
  // Seal a torn last line so the next record starts on a line of its own.
  if (!ends_with_newline) {
    try {
      append_record(fd_.get(), "\n", label());
    } catch (const std::exception& e) {
      throw UsageError(e.what());
    }
  }
}

void JournalRecorder::job(const Future& f) {
  const Job& job = f.job();
  const Result& r = f.result();
  if (r.resumed) return;
  JsonObject rec;
  rec.add("identity", job_identity(job))
      .add("id", job.id)
      .add("name", job.name)
      .add("status", status_name(r.status))
      .add("exit_code", r.exit_code)
      .add("attempts", r.attempts)
      .add("duration_s", r.duration_s)  // what --shard and longest-first plan by, next time
      .add("ended", r.ended_us ? std::optional(iso_time(r.ended_us)) : std::nullopt);
  // One write(2) per record: a kill can lose at most the line being written, never corrupt an
  // earlier one, and the record is in the file (the page cache) once job() returns. A record
  // the disk cannot take is cut off again, so the next --resume reads whole records only.
  try {
    append_record(fd_.get(), rec.text() + "\n", label());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) +
                             "; the job will run again on --resume, as if it never finished");
  }
}

AlreadyDone JournalRecorder::already_succeeded() const {
  return [history = history_](const Job& job) -> std::optional<std::string> {
    auto it = history->find(identity_hash(job));
    if (it == history->end() || !it->second) return std::nullopt;
    return std::string("already succeeded in an earlier run");
  };
}

}  // namespace procpool
