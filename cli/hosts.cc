#include "cli/hosts.h"

#include <fstream>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/template.h"

namespace procpool {

namespace {

// "4/build2" -> {4, "build2"}; "build2" -> {per_host, "build2"}.
std::pair<int, std::string> slots_and_host(const std::string& spec, int per_host,
                                           const std::string& where) {
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format(
        "{}'{}': {}; expected HOST, N/HOST (N worker slots there) or ':' for this machine, "
        "for example --ssh 4/build2 --ssh user@build3",
        where, spec, why));
  };
  auto slash = spec.find('/');
  int n = per_host;
  std::string host = spec;
  if (slash != std::string::npos) {
    std::string count = spec.substr(0, slash);
    host = spec.substr(slash + 1);
    if (count.empty() || count.find_first_not_of("0123456789") != std::string::npos ||
        count.size() > 4 || std::stoi(count) < 1) {
      throw bad("'" + count + "' is not a number of slots from 1 to 9999");
    }
    n = std::stoi(count);
  }
  if (host.empty()) throw bad("no host");
  if (host[0] == '-') throw bad("a host cannot start with '-'");
  if (host.find_first_of(" \t\n'\"\\;|&$`") != std::string::npos) {
    throw bad(
        "a host name has no spaces, quotes or shell characters (put ssh options in "
        "--ssh-cmd or your ssh config)");
  }
  return {n, host};
}

}  // namespace

std::vector<std::string> split_words(const std::string& flag, const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      size_t end = text.find(c, i + 1);
      if (end == std::string::npos) {
        throw UsageError(fmt::format("{} {}: unbalanced {} quote", flag, text, c));
      }
      word += text.substr(i + 1, end - i - 1);
      in_word = true;
      i = end;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::vector<WorkerSlot> worker_slots(const HostOptions& hosts, int per_host,
                                     const std::string& cwd) {
  std::vector<WorkerSlot> slots;
  if (!hosts.remote()) return slots;
  std::string self = self_exe();
  std::string remote_bin = hosts.remote_procpool.empty() ? self : hosts.remote_procpool;
  std::vector<std::string> specs = hosts.ssh;
  if (!hosts.ssh_file.empty()) {
    std::ifstream in(hosts.ssh_file);
    if (!in) {
      throw UsageError(
          fmt::format("--ssh-file {}: cannot read it (one host a line: HOST, "
                      "N/HOST or ':')",
                      hosts.ssh_file));
    }
    for (std::string line; std::getline(in, line);) {
      auto start = line.find_first_not_of(" \t\r");
      if (start == std::string::npos || line[start] == '#') continue;
      auto end = line.find_last_not_of(" \t\r");
      specs.push_back(line.substr(start, end - start + 1));
    }
    if (specs.empty()) {
      throw UsageError(fmt::format("--ssh-file {}: names no host", hosts.ssh_file));
    }
  }
  if (hosts.slurm) {
    if (!specs.empty()) {
      throw UsageError("--slurm and --ssh both say where the workers run: choose one");
    }
    // --unbuffered: without it slurmstepd holds output until a newline, and frames have none.
    std::vector<std::string> cmd{"srun", "--ntasks=1", "--unbuffered", "--quiet"};
    for (auto& w : split_words("--slurm", hosts.srun_args)) cmd.push_back(std::move(w));
    cmd.insert(cmd.end(), {remote_bin, "worker", "--cwd", cwd});
    slots.assign(static_cast<size_t>(per_host), WorkerSlot{cmd, "slurm", true});
    return slots;
  }
  std::vector<std::string> ssh = split_words("--ssh-cmd", hosts.ssh_cmd);
  if (ssh.empty()) throw UsageError("--ssh-cmd is empty: give the command, for example 'ssh'");
  // No pty (it would mangle binary frames) and no escape character; ssh hands the remote
  // shell one string, so every word in it is quoted.
  std::string remote_command =
      "exec " + shell_quote(remote_bin) + " worker --cwd " + shell_quote(cwd);
  for (const auto& spec : specs) {
    auto [n, host] = slots_and_host(spec, per_host, hosts.ssh_file.empty() ? "--ssh " : "");
    WorkerSlot slot;
    if (host == ":") {
      slot.command = {self, "worker"};
    } else {
      slot.command = ssh;
      for (const char* w : {"-T", "-e", "none"}) slot.command.push_back(w);
      slot.command.push_back(host);
      slot.command.push_back(remote_command);
      slot.host = host;
      slot.remote = true;
    }
    for (int i = 0; i < n; ++i) slots.push_back(slot);
  }
  return slots;
}

}  // namespace procpool
