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

// True when `tmpl` contains at least one replacement string.
bool has_replacement(const std::string& tmpl);

// The command for one job. `inputs` holds one value per input source (several for a cartesian
// product); {} and its variants use all of them joined by spaces, {N} picks source N (1-based).
// {#} is `seq`; {%} becomes "$PROCPOOL_SLOT", which the worker sets to its slot number. A
// template without replacement strings gets the quoted inputs appended, as GNU parallel does.
// Throws std::invalid_argument naming the bad replacement when {N} exceeds the sources.
std::string expand_template(const std::string& tmpl, const std::vector<std::string>& inputs,
                            uint64_t seq);

}  // namespace procpool
