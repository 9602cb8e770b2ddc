// GNU parallel's replacement strings for `procpool map`: {} {.} {/} {//} {/.} {#} {%} and the
// positional {1} {2} ... ({1.} {1/} {1//} {1/.} too). Every substituted value is shell-quoted,
// so any input (spaces, quotes, $(...), ;, newlines, a leading -) is one literal argument.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace procpool {

// Single-quotes `s` for /bin/sh when it needs quoting ('it'\''s'); plain words stay as they are.
std::string shell_quote(const std::string& s);

// `word` as one literal shell word around its replacement strings (GNU parallel's --quote):
// the text between them single-quoted, the replacement strings left to be filled in (each
// value is quoted as it goes in).
std::string quote_template_word(const std::string& word);

// True when `tmpl` contains at least one replacement string.
bool has_replacement(const std::string& tmpl);

// A command template parsed once for the many jobs of a batch. A job gets a list of values:
// one per input source (several for a cartesian product), or the columns of its input, or all
// the inputs of a group (-n, -N, -X, -m, -L). {} and its variants stand for every value, each
// its own quoted word; {N} for value N (1-based; -1 is the last), or for nothing when the job
// has fewer values (as GNU parallel, whose last group of -N 2 may hold one); {#} is the job's
// number; {%} the number of the worker's slot (see expand). A template
// without replacement strings gets the values appended (GNU parallel appends " {}").
class Template {
 public:
  enum class Mode {
    kEach,     // -m, -n and one value a job: {} is all values, pre-{}-post = pre-a b-post
    kContext,  // -X, -N, -L: a word holding {} is repeated per value: pre-a-post pre-b-post
    kText,     // --tagstring: as kEach, values as they are (not quoted), nothing appended
  };
  explicit Template(const std::string& text, Mode mode = Mode::kEach);

  // The command for a job with `values`, numbered `seq`. With `slot_spots`, each {%} is left
  // out and its offset added there (Job::slot_spots: the pool writes the slot's number, which
  // then counts inside quotes too); without, it is "$PROCPOOL_SLOT".
  std::string expand(const std::vector<std::string>& values, uint64_t seq,
                     std::vector<size_t>* slot_spots = nullptr) const;
  // What one value adds to the command's length through {} and its variants; a group's
  // length() takes the sum over its values, so filling a command line costs each value once.
  size_t value_cost(const std::string& value) const;
  // expand(values, seq).size(), given `cost_sum` = the sum of value_cost over `values`.
  size_t length(const std::vector<std::string>& values, size_t cost_sum, uint64_t seq) const;
  // The spelling of the first {N} that names no value when jobs have `values` values ({0},
  // {3} of 2, {-3} of 2), or "" when there is none.
  std::string position_beyond(size_t values) const;

 private:
  struct Piece {
    enum class Kind { kText, kAll, kPosition, kSeq, kSlot };
    Kind kind = Kind::kText;
    std::string text;      // kText: the text; kPosition: the spelling, for errors
    std::string modifier;  // "", ".", "/", "//" or "/."
    long long source = 0;  // kPosition: 1-based, or negative from the last
  };
  // A part of the template: in kContext a word (repeated once per value when it holds {} or
  // a variant) or the blanks between words; in kEach the whole template.
  struct Group {
    std::vector<Piece> pieces;
    bool repeats = false;
  };
  // One value through a kAll piece's modifier, quoted.
  std::string one_value(const Piece& p, const std::string& value) const;
  // A piece other than kAll.
  std::string render(const Piece& p, const std::vector<std::string>& values, uint64_t seq) const;
  // The length of a group's pieces other than kAll (for one copy).
  size_t fixed_length(const Group& g, const std::vector<std::string>& values, uint64_t seq) const;

  Mode mode_;
  std::vector<Group> groups_;
  std::vector<std::string> all_modifiers_;  // of every kAll piece, in order: for value_cost
};

// The command for one job in Template::Mode::kEach, with a check: {N} beyond the values is an
// error (std::invalid_argument naming it), not an empty word, since here every job has as
// many values as there are sources and such a template is a typo.
std::string expand_template(const std::string& tmpl, const std::vector<std::string>& inputs,
                            uint64_t seq);

}  // namespace procpool
