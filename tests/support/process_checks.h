// Checks shared by the end-to-end tests: waiting for files that jobs create, and asking whether
// processes a job started are really gone (neither running nor left as zombies). Header-only.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace procpool::testing {

// The whole content of `path`, or "" when it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool file_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Polls until `path` exists and is not empty, for at most `limit`. This waits for a real event
// (a job writing the file), bounded so a broken run fails instead of hanging.
inline bool wait_for_file(const std::string& path,
                          std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!slurp(path).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Reads a pid (or pgid) a job wrote to `path`; -1 when there is none.
inline pid_t read_pid(const std::string& path) {
  std::string text = slurp(path);
  try {
    return static_cast<pid_t>(std::stol(text));
  } catch (...) {
    return -1;
  }
}

// "<comm> <state>" from /proc/PID/stat, or "" when the process does not exist at all.
inline std::string proc_stat(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return "";
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
    return stat;
  }
  return stat.substr(open + 1, close - open - 1) + " " + stat[close + 2];
}

// True when no process (live or zombie) has this pid: kill(pid, 0) fails with ESRCH.
inline bool process_gone(pid_t pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}
// True when no process (live or zombie) is left in the process group `pgid`.
inline bool group_gone(pid_t pgid) {
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

// Waits (bounded) for `gone()` to hold: a killed process needs a moment to exit and be reaped.
// A zombie nobody reaps never satisfies it, so a leak still fails.
template <typename Pred>
bool eventually(Pred gone, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (gone()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Pids of this process's children (live or zombie), from /proc.
inline std::vector<pid_t> children_of_self() {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  std::string me = std::to_string(::getpid());
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string stat = slurp(std::string("/proc/") + e->d_name + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid == me) out.push_back(static_cast<pid_t>(std::stol(e->d_name)));
  }
  ::closedir(proc);
  return out;
}

// Makes this process a child subreaper for its lifetime, so anything a child leaves behind
// comes back to us instead of to PID 1, where the test can see it.
class ScopedSubreaper {
 public:
  ScopedSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  // Kills and reaps whatever was left to us, so no test leaves processes for the next one.
  ~ScopedSubreaper() {
    leftovers();
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  ScopedSubreaper(const ScopedSubreaper&) = delete;
  ScopedSubreaper& operator=(const ScopedSubreaper&) = delete;

  // Descriptions ("1234 sleep Z") of the processes that were left to us. Whatever a child
  // leaves behind is re-parented to us as it exits, so after waiting for that child this is
  // complete. All of them are killed and reaped before returning.
  std::vector<std::string> leftovers() const {
    std::vector<std::string> found;
    std::vector<pid_t> kids = children_of_self();
    for (pid_t pid : kids) found.push_back(std::to_string(pid) + " " + proc_stat(pid));
    for (pid_t pid : kids) {
      // Never let one leak into the next test: kill what is still alive and reap it.
      if (!proc_stat(pid).ends_with(" Z")) ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return found;
  }
};

// Parses every line of `text` as JSON; a line that does not parse fails the calling test.
inline std::vector<nlohmann::json> parse_json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace procpool::testing
