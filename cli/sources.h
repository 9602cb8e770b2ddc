// Where a batch's jobs come from: a whole job file, or a stream (command lines, map inputs:
// cli/map_source.h) read as the batch runs, so jobs start before the input ends and memory
// stays flat.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <procpool/job.h>
#include "common/fd.h"
#include "common/job_file.h"

namespace procpool {

// What fetch() found.
enum class Fetched {
  kJob,      // a job
  kBlocked,  // none until wait_fd() is readable
  kEnd,      // no more
};

// Waits until `fd` is readable, after a fetch said kBlocked. Throws on a poll error.
void wait_readable(int fd);
// Whether `fd` has bytes (or EOF) to read now, without waiting.
bool readable_now(int fd);
// Whether `fd` is a regular file: always readable, never worth polling.
bool is_regular(int fd);

// Fetches into `item` until there is one (true) or the input ends (false), waiting for input
// in between: the one blocking loop of every source and reader.
template <typename Fetch, typename WaitFd, typename Item>
bool fetch_waiting(Fetch fetch, WaitFd wait_fd, Item& item) {
  for (;;) {
    Fetched got = fetch(item);
    if (got != Fetched::kBlocked) return got == Fetched::kJob;
    wait_readable(wait_fd());
  }
}

class JobSource {
 public:
  virtual ~JobSource() = default;
  // The next job (ids 1, 2, ... in input order) if it can be had without waiting on input.
  // Throws InputError for input a person must fix.
  virtual Fetched fetch(std::optional<Job>& job) = 0;
  // What to poll (POLLIN) after kBlocked; -1 when fetch never blocks.
  virtual int wait_fd() const { return -1; }
  // Whether the rest may be read after a halt, to report it as cancelled: true for files and
  // arguments, false for pipes and terminals, which may never end.
  virtual bool drainable() const = 0;
  // How many jobs there are, when known before reading them all (for --halt ...=N%).
  virtual std::optional<uint64_t> size() const { return std::nullopt; }
  // How many jobs per worker may be read ahead of the ones running, when the source's jobs
  // carry their input (--pipe) and the usual window would hold too much of it; nullopt: the
  // usual window.
  virtual std::optional<size_t> read_ahead() const { return std::nullopt; }
  // The next job, waiting for input as long as it takes; nullopt at the end (--dry-run).
  std::optional<Job> next();
};

// A parsed job file.
std::unique_ptr<JobSource> job_file_source(std::vector<Job> jobs);

// The longest record (line) a RecordReader takes: the kernel passes at most 128 KiB in one
// argument (MAX_ARG_STRLEN), and a line becomes one (`sh -c LINE`), so a longer one could never
// run. Past it, a line that never ends (/dev/zero, `yes | tr -d '\n'`) is an input error instead
// of memory without bound.
inline constexpr size_t kMaxRecordBytes = size_t{128} << 10;

// Reads records separated by `sep` from a descriptor as they arrive, in bounded memory, never
// waiting for input: a pipe or terminal is read only when poll says it has bytes, so the front
// end's loop can wait on it together with everything else.
class RecordReader {
 public:
  RecordReader(Fd fd, char sep);
  // The next record without its separator (a last record without one counts too), kBlocked
  // until fd() is readable, or kEnd. Throws InputError for a record longer than
  // kMaxRecordBytes, naming its number.
  Fetched fetch(std::string& record);
  // The next record, waiting for input as long as it takes.
  std::optional<std::string> next();
  int fd() const { return fd_.get(); }
  bool is_regular_file() const { return regular_; }

 private:
  Fd fd_;            // the input
  bool regular_;     // a regular file: always readable, never worth polling
  char sep_;         // '\n', or '\0' with -0
  std::string buf_;  // read and not yet returned, from pos_
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t records_ = 0;  // returned so far
};

// Opens `path` ("-" = stdin) for a RecordReader; throws InputError naming the file.
Fd open_input(const std::string& path);

// When `path` is "-" and stdin is a terminal, tells the person at it, once, on stderr, what
// procpool waits for: "procpool: " + `notice` ("reading inputs from the terminal (stdin), one
// per line; end with Ctrl-D"), as GNU parallel does, instead of waiting silently.
void tell_terminal_reader(const std::string& path, std::string_view notice);

// `--lines`: each non-empty line is one shell command.
std::unique_ptr<JobSource> lines_source(const std::string& path, const JobDefaults& defaults);

}  // namespace procpool
