#include "cli/unknown_option.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace procpool {

namespace {

// GNU parallel's names (and xargs') for options procpool has under another name: what a user
// coming from them types from habit. Only suggested when the command has the option.
constexpr std::pair<const char*, const char*> kCounterparts[] = {
    {"--sshlogin", "--ssh"},          {"-S", "--ssh"},
    {"--sshloginfile", "--ssh-file"}, {"--slf", "--ssh-file"},
    {"--bar", "--progress"},          {"--eta", "--progress"},
    {"--max-procs", "--jobs"},        {"-P", "--jobs"},
    {"--ungroup", "--line-buffer"},   {"-u", "--line-buffer"},
    {"--halt-on-error", "--halt"},    {"--retry-failed", "--resume-failed"},
};

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbours ("jbos" is one from "jobs") each cost one.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::vector<std::string> reversed(std::vector<std::string> words) {
  std::reverse(words.begin(), words.end());  // CLI11 takes its arguments last first
  return words;
}

// ": did you mean --jobs?", ": did you mean run or map?"; "" for none.
std::string did_you_mean(const std::vector<std::string>& candidates) {
  std::string text;
  for (size_t i = 0; i < candidates.size(); ++i) {
    text += i == 0 ? ": did you mean " : i + 1 == candidates.size() ? " or " : ", ";
    text += candidates[i];
  }
  if (!candidates.empty()) text += "?";
  return text;
}

}  // namespace

bool looks_like_option(const std::string& word) {
  return word.size() > 1 && word[0] == '-' && word != "--";
}

std::vector<std::string> option_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : cmd.get_options()) {
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

std::vector<std::string> closest_words(const std::string& word,
                                       const std::vector<std::string>& known) {
  // A third of the word, at most two: "onall" is no typo of "null".
  size_t within = std::clamp<size_t>(word.size() / 3, 1, 2);
  std::vector<std::pair<size_t, std::string>> scored;  // (distance, word); abbreviations: 1
  for (const auto& k : known) {
    size_t d = edit_distance(word, k);
    // GNU parallel takes any unambiguous abbreviation (--keep for --keep-order): procpool
    // takes none, but suggests what it abbreviates.
    if (word.size() >= 2 && k.rfind(word, 0) == 0) d = std::min<size_t>(d, 1);
    if (d <= within) scored.emplace_back(d, k);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> best;
  for (const auto& [d, k] : scored) {
    if (best.size() == 3 || d > scored.front().first) break;
    best.push_back(k);
  }
  return best;
}

std::vector<std::string> closest_options(const std::string& word,
                                         const std::vector<std::string>& known) {
  std::string name = word.substr(0, word.find('='));
  auto has = [&](const std::string& n) {
    return std::find(known.begin(), known.end(), n) != known.end();
  };
  for (const auto& [theirs, ours] : kCounterparts) {
    if (name == theirs && has(ours)) return {ours};
  }
  // A single letter says too little to guess from ("-x" is one edit from every short option).
  if (name.size() <= 2) return {};
  // "-timeout" is --timeout with a dash missing, as likely as a typo.
  std::string bare = name.substr(name.find_first_not_of('-'));
  std::vector<std::string> long_names;  // without their "--"; short names are for single letters
  for (const auto& k : known) {
    if (k.size() > 2) long_names.push_back(k.substr(2));
  }
  std::vector<std::string> best = closest_words(bare, long_names);
  for (auto& b : best) b = "--" + b;
  return best;
}

std::string unknown_option_message(const std::string& command, const std::string& word,
                                   const std::vector<std::string>& known) {
  std::string name = word.substr(0, word.find('='));
  return fmt::format("{} has no option {}", command, name) +
         did_you_mean(closest_options(word, known));
}

std::string unknown_command_message(const std::string& word,
                                    const std::vector<std::string>& commands) {
  return fmt::format("procpool: unknown command '{}'", word) +
         did_you_mean(closest_words(word, commands));
}

namespace {

// For map, a word the template starts with that looks like an option; for the others, any word
// not taken.
std::optional<std::string> leftover_error(const CLI::App& cmd, bool prefix_command,
                                          const std::vector<std::string>& leftover) {
  std::string command = "procpool " + cmd.get_name();
  if (prefix_command) {
    if (leftover.empty() || !looks_like_option(leftover[0])) return std::nullopt;
    return unknown_option_message(command, leftover[0], option_names(cmd)) +
           "\n(procpool's options go before the template; put -- before a template that "
           "starts with -)";
  }
  for (const auto& word : leftover) {
    if (looks_like_option(word)) return unknown_option_message(command, word, option_names(cmd));
  }
  for (const auto& word : leftover) {
    if (word != "--") return fmt::format("{}: unexpected argument {}", command, word);
  }
  return std::nullopt;
}

CommandLine judged(const CLI::App& app, const CLI::App& map, CommandLine line) {
  for (const CLI::App* sub : app.get_subcommands()) {
    if (sub == &map) {
      if (!line.after_dashes) line.error = leftover_error(map, true, line.map_words);
    } else {
      line.error = leftover_error(*sub, false, sub->remaining());
    }
    if (line.error) break;
  }
  return line;
}

}  // namespace

CommandLine parse_command_line(CLI::App& app, CLI::App& map, int argc, const char* const* argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (app.get_name().empty()) app.name(argv[0]);  // as CLI11's own parse(argc, argv) does
  // The subcommand is the first word that is not one of procpool's own few options.
  size_t sub = 0;
  while (sub < words.size() && looks_like_option(words[sub])) ++sub;
  if (sub < words.size() && words[sub] == map.get_name()) {
    for (size_t dash = sub + 1; dash < words.size(); ++dash) {
      if (words[dash] != "--") continue;
      // CLI11 would take `--` as the end of map's positionals, and the template as extras of
      // procpool itself: what comes before it is parsed alone. As prefix commands stop at the
      // first word they do not know, that parse is the same as the whole line's up to `--`.
      try {
        app.parse(reversed(std::vector<std::string>(
            words.begin(), words.begin() + static_cast<std::ptrdiff_t>(dash))));
      } catch (const CLI::ArgumentMismatch&) {
        continue;  // it was the value of the option before it (`--colsep --`): the next one
      }
      CommandLine line;
      line.map_words = map.remaining();
      // Not empty: the template started before `--`, which is then the command's.
      line.after_dashes = line.map_words.empty();
      line.map_words.insert(
          line.map_words.end(),
          words.begin() + static_cast<std::ptrdiff_t>(dash) + (line.after_dashes ? 1 : 0),
          words.end());
      return judged(app, map, std::move(line));
    }
  }
  app.parse(reversed(std::move(words)));
  CommandLine line;
  if (map.parsed()) line.map_words = map.remaining();
  return judged(app, map, std::move(line));
}

}  // namespace procpool
