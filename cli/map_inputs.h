// `procpool map`'s flags for its inputs (GNU parallel's names), what they mean together, and the
// words after the options split into the template and the input sources.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/columns.h"
#include "cli/template.h"

namespace procpool {

// The flags as typed (cli/map_flags.cc registers them).
struct MapOptions {
  std::vector<std::string> arg_files;           // -a/--arg-file FILE: sources before ::: ones
  std::string arg_sep = ":::";                  // --arg-sep: instead of ::: (and :::+)
  std::string arg_file_sep = "::::";            // --arg-file-sep: instead of :::: (and ::::+)
  std::optional<std::string> max_args;          // -n/--max-args N: inputs per job, at most
  std::optional<std::string> max_replace_args;  // -N N: the same, words around {} repeated
  std::optional<std::string> max_lines;         // -L N: input lines per job, words repeated
  std::optional<std::string> max_lines_each;    // --max-lines N: the same, {} where it is
  std::optional<std::string> max_chars;         // -s/--max-chars N: command length, at most
  bool context_replace = false;                 // -X: as many as fit, words around {} repeated
  bool multiple = false;                        // -m: as many as fit
  bool xargs = false;                           // --xargs: -m, never spread over the slots
  std::optional<std::string> colsep;            // --colsep/-C REGEX: columns {1} {2} ...
  std::optional<std::string> header;            // --header : (or a regex): column names
  bool csv = false;                             // --csv: inputs are CSV records
  std::optional<std::string> trim;              // --trim n|l|r|lr|rl
  bool link = false;                            // --link: all sources linked, shorter wrap
  bool shuf = false;                            // --shuf: start jobs in random order
  std::optional<std::string> tagstring;         // --tagstring STR: the jobs' names and tags
  bool quote = false;                           // --quote: each template word is one word
  std::optional<std::string> replace;           // -I STR: STR instead of {}
  std::optional<std::string> delimiter;         // -d C: inputs end with C instead of \n
  std::optional<std::string> eof;               // -E STR: an input equal to STR ends a source
  bool no_run_if_empty = false;                 // -r: inputs of blanks only are left out
  bool gnu_no_ops = false;                      // --will-cite, --group: GNU's, nothing to do
  bool pipe = false;                            // --pipe: blocks of stdin, one a job's stdin
  std::optional<std::string> block;             // --block SIZE (default 1M)
  std::optional<std::string> recstart;          // --recstart TEXT: records start with it
  std::optional<std::string> recend;            // --recend TEXT: records end with it
};

// What the flags mean, checked.
struct MapPlan {
  char sep = '\n';  // between inputs: '\n', or '\0' with -0
  Template::Mode mode = Template::Mode::kEach;
  std::optional<uint64_t> max_records;   // inputs a job takes at most; nullopt: as many as fit
  bool grouped = false;                  // any of -n -N -L -X -m --xargs
  bool insert = true;                    // false for -n 0, -N 0, -L 0: one input, no value
  bool spread = false;                   // -X, -m: input that fits one command is spread
  bool continue_lines = false;           // -L: an input ending in a blank goes on on the next
  size_t max_chars = 0;                  // the longest command a job may get
  std::optional<std::string> colsep;     // split each input at this regex
  bool csv = false;                      // parse each input as a CSV record
  char csv_sep = ',';                    // its field separator
  bool header = false;                   // the first input of each source names its columns
  bool header_file_names = false;        // --header 0: {FILE} names a :::: FILE source
  Trim trim = Trim::kNone;               // of each value
  bool link = false;                     // --link
  bool shuf = false;                     // --shuf
  std::optional<std::string> tagstring;  // --tagstring
  std::optional<std::string> eof;        // -E
  bool skip_blank = false;               // -r
  int slots = 1;                         // workers, for the spread
};

// Checks the flags; throws UsageError (cli/flags.h) naming the flag. `limit` is the system's
// command-length limit (command_length_limit()), `slots` the number of workers.
MapPlan plan_map(const MapOptions& options, bool null_sep, int slots, size_t limit);

// A count as GNU parallel takes it: digits with an optional unit, K M G T P (powers of 1024)
// or k m g t p (of 1000): "2", "1k". Throws UsageError naming `flag`.
uint64_t parse_count(const std::string& flag, const std::string& text);

// One input source in command-line order.
struct MapSourceSpec {
  bool is_file = false;           // :::: FILE, ::::+ FILE or -a FILE ("-" is stdin)
  std::vector<std::string> args;  // ::: arguments
  std::string path;               // the file
  bool linked = false;            // :::+ / ::::+: paired with the source before it
};

// `procpool map TEMPLATE [::: ARGS...] [:::: FILES...]`, split.
struct MapInputs {
  std::string tmpl;                    // the command template, its words joined by blanks
  std::vector<MapSourceSpec> sources;  // -a files first; none: stdin lines
};
// Splits `procpool map`'s words (from the template on) into template and sources, with the
// separators --arg-sep and --arg-file-sep choose. Throws InputError.
MapInputs parse_map_words(const std::vector<std::string>& words, const MapOptions& options);

}  // namespace procpool
