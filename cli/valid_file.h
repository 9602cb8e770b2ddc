// A report file kept valid after every write: a head, whole records, and a closing tail
// (`</testsuites>`, `]}`) that always follows the last whole record. So the file parses at any
// moment: while the batch runs, after procpool is killed, and after a write the disk could not
// take, which is taken back to the last whole record. Used by --junit and --trace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"

namespace procpool {

class ValidFile {
 public:
  ValidFile() = default;
  // Writes `head` and `tail` to `fd`, the new, empty file `path` that `flag` asked for; `kind`
  // says what it is in messages ("XML"). Throws std::runtime_error. A file that cannot be kept
  // valid after all (even the old tail does not fit again) is removed, and the message says so.
  ValidFile(Fd fd, std::string_view flag, std::string path, std::string kind, std::string_view head,
            std::string tail);

  // A record is written in pieces (each lands at once, over the tail, so a big record need not
  // be held in memory), then commit() writes the tail after it. A piece or commit the file
  // cannot take takes the whole record back, and throws std::runtime_error saying so.
  void write(std::string_view piece);
  void commit();
  // Rewrites bytes of the head in place (a count in a fixed-width slot): needs no new space.
  void overwrite(uint64_t offset, std::string_view bytes);
  // A new closing tail (a summary at the end). When the file cannot take it, the old one stays.
  void replace_tail(std::string tail);
  uint64_t committed() const { return committed_; }  // bytes of head and whole records

 private:
  void write_at(std::string_view bytes, uint64_t offset);
  [[noreturn]] void take_back(const std::exception& why);
  // The tail back after the last whole record; when even that fails, the file is removed and
  // `what` thrown, saying so.
  void restore_tail(const std::string& what);
  std::string remove_broken();  // what became of it, for the message; no write after it
  void check_usable() const;    // throws once the file could not be kept valid

  Fd fd_;
  std::string path_, label_, kind_;
  std::string tail_;
  bool seekable_ = false;   // a pipe cannot be rewritten: records go out as they come
  bool broken_ = false;     // could not be kept valid (and was removed): written no more
  uint64_t committed_ = 0;  // where the tail sits
  uint64_t end_ = 0;        // where the next piece goes
};

}  // namespace procpool
