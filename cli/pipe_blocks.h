// `procpool map --pipe`: stdin cut into blocks of whole records, each the stdin of one job (GNU
// parallel's --pipe), read as it arrives and never more than a block or two ahead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cli/sources.h"
#include "common/fd.h"
#include "common/job_file.h"

namespace procpool {

// Where blocks may be cut and how big they are.
struct BlockSpec {
  size_t block = size_t{1} << 20;   // --block: bytes a block holds at most, unless one
                                    // record alone is longer
  std::string recstart;             // --recstart: a record starts with this ("" none)
  std::string recend = "\n";        // --recend: a record ends with this ("" none)
  std::optional<uint64_t> records;  // -N: exactly this many records a block (the last
                                    // may have fewer), whatever their size
};

// The largest --block, and the largest block one record may grow it to: a job's stdin is held
// in memory twice (here and in its worker) while it runs.
inline constexpr size_t kMaxBlockBytes = size_t{1} << 30;

// GNU parallel's escapes in --recstart and --recend (and -d): \n \t \r \0 \\ \' \" and \xHH.
std::string decode_record_separator(const std::string& text);

class BlockReader {
 public:
  BlockReader(Fd fd, BlockSpec spec);
  // The next block (never empty), kBlocked until fd() is readable, or kEnd. Throws InputError
  // for a record longer than kMaxBlockBytes.
  Fetched fetch(std::string& block);
  int fd() const { return fd_.get(); }

 private:
  // The first place after `from` where a block may end, or npos when the bytes read so far do
  // not show one yet.
  size_t split_after(size_t from) const;
  // The last place in (pos_, pos_ + spec_.block] where a block may end, or npos.
  size_t last_split_within() const;
  Fetched read_more();
  void emit(std::string& block, size_t end);

  Fd fd_;
  bool regular_;
  BlockSpec spec_;
  std::string buf_;  // read and not yet returned, from pos_
  size_t pos_ = 0;
  bool eof_ = false;
  size_t scanned_ = 0;   // the block being found: no place to cut it is left before here
  size_t cut_ = 0;       // -N: the end of the last record found
  uint64_t found_ = 0;   // ... and how many there are
  uint64_t blocks_ = 0;  // returned so far
};

// The jobs of `procpool map --pipe TEMPLATE`: one a block of stdin, the template expanded with
// no inputs ({#} and {%} as ever), named "block N" or by `tagstring` expanded.
std::unique_ptr<JobSource> pipe_source(const std::string& tmpl, BlockSpec spec,
                                       const JobDefaults& defaults,
                                       const std::optional<std::string>& tagstring);

}  // namespace procpool
