// Untrusted text (job names, commands, paths, error messages quoting them) shown in procpool's own
// lines, so that it can be read but never obeyed: no input can end a line, forge another one,
// or drive the terminal (retitle it, clear it, move the cursor, reorder what it shows).
//
// What is escaped, and how (each escape is plain printable ASCII):
//   \n \r \t                  newline, carriage return, tab
//   \xHH                      any other C0 control (0x00-0x1F, ESC is \x1b), DEL (\x7f), and each
//                             byte that is not part of valid UTF-8 (a raw 0x80-0x9F byte is a C1
//                             control to an 8-bit terminal; 0xFF, cut or overlong sequences, ...)
//   \uHHHH                    a valid UTF-8 character that is a C1 control (U+0080-U+009F), a bidi
//                             embedding, override or isolate (U+202A-U+202E, U+2066-U+2069: the
//                             "trojan source" characters), a bidi mark (U+200E, U+200F, U+061C),
//                             or a line or paragraph separator (U+2028, U+2029)
// \xHH is always one byte of the input, \uHHHH always one character. Everything else (printable
// ASCII, and valid UTF-8 including zero-width joiners for emoji and scripts) is left as it is.
// A backslash is left as it is too: Windows paths, regular expressions and printf formats in
// commands stay readable and copy-pasteable, and the output stays safe (it is the control
// characters that forge and drive, not the backslash). The price is that a literal "\n" in a
// name looks like an escaped newline; --format jsonl, the journal and JUnit keep the exact text.
// visible() of visible() text changes nothing, so text escaped twice reads the same.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace procpool {

// Where the first byte visible() would change is; std::string_view::npos when the text is shown
// as it is (the common case: a quick scan, nothing copied).
size_t first_hidden(std::string_view text);
inline bool shown_as_is(std::string_view text) {
  return first_hidden(text) == std::string_view::npos;
}

// Appends `text` to `out` with every control character escaped as said above.
void append_visible(std::string& out, std::string_view text);
// `text` with every control character escaped as said above.
std::string visible(std::string_view text);

// How many terminal columns `text` takes (text as visible() leaves it): 2 for East Asian wide
// and fullwidth characters and emoji, 0 for combining marks and zero-width characters, 1 for
// everything else (a byte that is not valid UTF-8 included). As the terminals' wcwidth() of a
// UTF-8 locale, without depending on the locale procpool runs in.
size_t display_width(std::string_view text);
// The longest start of `text` that takes at most `columns` columns; never part of a character,
// and the combining marks that follow a character stay with it.
std::string_view head_within(std::string_view text, size_t columns);
// The longest end of `text` that takes at most `columns` columns, starting at a character that
// is no combining mark.
std::string_view tail_within(std::string_view text, size_t columns);
// `text` when it fits in `columns` columns; else its start and its end around "..." (ninja's
// elide-middle), taking at most `columns` columns (just "..." cut to `columns` when that is
// all there is room for).
std::string elide_middle(std::string_view text, size_t columns);

}  // namespace procpool
