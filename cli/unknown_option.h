// Words procpool did not take. An unknown option is an error that names the option probably
// meant, never the start of a command: `procpool map --jbos 4 'gzip {}'` must not run `--jbos`.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace procpool {

// Parses the command line with `app`. `map` is app's subcommand whose words from its first
// unknown one on are the template and its inputs (CLI11's prefix command); in front of them, a
// `--` ends procpool's options, so a template may start with `-`, as with GNU parallel and
// xargs. A `--` after the template's first word is the command's own (`git log -- {}`).
// The other subcommands must allow extras (CLI11's allow_extras): the words they do not take
// are judged here, with a better message than CLI11's "arguments were not expected".
struct CommandLine {
  std::vector<std::string> map_words;  // the template and its inputs, when `map` was given
  bool after_dashes = false;           // map_words came after `--`: none is an option
  // What to tell the user (nothing is run) when a word was not taken: an unknown option, with
  // the option probably meant; for map, a template that starts with `-` without `--` before.
  std::optional<std::string> error;
};
CommandLine parse_command_line(CLI::App& app, CLI::App& map, int argc, const char* const* argv);

// The parts without CLI11, for tests.
// The names `cmd` takes: "--jobs", "-j", "--help"...
std::vector<std::string> option_names(const CLI::App& cmd);
// Shaped like an option: "-x", "--foo", "--foo=1"; not "-" (stdin) or "--".
bool looks_like_option(const std::string& word);
// The known options most likely meant by the unknown `word` ("--jbos", "--jbos=4",
// "-timeout", "--sshlogin"), best first, at most three; empty when none is close: GNU
// parallel's name for what procpool calls otherwise, then the names within a small edit
// distance (a typo, two swapped letters) and those `word` abbreviates.
std::vector<std::string> closest_options(const std::string& word,
                                         const std::vector<std::string>& known);
// The words of `known` most likely meant by the unknown `word`, best first, at most three;
// empty when none is close: those within a small edit distance (a typo, two swapped letters)
// and those `word` abbreviates. What closest_options and unknown commands share.
std::vector<std::string> closest_words(const std::string& word,
                                       const std::vector<std::string>& known);
// "procpool map has no option --jbos: did you mean --jobs?"
std::string unknown_option_message(const std::string& command, const std::string& word,
                                   const std::vector<std::string>& known);

// "procpool: unknown command 'rnu': did you mean run?"
std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands);

}  // namespace procpool
