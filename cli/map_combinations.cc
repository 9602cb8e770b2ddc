#include "cli/map_combinations.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "common/job_file.h"

namespace procpool {

namespace {

// Typed at a terminal, the inputs wait for Ctrl-D: say so rather than wait silently.
void tell_terminal_inputs(const std::string& path, const RecordRules& rules) {
  tell_terminal_reader(path, fmt::format("reading inputs from the terminal (stdin){}; end with "
                                         "Ctrl-D, or give them after the template: ::: A B",
                                         rules.sep == '\n' ? ", one per line" : ""));
}

RecordStream open_source(const MapSourceSpec& s, const RecordRules& rules) {
  if (!s.is_file) return RecordStream(s.args, rules);
  tell_terminal_inputs(s.path, rules);
  return RecordStream(open_input(s.path), s.path == "-" ? "stdin" : "file '" + s.path + "'", rules);
}

}  // namespace

MapCombinations::MapCombinations(const std::vector<MapSourceSpec>& sources, const MapPlan& plan)
    : plan_(plan) {
  if (plan_.colsep) splitter_.emplace(*plan_.colsep);
  RecordRules rules{plan_.sep, plan_.csv, plan_.continue_lines, plan_.eof, plan_.skip_blank};
  size_t position = 1;  // of the next column name
  for (size_t i = 0; i < sources.size(); ++i) {
    // --header 0: {FILE} for the values of the source read from FILE.
    if (plan_.header_file_names && sources[i].is_file) names_.emplace_back(sources[i].path, i + 1);
  }
  if (sources.size() <= 1) {
    if (sources.empty()) tell_terminal_inputs("-", rules);
    stream_.emplace(sources.empty() ? RecordStream(open_input("-"), "stdin", rules)
                                    : open_source(sources[0], rules));
    if (plan_.header) take_header(stream_->next(), *stream_, position);
    return;
  }
  sources_.resize(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    RecordStream in = open_source(sources[i], rules);
    if (plan_.header) take_header(in.next(), in, position);
    while (auto record = in.next()) sources_[i].push_back(columns_of(std::move(*record), in));
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    if (i > 0 && (plan_.link || sources[i].linked)) {
      links_.back().push_back(i);
    } else {
      links_.push_back({i});
    }
  }
  for (const auto& group : links_) {
    // :::+ pairs values up to the shorter source (GNU parallel); --link wraps the shorter.
    size_t n = sources_[group[0]].size();
    for (size_t s : group)
      n = plan_.link ? std::max(n, sources_[s].size()) : std::min(n, sources_[s].size());
    for (size_t s : group) empty_ = empty_ || sources_[s].empty();
    link_sizes_.push_back(n);
  }
  done_ = empty_;
  odometer_.assign(links_.size(), 0);
}

void MapCombinations::take_header(std::optional<std::string> record, const RecordStream& from,
                                  size_t& position) {
  if (!record) return;  // an empty source names nothing
  std::vector<std::string> columns;
  if (plan_.csv) {
    columns = columns_of(std::move(*record), from);
  } else {
    if (!record->empty() && record->back() == '\r') record->pop_back();
    columns = splitter_ ? splitter_->split(*record) : std::vector<std::string>{*record};
  }
  for (auto& name : columns) names_.emplace_back(std::move(name), position++);
}

std::vector<std::string> MapCombinations::columns_of(std::string record,
                                                     const RecordStream& from) const {
  std::vector<std::string> columns;
  if (plan_.csv) {
    try {
      columns = parse_csv_record(record, plan_.csv_sep);
    } catch (const CsvError& e) {
      throw InputError(fmt::format("procpool map: --csv: {}, record {}: {}", from.name(),
                                   from.count(), e.what()));
    }
  } else if (splitter_) {
    columns = splitter_->split(record);
  } else {
    columns.push_back(std::move(record));
  }
  if (plan_.trim != Trim::kNone) {
    for (auto& c : columns) trim(c, plan_.trim);
  }
  return columns;
}

Fetched MapCombinations::fetch(std::vector<std::string>& values) {
  if (stream_) {
    std::string record;
    Fetched got = stream_->fetch(record);
    if (got == Fetched::kJob) values = columns_of(std::move(record), *stream_);
    return got;
  }
  if (done_) return Fetched::kEnd;
  values.clear();
  for (size_t g = 0; g < links_.size(); ++g) {
    for (size_t s : links_[g]) {
      const auto& records = sources_[s];
      const auto& record = records[odometer_[g] % records.size()];
      values.insert(values.end(), record.begin(), record.end());
    }
  }
  advance();
  return Fetched::kJob;
}

// The first link group varies slowest, as GNU parallel's nested loops.
void MapCombinations::advance() {
  for (size_t g = links_.size(); g-- > 0;) {
    if (++odometer_[g] < link_sizes_[g]) return;
    odometer_[g] = 0;
  }
  done_ = true;
}

std::optional<uint64_t> MapCombinations::size() const {
  if (stream_) return std::nullopt;
  if (empty_) return 0;
  uint64_t n = 1;
  for (size_t s : link_sizes_) {
    if (n > std::numeric_limits<uint64_t>::max() / s) return std::nullopt;
    n *= s;
  }
  return n;
}

}  // namespace procpool
