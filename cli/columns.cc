#include "cli/columns.h"

#include <regex>

#include <fmt/format.h>

namespace procpool {

struct ColumnSplitter::Regex {
  std::regex re;
};

namespace {

bool is_regex_meta(char c) {
  return std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos;
}

// Perl's \s.
bool is_perl_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

}  // namespace

ColumnSplitter::ColumnSplitter(const std::string& pattern) {
  bool plain = !pattern.empty();
  for (char c : pattern) plain = plain && !is_regex_meta(c);
  if (plain) {
    literal_ = pattern;
    return;
  }
  try {
    re_ = std::make_shared<const Regex>(Regex{std::regex(pattern, std::regex::ECMAScript)});
  } catch (const std::regex_error& e) {
    throw std::invalid_argument(
        fmt::format("'{}' is not a valid regular expression ({})", pattern, e.what()));
  }
}

std::vector<std::string> ColumnSplitter::split(const std::string& line) const {
  if (line.empty()) return {""};  // GNU parallel: an empty input is one empty column
  std::vector<std::string> out;
  size_t start = 0;  // of the current field
  if (!re_) {
    for (size_t at = line.find(literal_); at != std::string::npos;
         at = line.find(literal_, start)) {
      out.push_back(line.substr(start, at - start));
      start = at + literal_.size();
    }
    out.push_back(line.substr(start));
    return out;
  }
  // Perl's split: a match that is empty where the field starts (the line's start, or the end of
  // the previous match) does not split; one at the line's end neither.
  size_t from = 0;
  std::smatch m;
  while (from <= line.size() && std::regex_search(line.cbegin() + static_cast<std::ptrdiff_t>(from),
                                                  line.cend(), m, re_->re,
                                                  from > 0 ? std::regex_constants::match_prev_avail
                                                           : std::regex_constants::match_default)) {
    size_t at = from + static_cast<size_t>(m.position(0));
    size_t len = static_cast<size_t>(m.length(0));
    if (len == 0 && (at == start || at >= line.size())) {
      if (at >= line.size()) break;
      from = at + 1;  // try again one character on
      continue;
    }
    out.push_back(line.substr(start, at - start));
    start = at + len;
    from = start;
  }
  out.push_back(line.substr(start));
  return out;
}

bool csv_inside_quotes(std::string_view text) {
  size_t quotes = 0;
  for (char c : text) quotes += c == '"';
  return quotes % 2 == 1;
}

std::vector<std::string> parse_csv_record(std::string_view record, char sep) {
  if (!record.empty() && record.back() == '\r' && !csv_inside_quotes(record)) {
    record.remove_suffix(1);  // CRLF line ends, as RFC 4180 writes them
  }
  std::vector<std::string> fields(1);
  size_t i = 0;
  auto fail = [&fields](const std::string& what) {
    throw CsvError(fmt::format("field {}: {}", fields.size(), what));
  };
  while (true) {
    std::string& field = fields.back();
    if (i < record.size() && record[i] == '"') {
      // Quoted: up to the quote that is not doubled.
      for (++i;; ++i) {
        if (i >= record.size()) fail("the quoted field is not closed (a '\"' is missing)");
        if (record[i] != '"') {
          field += record[i];
        } else if (i + 1 < record.size() && record[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      if (i < record.size() && record[i] != sep) {
        fail(
            fmt::format("'{}' after the closing quote (a quote inside a quoted field is "
                        "written \"\")",
                        record[i]));
      }
    } else {
      for (; i < record.size() && record[i] != sep; ++i) {
        if (record[i] == '"') {
          fail(
              "a '\"' inside a field that does not start with one (quote the whole field: "
              "\"a \"\"b\"\" c\")");
        }
        field += record[i];
      }
    }
    if (i >= record.size()) return fields;
    ++i;  // the separator
    fields.emplace_back();
  }
}

Trim parse_trim(const std::string& text) {
  if (text == "n") return Trim::kNone;
  if (text == "l") return Trim::kLeft;
  if (text == "r") return Trim::kRight;
  if (text == "lr" || text == "rl") return Trim::kBoth;
  throw std::invalid_argument("expected n, l, r, lr or rl");
}

void trim(std::string& s, Trim how) {
  if (how == Trim::kRight || how == Trim::kBoth) {
    size_t end = s.size();
    while (end > 0 && is_perl_space(s[end - 1])) --end;
    s.erase(end);
  }
  if (how == Trim::kLeft || how == Trim::kBoth) {
    size_t begin = 0;
    while (begin < s.size() && is_perl_space(s[begin])) ++begin;
    s.erase(0, begin);
  }
}

}  // namespace procpool
