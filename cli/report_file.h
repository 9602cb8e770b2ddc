// The files procpool was asked to write besides its output (--junit, --journal, --joblog,
// --trace, --report, --results): opening them before anything runs, and writing them so that a
// failed write (a full disk) never leaves a broken file behind.
#pragma once

#include <string>
#include <string_view>

#include "common/fd.h"

namespace procpool {

// Creates (or truncates) `path` for writing. Throws UsageError naming `flag`, the path and what
// to do about it: a path that cannot be written stops procpool with exit 2 before anything runs.
Fd create_report_file(std::string_view flag, const std::string& path);

// Writes all of `data` to `fd`; throws std::runtime_error naming `flag` and the path when the
// file cannot take it (a full disk, a FIFO whose reader left).
void write_report(int fd, std::string_view data, std::string_view flag, const std::string& path);

// Appends `record` at the end of the file `fd` writes to (opened O_APPEND, or written only at
// its end) as a whole: when the file cannot take all of it, the part that was written is cut
// off again, so the file keeps whole records only. Then throws std::runtime_error
// "LABEL: cannot write: ERROR". A pipe or terminal cannot be cut back; its error is thrown alike.
void append_record(int fd, std::string_view record, std::string_view label);

// Removes `path` if it is still the file `fd` has open (not one put there since): a file that
// could not be completed, so nobody mistakes it for a whole one. False when nothing was removed.
bool remove_unfinished(int fd, const std::string& path);

}  // namespace procpool
