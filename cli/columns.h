// Splitting one input into columns for `procpool map`: --colsep REGEX (GNU parallel's Perl
// split), --csv (RFC 4180, by hand) and --trim.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace procpool {

// --colsep: splits at each match of a regular expression, as Perl's split(/RE/, $line, -1)
// that GNU parallel calls: empty fields are kept, trailing ones too; an empty match splits
// between characters but never makes an empty first field; an empty input is one empty column.
// A pattern without regex metacharacters (",", ";", ":") is matched as plain text.
class ColumnSplitter {
 public:
  // Throws std::invalid_argument naming the problem when `pattern` is not a valid
  // (ECMAScript) regular expression.
  explicit ColumnSplitter(const std::string& pattern);
  std::vector<std::string> split(const std::string& line) const;

 private:
  struct Regex;                      // <regex> stays in columns.cc
  std::string literal_;              // the separator, when the pattern is plain text
  std::shared_ptr<const Regex> re_;  // otherwise
};

// Why a CSV record cannot be read, with where.
struct CsvError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --csv: the fields of one CSV record (RFC 4180): fields separated by `sep`; a field that starts
// with a double quote runs to the closing quote, may hold `sep`, line breaks and "" (one
// quote); nothing but `sep` or the end may follow the closing quote, and an unquoted field holds
// no quote. A CR before the end (a CRLF line end) is dropped; spaces are kept, as the RFC says.
// An empty record is one empty field. Throws CsvError naming the field and the problem.
std::vector<std::string> parse_csv_record(std::string_view record, char sep);

// Whether a CSV record read so far ends inside a quoted field, so that the next line belongs to
// it: an odd number of quotes (every "" inside a field counts two).
bool csv_inside_quotes(std::string_view text);

// --trim: which ends of each value lose their whitespace (Perl's \s: blank, \t, \n, \v, \f,
// \r).
enum class Trim { kNone, kLeft, kRight, kBoth };
// "n", "l", "r", "lr" or "rl"; throws std::invalid_argument otherwise.
Trim parse_trim(const std::string& text);
void trim(std::string& s, Trim how);

}  // namespace procpool
