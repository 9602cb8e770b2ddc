#include "tests/support/e2e.h"

#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/fd.h"

extern char** environ;

namespace procpool::testing {

namespace {

// A colour forced in the environment the tests run in (FORCE_COLOR=1 is common in developers'
// shells) would colour every header on the pipes the tests read: the programs they start get
// the environment a plain shell gives. Tests of these variables set them themselves.
[[maybe_unused]] const bool kNoForcedColour = [] {
  ::unsetenv("FORCE_COLOR");
  ::unsetenv("CLICOLOR_FORCE");
  return true;
}();

}  // namespace

RunOutput run_program(const std::vector<std::string>& args, const std::string& input) {
  // A program that exits without reading all its input (a usage error) is an EPIPE here, not a
  // SIGPIPE that kills the test.
  ::signal(SIGPIPE, SIG_IGN);
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.write.get(), 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t pipe_default;
  sigemptyset(&pipe_default);
  sigaddset(&pipe_default, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &pipe_default);  // the program gets SIGPIPE as usual
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  in.read.reset();
  out.write.reset();
  err.write.reset();

  RunOutput r;
  size_t written = 0;
  set_nonblocking(in.write.get());
  if (input.empty()) in.write.reset();
  while (out.read || err.read) {
    pollfd fds[3] = {
        {out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}, {in.write.get(), POLLOUT, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) throw std::runtime_error("poll");
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      Fd& fd = i == 0 ? out.read : err.read;
      char buf[65536];
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) (i == 0 ? r.out : r.err).append(buf, n);
      if (n == 0) fd.reset();
    }
    if (fds[2].revents && in.write) {
      ssize_t n = ::write(in.write.get(), input.data() + written, input.size() - written);
      if (n > 0) written += n;
      if (n < 0 || written == input.size()) in.write.reset();
    }
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string procpool_bin() {
  // Another build of procpool, e.g. the commit before a change, to see a new test fail there.
  const char* other = ::getenv("PROCPOOL_TEST_BIN");
  return other && *other ? other : PROCPOOL_BIN;
}
std::string helper(const std::string& name) {
  return std::string(PROCPOOL_HELPERS) + "/" + name;
}

RunOutput run_procpool(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv{procpool_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, input);
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "procpool-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace procpool::testing
