#include "cli/map_inputs.h"

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/pipe_blocks.h"
#include "common/job_file.h"
#include "common/log.h"

namespace procpool {

uint64_t parse_count(const std::string& flag, const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string unit = text.substr(digits);
  static const std::string kUnits = "KMGTPkmgtp";
  if (digits == 0 || digits > 15 || unit.size() > 1 ||
      (unit.size() == 1 && kUnits.find(unit[0]) == std::string::npos)) {
    throw UsageError(fmt::format(
        "{} {}: expected a whole number, optionally with a unit: K M G T P (powers of 1024) "
        "or k m g t p (of 1000), as 2, 100, 1k",
        flag, text));
  }
  uint64_t n = std::stoull(text.substr(0, digits));
  if (!unit.empty()) {
    size_t at = kUnits.find(unit[0]);
    uint64_t base = at < 5 ? 1024 : 1000;
    for (size_t i = 0; i <= at % 5; ++i) {
      if (n > (uint64_t{1} << 50) / base) throw UsageError(flag + " " + text + ": too large");
      n *= base;
    }
  }
  return n;
}

MapPlan plan_map(const MapOptions& o, bool null_sep, int slots, size_t limit) {
  MapPlan p;
  p.sep = null_sep ? '\0' : '\n';
  if (o.delimiter) {
    std::string d = decode_record_separator(*o.delimiter);
    if (d.size() != 1 || (null_sep && d[0] != '\0')) {
      throw UsageError("-d " + *o.delimiter +
                       ": give one character that ends each input (, or \\n, \\t, \\0, \\xHH)" +
                       (null_sep ? ", and not together with -0" : ""));
    }
    p.sep = d[0];
  }
  p.eof = o.eof;
  p.skip_blank = o.no_run_if_empty;
  p.slots = std::max(1, slots);
  int counts = (o.max_args ? 1 : 0) + (o.max_replace_args ? 1 : 0) + (o.max_lines ? 1 : 0) +
               (o.max_lines_each ? 1 : 0);
  if (counts > 1) {
    throw UsageError(
        "give one of -n (inputs per job), -N (the same, with the words around {} "
        "repeated), -L and --max-lines (input lines per job), not several");
  }
  if (int(o.context_replace) + int(o.multiple) + int(o.xargs) > 1) {
    throw UsageError(
        "give one of -X (the words around {} repeated per input), -m and --xargs "
        "(the inputs where {} is), not several");
  }
  std::optional<uint64_t> count;
  if (o.max_args) count = parse_count("-n", *o.max_args);
  if (o.max_replace_args) count = parse_count("-N", *o.max_replace_args);
  if (o.max_lines) count = parse_count("-L", *o.max_lines);
  if (o.max_lines_each) count = parse_count("--max-lines", *o.max_lines_each);
  bool fill = o.context_replace || o.multiple || o.xargs;
  p.grouped = count || fill;
  // As GNU parallel: -N and -L repeat the words around {} (-X's context replace) unless -m;
  // --max-lines (its -l) does not.
  bool context = o.context_replace || ((o.max_replace_args || o.max_lines) && !fill);
  p.mode = context ? Template::Mode::kContext : Template::Mode::kEach;
  if (count && *count == 0) {
    p.insert = false;  // -N 0: read one input, put none of it in the command
    p.max_records = 1;
  } else if (count) {
    p.max_records = count;
  } else if (!fill) {
    p.max_records = 1;
  }
  p.spread = o.context_replace || o.multiple;
  p.continue_lines = o.max_lines || o.max_lines_each;
  p.max_chars = limit;
  if (o.max_chars) {
    uint64_t s = parse_count("-s", *o.max_chars);
    // As xargs and GNU parallel count: the terminating NUL included.
    if (s < 2) throw UsageError("-s " + *o.max_chars + ": a command holds at least one character");
    if (s - 1 > limit) {
      log::warn("-s {}: commands here can be at most {} bytes long; using that", s, limit + 1);
    } else {
      p.max_chars = static_cast<size_t>(s - 1);
    }
  }
  p.csv = o.csv;
  if (o.csv) {
    std::string sep = o.colsep.value_or(",");
    if (sep == "\\t") sep = "\t";
    if (sep.size() != 1 || sep[0] == '"' || sep[0] == '\n' || sep[0] == '\r') {
      throw UsageError(fmt::format(
          "--csv --colsep '{}': with --csv the column separator is one character (',' by "
          "default, ';', '\\t' for a tab), not a quote or a line break",
          sep));
    }
    p.csv_sep = sep[0];
  } else if (o.colsep) {
    p.colsep = o.colsep;
  } else if (o.header) {
    p.colsep = "\t";  // GNU parallel: --header splits at tabs when --colsep is not given
  }
  if (p.colsep) {
    try {
      ColumnSplitter check(*p.colsep);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--colsep: ") + e.what());
    }
  }
  if (o.header) {
    // Outside --pipe, GNU parallel takes the first input of each source as the header,
    // whatever the regex; 0 is special: names for the files of :::: and -a.
    p.header = *o.header != "0";
    p.header_file_names = *o.header == "0";
  }
  if (o.trim) {
    try {
      p.trim = parse_trim(*o.trim);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--trim " + *o.trim + ": " + e.what());
    }
  } else if (o.colsep) {
    p.trim = Trim::kBoth;  // GNU parallel: --colsep implies --trim lr
  }
  p.link = o.link;
  p.shuf = o.shuf;
  if (o.tagstring && o.tagstring->find("{%}") != std::string::npos) {
    throw UsageError("--tagstring " + *o.tagstring +
                     ": {%} is known only when a worker takes the job, after its name is made; "
                     "use $PROCPOOL_SLOT in the command instead");
  }
  p.tagstring = o.tagstring;
  return p;
}

namespace {

// -I STR: each STR in a template word becomes {} (a {} already there stays one too).
std::string with_replace_string(const std::string& word, const std::string& str) {
  std::string out;
  for (size_t pos = 0; pos < word.size();) {
    if (word.compare(pos, str.size(), str) == 0) {
      out += "{}";
      pos += str.size();
    } else {
      out += word[pos++];
    }
  }
  return out;
}

}  // namespace

MapInputs parse_map_words(const std::vector<std::string>& words, const MapOptions& o) {
  if (o.arg_sep.empty() || o.arg_file_sep.empty() || o.arg_sep == o.arg_file_sep) {
    throw InputError(fmt::format(
        "procpool map: --arg-sep '{}' and --arg-file-sep '{}' must be two different, non-empty "
        "words",
        o.arg_sep, o.arg_file_sep));
  }
  // ::: ::::, or their linked forms :::+ ::::+; 0 when `w` is none of them.
  enum Marker { kNone, kArgs, kFiles };
  auto marker = [&o](const std::string& w, bool& linked) {
    linked = !w.empty() && w.back() == '+';
    std::string bare = linked ? w.substr(0, w.size() - 1) : w;
    if (bare == o.arg_sep) return kArgs;
    if (bare == o.arg_file_sep) return kFiles;
    linked = false;
    return kNone;
  };
  MapInputs in;
  for (const auto& path : o.arg_files) in.sources.push_back(MapSourceSpec{true, {}, path, false});
  bool linked = false;
  size_t i = 0;
  for (; i < words.size() && marker(words[i], linked) == kNone; ++i) {
    std::string word = words[i];
    if (o.replace && o.replace->empty()) {
      throw UsageError("-I '': give the string that stands for the input, as in -I %");
    }
    if (o.replace) word = with_replace_string(word, *o.replace);
    if (i > 0) in.tmpl += ' ';
    in.tmpl += o.quote ? quote_template_word(word) : word;
  }
  if (in.tmpl.empty()) {
    throw InputError("procpool map: no command template; try procpool map 'gzip {}' ::: *.log");
  }
  while (i < words.size()) {
    Marker kind = marker(words[i], linked);
    size_t start = ++i;
    MapSourceSpec args{false, {}, "", linked};
    for (bool ignored = false; i < words.size() && marker(words[i], ignored) == kNone; ++i) {
      if (kind == kFiles) {
        // Each file its own source, each linked after ::::+ (as GNU parallel).
        in.sources.push_back(MapSourceSpec{true, {}, words[i], linked});
      } else {
        args.args.push_back(words[i]);
      }
    }
    // Nothing after it (`::: $(ls *.log)` with no logs) is an empty source: no jobs, and exit
    // 0, as GNU parallel; with other sources too, since every combination needs one of its.
    if (start == i && kind == kFiles) in.sources.push_back(MapSourceSpec{false, {}, "", linked});
    if (kind == kArgs) in.sources.push_back(std::move(args));
  }
  return in;
}

}  // namespace procpool
