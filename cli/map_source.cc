#include "cli/map_source.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <random>

#include <fmt/format.h>

#include "cli/command_limit.h"
#include "cli/flags.h"
#include "cli/map_combinations.h"
#include "cli/pipe_blocks.h"
#include "cli/template.h"
#include "common/fd.h"

namespace procpool {

namespace {

// --header: {name}, {name.}, {name/}, {name//} and {name/.} become {N} with the column's
// position, as GNU parallel rewrites the command. One pass, so a value is never rewritten twice.
std::string with_column_numbers(const std::string& tmpl,
                                const std::vector<std::pair<std::string, size_t>>& names) {
  if (names.empty()) return tmpl;
  auto position = [&names](std::string_view name) -> size_t {
    for (const auto& [n, at] : names) {
      if (n == name) return at;
    }
    return 0;
  };
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t close = tmpl[pos] == '{' ? tmpl.find('}', pos + 1) : std::string::npos;
    if (close == std::string::npos) {
      out += tmpl[pos++];
      continue;
    }
    std::string_view inner(tmpl.data() + pos + 1, close - pos - 1);
    size_t at = 0;
    std::string_view modifier;
    for (std::string_view m : {"", "/.", "//", "/", "."}) {
      if (inner.size() > m.size() && inner.substr(inner.size() - m.size()) == m) {
        at = position(inner.substr(0, inner.size() - m.size()));
        modifier = m;
      }
      if (at) break;
    }
    if (!at) {
      out += tmpl[pos++];
      continue;
    }
    out += fmt::format("{{{}{}}}", at, modifier);
    pos = close + 1;
  }
  return out;
}

// A job's inputs while they are gathered.
struct Group {
  std::vector<std::vector<std::string>> records;  // each input's values
  std::vector<std::string> values;                // all of them, in order: what {} stands for
  std::vector<size_t> costs;                      // each record's Template::value_cost sum
  size_t cost = 0;                                // their sum
};

class MapSource : public JobSource {
 public:
  MapSource(MapInputs in, MapPlan plan, JobDefaults defaults)
      : plan_(std::move(plan)),
        defaults_(std::move(defaults)),
        inputs_(in.sources, plan_),
        template_(with_column_numbers(in.tmpl, inputs_.names()), plan_.mode) {
    if (plan_.tagstring) {
      tag_.emplace(with_column_numbers(*plan_.tagstring, inputs_.names()), Template::Mode::kText);
    }
    check_positions(in);
    if (plan_.shuf) shuffle_all();
  }

  Fetched fetch(std::optional<Job>& job) override {
    if (plan_.shuf) {
      if (shuffled_.empty()) return Fetched::kEnd;
      job = std::move(shuffled_.back());
      shuffled_.pop_back();
      return Fetched::kJob;
    }
    return next_job(job);
  }
  int wait_fd() const override { return plan_.shuf ? -1 : inputs_.wait_fd(); }
  bool drainable() const override { return plan_.shuf || inputs_.drainable(); }
  std::optional<uint64_t> size() const override {
    if (plan_.shuf) return shuffled_.size();
    // Several inputs a job: how many jobs depends on the lengths (and the spread).
    if (plan_.max_records != 1u) return std::nullopt;
    return inputs_.size();
  }

 private:
  // A {N} that can never name a value is a typo: said before anything runs. With columns the
  // count varies per input, and a missing one is nothing, as in GNU parallel.
  void check_positions(const MapInputs& in) {
    if (inputs_.columns() || !plan_.insert) return;
    size_t per_input = std::max<size_t>(1, in.sources.size());
    std::string sources =
        per_input == 1 ? "1 input source" : fmt::format("{} input sources", per_input);
    std::string bad, have;
    if (!plan_.grouped) {
      bad = template_.position_beyond(per_input);
      have = per_input == 1 ? "there is 1 input source" : "there are " + sources;
    } else if (plan_.max_records) {
      size_t most = per_input * static_cast<size_t>(*plan_.max_records);
      bad = template_.position_beyond(most);
      have = fmt::format("a job gets at most {} ({} input{} a job, {})", most, *plan_.max_records,
                         *plan_.max_records == 1 ? "" : "s", sources);
    }
    if (bad.empty()) return;
    throw InputError(fmt::format(
        "procpool map: replacement string {} names input {}, but {}; inputs are numbered from "
        "1 (or from -1 for the last)",
        bad, bad.substr(1, bad.find_first_not_of("-0123456789", 1) - 1), have));
  }

  // --shuf: every job made first (ids and {#} in input order), then started in random order.
  void shuffle_all() {
    std::optional<Job> job;
    while (fetch_waiting([this](std::optional<Job>& j) { return next_job(j); },
                         [this] { return inputs_.wait_fd(); }, job)) {
      shuffled_.push_back(std::move(*job));
    }
    std::mt19937_64 random(std::random_device{}());
    std::shuffle(shuffled_.begin(), shuffled_.end(), random);
  }

  Fetched next_job(std::optional<Job>& job) {
    Fetched got = fill();
    if (got != Fetched::kJob) return got;
    Group g = std::move(ready_.front());
    ready_.pop_front();
    job.emplace();
    apply_defaults(*job, defaults_);
    job->id = ++count_;
    job->shell = template_.expand(g.values, job->id, &job->slot_spots);
    if (tag_) {
      job->name = tag_->expand(g.values, job->id);
      return Fetched::kJob;
    }
    // Named by its input, as GNU parallel's --tag does: what varies is what identifies it.
    for (const auto& record : g.records) {
      for (const auto& v : record) job->name += (job->name.empty() ? "" : " ") + v;
    }
    return Fetched::kJob;
  }

  // Gathers inputs until a group is complete: max_records of them, or as many as fit
  // max_chars (never fewer than one), or the input ended.
  Fetched fill() {
    while (ready_.empty()) {
      if (ended_) {
        if (group_.records.empty()) return Fetched::kEnd;
        close_group(/*at_end=*/true);
        continue;
      }
      if (!pending_) {
        std::vector<std::string> values;
        Fetched got = inputs_.fetch(values);
        if (got == Fetched::kBlocked) return got;
        if (got == Fetched::kEnd) {
          ended_ = true;
          continue;
        }
        pending_ = std::move(values);
      }
      add(std::move(*pending_));
      pending_.reset();
      uint64_t seq = count_ + ready_.size() + 1;
      if (group_.records.size() > 1 &&
          template_.length(group_.values, group_.cost, seq) > plan_.max_chars) {
        pending_ = remove_last();  // it starts the next group
        close_group(false);
        continue;
      }
      if (plan_.max_records && group_.records.size() >= *plan_.max_records) close_group(false);
    }
    return Fetched::kJob;
  }

  void add(std::vector<std::string> record) {
    size_t cost = 0;
    if (plan_.insert) {
      for (const auto& v : record) cost += template_.value_cost(v);
      group_.values.insert(group_.values.end(), record.begin(), record.end());
    }
    group_.costs.push_back(cost);
    group_.cost += cost;
    group_.records.push_back(std::move(record));
  }

  std::vector<std::string> remove_last() {
    std::vector<std::string> record = std::move(group_.records.back());
    group_.records.pop_back();
    group_.cost -= group_.costs.back();
    group_.costs.pop_back();
    if (plan_.insert) group_.values.resize(group_.values.size() - record.size());
    return record;
  }

  void close_group(bool at_end) {
    Group g = std::move(group_);
    group_ = Group{};
    size_t n = g.records.size();
    bool first = emitted_++ == 0;
    // -X, -m: all the input fits one command, and several workers would idle: spread it
    // evenly over them instead, as GNU parallel does (ceil(inputs / slots) each).
    if (at_end && first && plan_.spread && plan_.slots > 1 && n > 1) {
      size_t per = (n + static_cast<size_t>(plan_.slots) - 1) / static_cast<size_t>(plan_.slots);
      Group part;
      for (size_t i = 0; i < n; ++i) {
        size_t cost = g.costs[i];
        std::vector<std::string> record = std::move(g.records[i]);
        if (plan_.insert) part.values.insert(part.values.end(), record.begin(), record.end());
        part.costs.push_back(cost);
        part.cost += cost;
        part.records.push_back(std::move(record));
        if (part.records.size() == per || i + 1 == n) {
          ready_.push_back(std::move(part));
          part = Group{};
        }
      }
      return;
    }
    ready_.push_back(std::move(g));
  }

  MapPlan plan_;
  JobDefaults defaults_;
  MapCombinations inputs_;
  Template template_;
  std::optional<Template> tag_;                      // --tagstring
  Group group_;                                      // being gathered
  std::optional<std::vector<std::string>> pending_;  // read, not yet in a group
  std::deque<Group> ready_;                          // complete, not yet a job
  bool ended_ = false;                               // the inputs are all read
  uint64_t emitted_ = 0;                             // groups closed
  uint64_t count_ = 0;                               // jobs made
  std::vector<Job> shuffled_;                        // --shuf: every job, popped from the back
};

}  // namespace

std::unique_ptr<JobSource> map_source(MapInputs inputs, const MapPlan& plan,
                                      const JobDefaults& defaults) {
  return std::make_unique<MapSource>(std::move(inputs), plan, defaults);
}

BlockSpec plan_pipe(const MapOptions& o, bool null_sep) {
  BlockSpec spec;
  if (!o.pipe) {
    const std::pair<const char*, const std::optional<std::string>*> needing[] = {
        {"--block", &o.block}, {"--recstart", &o.recstart}, {"--recend", &o.recend}};
    for (const auto& [flag, value] : needing) {
      if (*value) throw UsageError(fmt::format("{} goes with --pipe, which is not given", flag));
    }
    return spec;
  }
  auto refuse = [](bool given, const char* flag, const char* instead) {
    if (given) throw UsageError(fmt::format("--pipe and {}: {}", flag, instead));
  };
  const char* whole = "--pipe cuts stdin by records; give -N N for N records a job";
  refuse(o.max_args.has_value(), "-n", whole);
  refuse(o.max_lines.has_value(), "-L", whole);
  refuse(o.max_lines_each.has_value(), "--max-lines", whole);
  refuse(o.context_replace, "-X", whole);
  refuse(o.multiple || o.xargs, "-m", whole);
  refuse(o.max_chars.has_value(), "-s", whole);
  const char* no_columns = "a job's block is its stdin, not values for the template";
  refuse(o.colsep.has_value(), "--colsep", no_columns);
  refuse(o.csv, "--csv", no_columns);
  refuse(o.header.has_value(), "--header", no_columns);
  refuse(o.shuf, "--shuf", "blocks start in the order they are read");
  refuse(!o.arg_files.empty(), "-a", "--pipe reads its blocks from stdin");
  refuse(null_sep, "-0", "give --recend '\\0' for records that end with a NUL byte");
  if (o.block) {
    uint64_t n = parse_count("--block", *o.block);
    if (n == 0 || n > kMaxBlockBytes) {
      throw UsageError(fmt::format("--block {}: give a size from 1 to {}M (1M when not given)",
                                   *o.block, kMaxBlockBytes >> 20));
    }
    spec.block = static_cast<size_t>(n);
  }
  if (o.recstart) spec.recstart = decode_record_separator(*o.recstart);
  if (o.recend) {
    spec.recend = decode_record_separator(*o.recend);
  } else if (o.recstart) {
    spec.recend.clear();  // GNU parallel: --recstart alone cuts before each record start
  }
  if (o.max_replace_args) {
    uint64_t n = parse_count("-N", *o.max_replace_args);
    if (n == 0) throw UsageError("-N 0 with --pipe: give how many records a job gets, 1 or more");
    spec.records = n;
  }
  return spec;
}

std::unique_ptr<JobSource> map_source(const std::vector<std::string>& words,
                                      const MapOptions& options, bool null_sep, int slots,
                                      const JobDefaults& defaults) {
  BlockSpec pipe = plan_pipe(options, null_sep);
  if (options.pipe) {
    MapInputs in = parse_map_words(words, options);
    if (!in.sources.empty()) {
      throw UsageError(
          "--pipe takes its input from stdin: drop the ::: and :::: sources, or "
          "--pipe");
    }
    return pipe_source(in.tmpl, std::move(pipe), defaults, options.tagstring);
  }
  MapPlan plan = plan_map(options, null_sep, slots, command_length_limit());
  return map_source(parse_map_words(words, options), plan, defaults);
}

}  // namespace procpool
