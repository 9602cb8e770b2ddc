// Opening the files that --trace and --report write, before anything runs: a path that cannot be
// written must stop procpool with a usage error (exit 2), not lose the record after the batch.
#pragma once

#include <string>
#include <string_view>

#include "common/fd.h"

namespace procpool {

// Creates (or truncates) `path` for writing. Throws UsageError naming `flag`, the path and what
// to do about it.
Fd create_report_file(std::string_view flag, const std::string& path);

// Writes all of `data` to `fd`; throws std::runtime_error naming `flag` and the path when the
// file cannot take it (a full disk, a FIFO whose reader left).
void write_report(int fd, std::string_view data, std::string_view flag, const std::string& path);

}  // namespace procpool
