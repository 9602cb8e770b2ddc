// Where a batch's jobs come from: a whole job file, or a stream (command lines, map inputs)
// read as the batch runs, so jobs start before the input ends and memory stays flat.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/job.h"
#include "common/job_file.h"

namespace procpool {

class JobSource {
 public:
  virtual ~JobSource() = default;
  // The next job (ids 1, 2, ... in input order), or nullopt at the end. May block on input.
  // Throws InputError for input a person must fix.
  virtual std::optional<Job> next() = 0;
  // Whether the rest may be read after a halt, to report it as cancelled: true for files and
  // arguments, false for pipes and terminals, which may never end.
  virtual bool drainable() const = 0;
  // How many jobs there are, when known before reading them all (for --halt ...=N%).
  virtual std::optional<uint64_t> size() const { return std::nullopt; }
  // Makes a next() blocked on input return nullopt soon. Safe from any thread.
  virtual void interrupt() {}
};

// A parsed job file.
std::unique_ptr<JobSource> job_file_source(std::vector<Job> jobs);

// Reads records separated by `sep` from a descriptor as they arrive, in bounded memory.
class RecordReader {
 public:
  RecordReader(Fd fd, char sep);
  // The next record without its separator; a last record without one counts too. Returns
  // nullopt early after interrupt().
  std::optional<std::string> next();
  bool is_regular_file() const;
  void interrupt();

 private:
  Fd fd_;            // the input
  Pipe stop_;        // interrupt() writes here; next() polls it with the input
  char sep_;         // '\n', or '\0' with -0
  std::string buf_;  // read and not yet returned, from pos_
  size_t pos_ = 0;
  bool eof_ = false;
};

// Opens `path` ("-" = stdin) for a RecordReader; throws InputError naming the file.
Fd open_input(const std::string& path);

// `--lines`: each non-empty line is one shell command.
std::unique_ptr<JobSource> lines_source(const std::string& path, const JobDefaults& defaults);

// `procpool map TEMPLATE [::: ARGS...] [:::: FILES...]`: one job per input (or per combination
// of inputs when there are several sources); stdin lines when there is no source.
struct MapInputs {
  std::string tmpl;                                   // the command template
  std::vector<std::vector<std::string>> args;         // ::: sources, in order
  std::vector<std::pair<size_t, std::string>> files;  // :::: sources: (position, path)
  char sep = '\n';                                    // '\0' with -0/--null
};
// Splits `procpool map`'s words into template and sources. Throws InputError.
MapInputs parse_map_words(const std::vector<std::string>& words, char sep);
std::unique_ptr<JobSource> map_source(MapInputs inputs, const JobDefaults& defaults);

}  // namespace procpool
