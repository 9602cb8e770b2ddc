// Command lines that need no shell. `gzip -9 data.csv` through /bin/sh costs a whole shell
// start per job (sh does not exec its last command: it forks and waits); exec'd directly it
// costs nothing extra. Only lines that sh would run as exactly these words qualify.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procpool {

// The words of `line` when /bin/sh -c would run them as one external program with these very
// arguments: blank-separated words of letters, digits, bytes above 127 and `_-./,:@%+=`, whose
// first word is no assignment and no shell builtin or keyword (a builtin such as `echo` or
// `test` behaves differently from the program of the same name). Otherwise nullopt.
std::optional<std::vector<std::string>> plain_command_words(std::string_view line);

// What sh sets PWD to in the job's directory `dir` ("" for the current one): the inherited
// `pwd` when that names the same directory, else its physical path. "" if `dir` is unusable.
std::string shell_pwd(const std::string& dir, const char* pwd);

}  // namespace procpool
