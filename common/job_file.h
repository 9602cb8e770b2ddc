// Reading a batch of jobs: a JSON array of jobs, {"defaults": {...}, "jobs": [...]}, or JSON
// Lines (one job object per line). Every mistake is reported before anything runs.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <procpool/job.h>

namespace procpool {

// Input a person must fix: the message says where and what (procpool exits 2 on it).
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Settings every job gets unless the file's "defaults" or the job itself says otherwise (the
// command line's --timeout and --retries arrive here).
struct JobDefaults {
  std::map<std::string, std::string> env;  // merged: a job's own keys win
  std::string cwd;                         // empty = procpool's own
  std::optional<Millis> timeout;           // per attempt
  int retries = 0;                         // extra attempts after a failure
  Limits limits;                           // resource limits (command line only)
};

// Gives a job built from a streamed input (no job file) the command line's defaults.
void apply_defaults(Job& job, const JobDefaults& defaults);

// Parses `text`; `source` names it in messages ("jobs.json", "<stdin>"). Jobs get ids 1..N in
// file order and a name (the command text when none is given).
std::vector<Job> parse_job_file(std::string_view text, const std::string& source,
                                const JobDefaults& base = {});

// Whether `text` (no job file) looks like shell commands, one a line, as --lines reads them:
// it does not start with JSON's [ or {, and each of its first lines starts as a command does (a
// letter, a digit, / . ~ $ _ ( or a # comment) and holds no control character.
bool looks_like_command_lines(std::string_view text);

// The string-valued members of the JSON object `text`, or nullopt when `text` is not one JSON
// object. For files of records other than job files (the journal), which must be read with the
// same parser but are not worth a parser's compile time of their own.
std::optional<std::map<std::string, std::string>> json_string_members(std::string_view text);

// The most of a job file read_input takes. 100,000 jobs of 2 KiB each (long commands, a few
// variables) fit; parsed, a file holds several times its size in memory, so a larger one would
// cost gigabytes before anything runs: a mistake (a binary, a device, an endless stream) far
// more often than a batch. Streams of commands go through --lines, read as they come.
inline constexpr size_t kMaxJobFileBytes = size_t{256} << 20;

// Reads `path` ("-" for stdin) whole. Throws InputError when it cannot be read, when it holds
// more than kMaxJobFileBytes (a file too large, or a stream that never ends) and when it is not
// text (a NUL byte: no JSON text holds one; /dev/zero, a binary named by mistake).
std::string read_input(const std::string& path);

}  // namespace procpool
