#include "cli/template.h"

#include <optional>
#include <stdexcept>
#include <string_view>

namespace procpool {

namespace {

// One replacement string found in a template, e.g. {2/.} or {#}.
struct Replacement {
  enum class Kind { kAllInputs, kSource, kSeq, kSlot };
  Kind kind = Kind::kAllInputs;
  long long source = 0;       // for kSource: 1-based, or negative counting from the last source
  std::string_view modifier;  // "", ".", "/", "//" or "/."
  size_t length = 0;          // characters of the template it covers, braces included
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Perl's \s, which GNU parallel allows between a source number and its modifier.
bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

bool is_path_modifier(std::string_view m) {
  return m.empty() || m == "." || m == "/" || m == "//" || m == "/.";
}

// Recognises the replacement string that starts at tmpl[pos] == '{'. Anything else (GNU
// parallel's {= perl =}, --plus strings, typos) is not ours and stays literal text, as GNU
// parallel leaves unknown braces alone.
std::optional<Replacement> parse_at(std::string_view tmpl, size_t pos) {
  size_t close = tmpl.find('}', pos + 1);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view inner = tmpl.substr(pos + 1, close - pos - 1);
  Replacement r;
  r.length = close - pos + 1;
  if (inner == "#" || inner == "%") {
    r.kind = inner == "#" ? Replacement::Kind::kSeq : Replacement::Kind::kSlot;
    return r;
  }
  size_t i = 0;
  bool negative = i < inner.size() && inner[i] == '-';
  if (negative) ++i;
  size_t digits_start = i;
  long long n = 0;
  for (; i < inner.size() && is_digit(inner[i]); ++i) {
    // Saturate instead of overflowing: {99999999999999999999} is just "too big" below.
    if (n < 1'000'000'000) n = n * 10 + (inner[i] - '0');
  }
  if (i > digits_start) {
    // GNU parallel's pattern is \{(-?\d+)\s*MODIFIER\}, so {1 .} is {1.} and {01} is {1}.
    while (i < inner.size() && is_space(inner[i])) ++i;
    r.kind = Replacement::Kind::kSource;
    r.source = negative ? -n : n;
  } else if (negative) {
    return std::nullopt;  // a lone '-' is no number
  }
  r.modifier = inner.substr(i);
  if (!is_path_modifier(r.modifier)) return std::nullopt;
  return r;
}

// {.}: GNU parallel's s:\.[^/.]*$:: — drop the last '.' and what follows, unless a '/' follows
// it (the dot is then in a directory name). ".bashrc" loses everything, as in GNU parallel.
std::string without_extension(const std::string& s) {
  size_t dot = s.rfind('.');
  if (dot == std::string::npos || s.find('/', dot) != std::string::npos) return s;
  return s.substr(0, dot);
}

// {/}: what follows the last '/' (so "a/" gives ""). GNU parallel's s:.*/:: cannot cross a
// newline and would turn "a\nb/c" into "a\nc"; we deliberately take the real last component.
std::string basename_of(const std::string& s) {
  size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// Perl's s{(.)/*\z}{$1}: trailing slashes go, but "/" stays "/".
void strip_trailing_slashes(std::string& s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
}

// Splits like Perl's File::Basename::fileparse: the part up to and including the last '/'
// ("./" when there is none) and the rest.
void split_path(const std::string& s, std::string& dir, std::string& base) {
  size_t slash = s.rfind('/');
  dir = slash == std::string::npos ? "./" : s.substr(0, slash + 1);
  base = slash == std::string::npos ? s : s.substr(slash + 1);
}

// {//}: GNU parallel calls Perl's File::Basename::dirname, i.e. POSIX dirname(1): "file" and ""
// give ".", "/x" gives "/", "a/b/" gives "a" (a trailing slash does not make a component).
std::string dirname_of(const std::string& s) {
  std::string dir, base;
  split_path(s, dir, base);
  strip_trailing_slashes(dir);
  if (base.empty()) {
    std::string again = dir;
    split_path(again, dir, base);
    strip_trailing_slashes(dir);
  }
  return dir;
}

std::string apply_modifier(std::string_view modifier, const std::string& value) {
  if (modifier == ".") return without_extension(value);
  if (modifier == "/") return basename_of(value);
  if (modifier == "//") return dirname_of(value);
  if (modifier == "/.") return without_extension(basename_of(value));
  return value;
}

// Each value is its own quoted word, as in GNU parallel: {} over sources "a b" and "c" is two
// arguments, 'a b' and c, not one "a b c".
std::string quoted_words(const std::vector<std::string>& inputs, std::string_view modifier) {
  std::string out;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (k > 0) out += ' ';
    out += shell_quote(apply_modifier(modifier, inputs[k]));
  }
  return out;
}

std::string render(const Replacement& r, std::string_view tmpl, size_t pos,
                   const std::vector<std::string>& inputs, uint64_t seq) {
  switch (r.kind) {
    case Replacement::Kind::kSeq:
      return std::to_string(seq);
    case Replacement::Kind::kSlot:
      // The slot is only known to the worker that runs the job, so the shell fills it in.
      return "\"$PROCPOOL_SLOT\"";
    case Replacement::Kind::kAllInputs:
      return quoted_words(inputs, r.modifier);
    case Replacement::Kind::kSource:
      break;
  }
  long long count = static_cast<long long>(inputs.size());
  long long index = r.source > 0 ? r.source - 1 : count + r.source;  // {-1} is the last source
  if (r.source == 0 || index < 0 || index >= count) {
    std::string name(tmpl.substr(pos, r.length));
    std::string have = count == 1 ? "there is 1 input source"
                                  : "there are " + std::to_string(count) + " input sources";
    throw std::invalid_argument("replacement string " + name + " names input source " +
                                std::to_string(r.source) + ", but " + have +
                                "; sources are numbered from 1 (or from -1 for the last)");
  }
  return shell_quote(apply_modifier(r.modifier, inputs[static_cast<size_t>(index)]));
}

// ASCII only, whatever the locale: bytes of UTF-8 text are quoted like any other.
bool is_safe_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
         std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  bool safe = !s.empty();
  for (char c : s) safe = safe && is_safe_char(c);
  if (safe) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";  // close the quote, an escaped quote, reopen
    else
      out += c;
  }
  out += '\'';
  return out;
}

bool has_replacement(const std::string& tmpl) {
  for (size_t pos = tmpl.find('{'); pos != std::string::npos; pos = tmpl.find('{', pos + 1)) {
    if (parse_at(tmpl, pos)) return true;
  }
  return false;
}

std::string expand_template(const std::string& tmpl, const std::vector<std::string>& inputs,
                            uint64_t seq) {
  std::string out;
  bool replaced = false;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    std::optional<Replacement> r;
    if (tmpl[pos] == '{') r = parse_at(tmpl, pos);
    if (!r) {
      out += tmpl[pos++];
      continue;
    }
    out += render(*r, tmpl, pos, inputs, seq);
    pos += r->length;
    replaced = true;
  }
  if (!replaced && !inputs.empty()) {
    if (!out.empty()) out += ' ';
    out += quoted_words(inputs, "");
  }
  return out;
}

}  // namespace procpool
