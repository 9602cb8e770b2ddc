#include "common/worker_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#ifndef PROCPOOL_INSTALL_BINDIR
#define PROCPOOL_INSTALL_BINDIR "/usr/local/bin"
#endif

namespace procpool {

namespace {

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// `procpool` in the first directory of PATH that has it as an executable file; "" when none.
// Empty entries (the current directory, to execvp) are skipped: a worker is never picked up
// from wherever the program happens to run.
std::string on_path() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) continue;
    std::string candidate = std::string(dir) + "/procpool";
    if (is_executable_file(candidate)) return candidate;
  }
  return "";
}

}  // namespace

std::string installed_worker() {
  return PROCPOOL_INSTALL_BINDIR "/procpool";
}

std::vector<std::string> default_worker_command() {
  if (const char* named = std::getenv("PROCPOOL_WORKER"); named && *named) {
    return {named, "worker"};
  }
  if (std::string installed = installed_worker(); is_executable_file(installed)) {
    return {installed, "worker"};
  }
  if (std::string found = on_path(); !found.empty()) return {found, "worker"};
  throw std::runtime_error(
      "no procpool worker found: the pool's worker_command is empty, PROCPOOL_WORKER is not set, "
      "there is no " +
      installed_worker() +
      " (next to the library's install), and no directory of PATH has a procpool; set "
      "PROCPOOL_WORKER to the procpool binary, or give PoolOptions::worker_command (your own "
      "program, if its main calls procpool::worker_main())");
}

void refuse_pool_in_a_worker() {
  if (!std::getenv(kInWorkerVariable)) return;
  throw std::runtime_error(
      std::string("this process was started as a pool's worker (") + kInWorkerVariable +
      " is set) but starts a pool of its own instead of running procpool::worker_main(): its "
      "worker command runs a program that is no procpool worker; have its main call "
      "procpool::worker_main() when it is given its worker argument, or use the procpool "
      "binary");
}

}  // namespace procpool
