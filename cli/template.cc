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

std::string quote_template_word(const std::string& word) {
  std::string out, text;
  auto flush = [&] {
    if (!text.empty()) out += shell_quote(text);
    text.clear();
  };
  for (size_t pos = 0; pos < word.size();) {
    std::optional<Replacement> r;
    if (word[pos] == '{') r = parse_at(word, pos);
    if (!r) {
      text += word[pos++];
      continue;
    }
    flush();
    out.append(word, pos, r->length);  // its value is quoted when it is put in
    pos += r->length;
  }
  flush();
  return out.empty() ? "''" : out;
}

bool has_replacement(const std::string& tmpl) {
  for (size_t pos = tmpl.find('{'); pos != std::string::npos; pos = tmpl.find('{', pos + 1)) {
    if (parse_at(tmpl, pos)) return true;
  }
  return false;
}

namespace {

// Where {N} points among `count` values, or -1 for none.
long long value_index(long long source, size_t count) {
  long long n = static_cast<long long>(count);
  long long index = source > 0 ? source - 1 : n + source;  // {-1} is the last value
  return source == 0 || index < 0 || index >= n ? -1 : index;
}

// GNU parallel's context groups end at a blank or a tab of the template (not at a newline).
bool ends_context_group(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

Template::Template(const std::string& text, Mode mode) : mode_(mode) {
  // GNU parallel appends " {}" to a command without replacement strings.
  std::string tmpl = has_replacement(text) || mode == Mode::kText ? text
                     : text.empty()                               ? "{}"
                                                                  : text + " {}";
  std::vector<Piece> pieces;
  auto add_text = [&pieces](char c) {
    if (pieces.empty() || pieces.back().kind != Piece::Kind::kText) pieces.emplace_back();
    pieces.back().text += c;
  };
  for (size_t pos = 0; pos < tmpl.size();) {
    std::optional<Replacement> r;
    if (tmpl[pos] == '{') r = parse_at(tmpl, pos);
    if (!r) {
      add_text(tmpl[pos++]);
      continue;
    }
    Piece p;
    p.modifier = std::string(r->modifier);
    switch (r->kind) {
      case Replacement::Kind::kAllInputs:
        p.kind = Piece::Kind::kAll;
        all_modifiers_.push_back(p.modifier);
        break;
      case Replacement::Kind::kSource:
        p.kind = Piece::Kind::kPosition;
        p.source = r->source;
        p.text = tmpl.substr(pos, r->length);
        break;
      case Replacement::Kind::kSeq:
        p.kind = Piece::Kind::kSeq;
        break;
      case Replacement::Kind::kSlot:
        p.kind = Piece::Kind::kSlot;
        break;
    }
    pieces.push_back(std::move(p));
    pos += r->length;
  }
  if (mode_ != Mode::kContext) {
    groups_.push_back(Group{std::move(pieces), false});
    return;
  }
  // Cut the template into words and the blanks between them; a word holding {} repeats.
  Group word, blanks;
  auto close_word = [this, &word] {
    if (word.pieces.empty()) return;
    for (const auto& p : word.pieces) word.repeats = word.repeats || p.kind == Piece::Kind::kAll;
    groups_.push_back(std::move(word));
    word = Group{};
  };
  auto close_blanks = [this, &blanks] {
    if (blanks.pieces.empty()) return;
    groups_.push_back(std::move(blanks));
    blanks = Group{};
  };
  for (auto& p : pieces) {
    if (p.kind != Piece::Kind::kText) {
      close_blanks();
      word.pieces.push_back(std::move(p));
      continue;
    }
    for (char c : p.text) {
      Group& into = ends_context_group(c) ? blanks : word;
      if (ends_context_group(c)) {
        close_word();
      } else {
        close_blanks();
      }
      if (into.pieces.empty() || into.pieces.back().kind != Piece::Kind::kText) {
        into.pieces.emplace_back();
      }
      into.pieces.back().text += c;
    }
  }
  close_word();
  close_blanks();
}

std::string Template::one_value(const Piece& p, const std::string& value) const {
  std::string v = apply_modifier(p.modifier, value);
  return mode_ == Mode::kText ? v : shell_quote(v);
}

std::string Template::render(const Piece& p, const std::vector<std::string>& values,
                             uint64_t seq) const {
  switch (p.kind) {
    case Piece::Kind::kText:
      return p.text;
    case Piece::Kind::kSeq:
      return std::to_string(seq);
    case Piece::Kind::kSlot:
      // The slot is only known to the worker that runs the job, so the shell fills it in.
      return "\"$PROCPOOL_SLOT\"";
    case Piece::Kind::kPosition: {
      // A value that is not there is nothing at all, not an empty word (GNU parallel).
      long long at = value_index(p.source, values.size());
      return at < 0 ? std::string() : one_value(p, values[static_cast<size_t>(at)]);
    }
    case Piece::Kind::kAll:
      break;
  }
  return {};
}

size_t Template::fixed_length(const Group& g, const std::vector<std::string>& values,
                              uint64_t seq) const {
  size_t n = 0;
  for (const auto& p : g.pieces) {
    if (p.kind == Piece::Kind::kText)
      n += p.text.size();
    else if (p.kind != Piece::Kind::kAll)
      n += render(p, values, seq).size();
  }
  return n;
}

std::string Template::expand(const std::vector<std::string>& values, uint64_t seq,
                             std::vector<size_t>* slot_spots) const {
  std::string out;
  auto put = [&](const Piece& p) {
    if (p.kind == Piece::Kind::kSlot && slot_spots) {
      slot_spots->push_back(out.size());  // the pool writes the number there (Task::of)
    } else {
      out += render(p, values, seq);
    }
  };
  for (const auto& g : groups_) {
    if (mode_ == Mode::kContext && g.repeats && !values.empty()) {
      // The whole word once per value, blank-separated: pic{}.jpg -> pica.jpg picb.jpg.
      for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ' ';
        for (const auto& p : g.pieces) {
          if (p.kind == Piece::Kind::kAll) {
            out += one_value(p, values[i]);
          } else {
            put(p);
          }
        }
      }
      continue;
    }
    for (const auto& p : g.pieces) {
      if (p.kind != Piece::Kind::kAll) {
        put(p);
        continue;
      }
      // Each value its own quoted word, as in GNU parallel: {} over "a b" and "c" is two
      // arguments, 'a b' and c, not one "a b c".
      for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ' ';
        out += one_value(p, values[i]);
      }
    }
  }
  return out;
}

size_t Template::value_cost(const std::string& value) const {
  size_t n = 0;
  for (const auto& m : all_modifiers_) n += shell_quote(apply_modifier(m, value)).size();
  return n;
}

size_t Template::length(const std::vector<std::string>& values, size_t cost_sum,
                        uint64_t seq) const {
  size_t count = values.size();
  size_t n = cost_sum;  // every value through every {} (kEach) or every repeated word's {}
  for (const auto& g : groups_) {
    size_t fixed = fixed_length(g, values, seq);
    if (mode_ == Mode::kContext && g.repeats && count > 0) {
      n += count * fixed + (count - 1);  // the word's other pieces in every copy, blanks between
      continue;
    }
    n += fixed;
    if (count > 1) {
      for (const auto& p : g.pieces) n += p.kind == Piece::Kind::kAll ? count - 1 : 0;
    }
  }
  return n;
}

std::string Template::position_beyond(size_t values) const {
  for (const auto& g : groups_) {
    for (const auto& p : g.pieces) {
      if (p.kind == Piece::Kind::kPosition && value_index(p.source, values) < 0) return p.text;
    }
  }
  return {};
}

std::string expand_template(const std::string& tmpl, const std::vector<std::string>& inputs,
                            uint64_t seq) {
  Template t(tmpl);
  std::string bad = t.position_beyond(inputs.size());
  if (!bad.empty()) {
    std::string have = inputs.size() == 1
                           ? "there is 1 input source"
                           : "there are " + std::to_string(inputs.size()) + " input sources";
    throw std::invalid_argument("replacement string " + bad + " names input source " +
                                bad.substr(1, bad.find_first_not_of("-0123456789", 1) - 1) +
                                ", but " + have +
                                "; sources are numbered from 1 (or from -1 for the last)");
  }
  return t.expand(inputs, seq);
}

}  // namespace procpool
