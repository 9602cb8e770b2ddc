// One input source of `procpool map`, read record by record: ::: arguments, or a file's lines
// (NUL-separated with -0), with CSV records that span lines joined (--csv) and lines that end
// in a blank continued on the next (-L), as GNU parallel reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/sources.h"

namespace procpool {

// How a source's records are cut.
struct RecordRules {
  char sep = '\n';                 // between records of a file
  bool csv = false;                // a record goes on while it is inside a quoted field
  bool continue_lines = false;     // -L: a record that ends in a blank goes on on the next
  std::optional<std::string> eof;  // -E: a record equal to it ends the source
  bool skip_blank = false;         // -r: records of blanks only are left out
};

class RecordStream {
 public:
  RecordStream(std::vector<std::string> args, RecordRules rules);  // ::: arguments
  RecordStream(Fd fd, std::string name, RecordRules rules);        // a file or stdin
  // The next record, kBlocked until fd() is readable, or kEnd. Throws InputError for a record
  // past kMaxRecordBytes or a quoted CSV field that never closes.
  Fetched fetch(std::string& record);
  // The next record, waiting for input as long as it takes.
  std::optional<std::string> next();
  int fd() const { return reader_ ? reader_->fd() : -1; }
  // Whether reading to the end is safe: arguments and regular files, not pipes or terminals.
  bool drainable() const { return !reader_ || reader_->is_regular_file(); }
  // For messages: "stdin", "file 'x.csv'" or "the ::: arguments".
  const std::string& name() const { return name_; }
  // Records returned so far (the number of the last one).
  uint64_t count() const { return count_; }

 private:
  Fetched raw(std::string& piece);  // one argument or one line
  void check_size(const std::string& partial) const;

  RecordRules rules_;
  std::string name_;
  std::optional<RecordReader> reader_;  // a file
  std::vector<std::string> args_;       // or arguments
  size_t next_arg_ = 0;
  std::string csv_partial_;  // a CSV record inside quotes so far
  bool in_csv_ = false;
  std::string continued_;  // -L: records ending in a blank so far
  bool in_continued_ = false;
  uint64_t count_ = 0;
  bool eof_seen_ = false;  // -E's record came: nothing after it is read
};

}  // namespace procpool
