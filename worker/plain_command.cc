#include "worker/plain_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>

namespace procpool {

namespace {

bool plain_byte(unsigned char c) {
  if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("_-./,:@%+=").find(static_cast<char>(c)) != std::string_view::npos;
}

// Builtins and reserved words of dash and bash (either may be /bin/sh), sorted.
constexpr std::string_view kShellWords[] = {
    ".",       ":",       "alias",  "bg",      "bind",     "break",    "builtin",   "caller",
    "case",    "cd",      "chdir",  "command", "compgen",  "complete", "compopt",   "continue",
    "coproc",  "declare", "dirs",   "disown",  "do",       "done",     "echo",      "elif",
    "else",    "enable",  "esac",   "eval",    "exec",     "exit",     "export",    "false",
    "fc",      "fg",      "fi",     "for",     "function", "getopts",  "hash",      "help",
    "history", "if",      "in",     "jobs",    "kill",     "let",      "local",     "logout",
    "mapfile", "popd",    "printf", "pushd",   "pwd",      "read",     "readarray", "readonly",
    "return",  "select",  "set",    "shift",   "shopt",    "source",   "suspend",   "test",
    "then",    "time",    "times",  "trap",    "true",     "type",     "typeset",   "ulimit",
    "umask",   "unalias", "unset",  "until",   "wait",     "while",
};
static_assert(std::is_sorted(std::begin(kShellWords), std::end(kShellWords)));

bool shell_word(std::string_view word) {
  return std::binary_search(std::begin(kShellWords), std::end(kShellWords), word);
}

}  // namespace

std::optional<std::vector<std::string>> plain_command_words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (!plain_byte(static_cast<unsigned char>(line[i]))) return std::nullopt;
      ++i;
    }
    words.emplace_back(line.substr(start, i - start));
  }
  if (words.empty() || words[0].find('=') != std::string::npos || shell_word(words[0])) {
    return std::nullopt;
  }
  return words;
}

std::string shell_pwd(const std::string& dir, const char* pwd) {
  const char* target = dir.empty() ? "." : dir.c_str();
  struct stat here, there;
  if (::stat(target, &here) != 0) return "";
  if (pwd && pwd[0] == '/' && ::stat(pwd, &there) == 0 && here.st_dev == there.st_dev &&
      here.st_ino == there.st_ino) {
    return pwd;
  }
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(target, nullptr), &std::free);
  return real ? std::string(real.get()) : std::string();
}

}  // namespace procpool
