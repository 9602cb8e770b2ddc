// The inputs of a `procpool map` batch, one combination at a time: every combination of the
// sources (the first varying slowest), linked sources (:::+, ::::+, --link) side by side, each
// input split into columns (--colsep, --csv) and trimmed (--trim), the first input of each
// source taken as column names with --header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/columns.h"
#include "cli/map_inputs.h"
#include "cli/map_records.h"

namespace procpool {

class MapCombinations {
 public:
  // Opens the sources (stdin lines when there are none). A lone source is read as it comes;
  // several are read whole first, as every combination needs all of them. With --header the
  // first record of each source is read here (waiting for it). Throws InputError.
  MapCombinations(const std::vector<MapSourceSpec>& sources, const MapPlan& plan);
  // The values of the next combination, kBlocked until wait_fd() is readable, or kEnd.
  Fetched fetch(std::vector<std::string>& values);
  int wait_fd() const { return stream_ ? stream_->fd() : -1; }
  bool drainable() const { return !stream_ || stream_->drainable(); }
  // How many combinations there are, when known before reading them.
  std::optional<uint64_t> size() const;
  // --header: each column's name and its position among a combination's values (from 1).
  const std::vector<std::pair<std::string, size_t>>& names() const { return names_; }
  // Whether the number of values varies with the input (columns), rather than being one per
  // source.
  bool columns() const { return plan_.csv || plan_.colsep.has_value(); }

 private:
  std::vector<std::string> columns_of(std::string record, const RecordStream& from) const;
  // --header: names the columns of `record` (a source's first), from `position` on.
  void take_header(std::optional<std::string> record, const RecordStream& from, size_t& position);
  void advance();

  MapPlan plan_;
  std::optional<ColumnSplitter> splitter_;
  std::optional<RecordStream> stream_;  // a lone source, read as it comes
  // Otherwise every source's records (each its values), and how they combine.
  std::vector<std::vector<std::vector<std::string>>> sources_;
  std::vector<std::vector<size_t>> links_;  // sources side by side, in order
  std::vector<size_t> link_sizes_;          // combinations each link group gives
  std::vector<size_t> odometer_;            // the current combination, by link group
  bool empty_ = false;                      // some source has no input: no combination
  bool done_ = false;
  std::vector<std::pair<std::string, size_t>> names_;
};

}  // namespace procpool
