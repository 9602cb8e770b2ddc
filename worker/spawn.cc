#include "worker/spawn.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "common/spawn.h"
#include "worker/plain_command.h"

extern char** environ;

namespace procpool {

namespace {

// The environment a job sees: ours, with the job's keys added or replaced.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    std::string key = eq ? std::string(*e, static_cast<size_t>(eq - *e)) : std::string(*e);
    if (!overrides.count(key)) out.emplace_back(*e);
  }
  for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
  return out;
}

// PATH lookup done here, not by posix_spawnp, so a PATH in the job's own env is honoured and
// "not found" is told apart from "found but not executable".
std::string search_path(const std::string& program, const std::string& path) {
  std::string found_not_executable;
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? colon : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (found_not_executable.empty()) found_not_executable = candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (!found_not_executable.empty()) {
    throw SpawnError("cannot run '" + program + "': " + found_not_executable +
                     " is not executable");
  }
  throw SpawnError("cannot run '" + program + "': command not found in PATH");
}

// Where each program was found, per PATH: a batch runs the same few programs thousands of
// times, and every miss in a long PATH is a stat (as dash keeps its own hash of them). An
// entry that no longer runs is dropped and looked up again (see spawn_task).
std::unordered_map<std::string, std::string> resolved_cache;

// The PATH a job searches: its own, else ours.
std::string job_path(const std::map<std::string, std::string>& env) {
  auto it = env.find("PATH");
  const char* path_env = it != env.end() ? it->second.c_str() : ::getenv("PATH");
  return path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
}

std::string cache_key(const std::string& program, const std::map<std::string, std::string>& env) {
  return job_path(env) + '\0' + program;
}

std::string resolve(const std::string& program, const std::map<std::string, std::string>& env) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = job_path(env);
  std::string key = path + '\0' + program;
  auto hit = resolved_cache.find(key);
  if (hit != resolved_cache.end()) return hit->second;
  std::string found = search_path(program, path);
  // Found through a relative PATH entry: it depends on each job's cwd, so it is not kept.
  if (found[0] != '/') return found;
  if (resolved_cache.size() > 1024) resolved_cache.clear();  // a batch of distinct programs
  return resolved_cache[key] = found;
}

// As resolve, with "" for "cannot be run".
std::string search_or_empty(const std::string& program,
                            const std::map<std::string, std::string>& env) {
  try {
    return resolve(program, env);
  } catch (const SpawnError&) {
    return "";
  }
}

void check_cwd(const std::string& cwd) {
  struct stat st;
  if (::stat(cwd.c_str(), &st) != 0) {
    throw SpawnError("cannot use working directory '" + cwd + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw SpawnError("cannot use working directory '" + cwd + "': not a directory");
  }
}

// The slower way, for jobs with limits that posix_spawn cannot set: fork (the worker is small
// and single-threaded), then only async-signal-safe calls before exec. An exec failure comes
// back through a close-on-exec pipe, so it is reported, not guessed from exit status 127.
// Returns 0, or the errno exec failed with, as posix_spawn does.
int fork_exec(pid_t* pid_out, const char* program, char* const* argv, char* const* envp,
              const Task& task, int in_fd, int out_w, int err_w) {
  Fd devnull;
  if (in_fd < 0) {
    devnull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return errno;
    devnull.reset(move_above_stdio(devnull.release()));
    in_fd = devnull.get();
  }
  Pipe report = make_pipe();
  rlimit mem{}, cpu{};
  if (task.limits.memory_bytes) mem.rlim_cur = mem.rlim_max = *task.limits.memory_bytes;
  if (task.limits.cpu) {
    // Soft limit: SIGXCPU at the limit; hard limit a second later: SIGKILL if it ignores that.
    cpu.rlim_cur = static_cast<rlim_t>((task.limits.cpu->count() + 999) / 1000);
    cpu.rlim_max = cpu.rlim_cur + 1;
  }
  const char* cwd = task.cwd.empty() ? nullptr : task.cwd.c_str();

  pid_t pid = ::fork();
  if (pid < 0) return errno;  // EAGAIN at the process limit: the caller decides
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    int err = 0;
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) err = errno;
    if (!err && cwd && ::chdir(cwd) != 0) err = errno;
    // Everything above 2 but the report pipe, which exec closes itself (close-on-exec).
    int report_fd = report.write.get();
    if (!err && report_fd > 3) ::close_range(3, static_cast<unsigned>(report_fd) - 1, 0);
    if (!err) ::close_range(static_cast<unsigned>(report_fd) + 1, ~0U, 0);
    if (!err && task.limits.memory_bytes && ::setrlimit(RLIMIT_AS, &mem) != 0) err = errno;
    if (!err && task.limits.cpu && ::setrlimit(RLIMIT_CPU, &cpu) != 0) err = errno;
    if (!err && task.limits.nice) {
      errno = 0;
      if (::nice(*task.limits.nice) == -1 && errno != 0) err = errno;
    }
    if (!err) {
      ::execve(program, argv, envp);
      err = errno;
    }
    ssize_t ignored = ::write(report.write.get(), &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  report.write.reset();
  int err = 0;
  ssize_t n;
  while ((n = ::read(report.read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
  }
  if (n == sizeof err) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return err;
  }
  *pid_out = pid;
  return 0;
}

// A program, its arguments and its environment, kept alive while posix_spawn or fork_exec
// reads them through the pointer arrays (which point into the strings: never copied).
struct ExecImage {
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the job's additions to our environment
  std::vector<std::string> env_storage;    // ours with those; empty: ours as it is
  std::vector<char*> argv, envp;

  ExecImage(std::string path, std::vector<std::string> words,
            std::map<std::string, std::string> overrides)
      : program(std::move(path)), args(std::move(words)), env(std::move(overrides)) {
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!env.empty()) {
      env_storage = merged_environment(env);
      for (auto& e : env_storage) envp.push_back(e.data());
      envp.push_back(nullptr);
    }
  }
  ExecImage(const ExecImage&) = delete;
  ExecImage(ExecImage&&) = default;
  ExecImage& operator=(ExecImage&&) = default;
  char** environment() { return env_storage.empty() ? environ : envp.data(); }
};

ExecImage through_shell(const Task& task) {
  return ExecImage("/bin/sh", {"sh", "-c", task.shell}, task.env);
}

// A command line of plain words runs as its program (see plain_command.h), with the PWD that
// sh would have exported. Not found, or not runnable: left to sh, which says so its own way.
std::optional<ExecImage> without_shell(const Task& task) {
  auto words = plain_command_words(task.shell);
  if (!words) return std::nullopt;
  std::string program = search_or_empty((*words)[0], task.env);
  if (program.empty()) return std::nullopt;
  auto env = task.env;
  auto it = env.find("PWD");
  const char* inherited = it != env.end() ? it->second.c_str() : ::getenv("PWD");
  std::string pwd = shell_pwd(task.cwd, inherited);
  // Only when it differs: an unchanged environment is passed as it is, not copied per job.
  if (!pwd.empty() && (inherited == nullptr || pwd != inherited)) env["PWD"] = pwd;
  return ExecImage(std::move(program), std::move(*words), std::move(env));
}

// The system would not make a process now: name that, not the program (which is not at fault),
// and the limit that is the likely cause.
SpawnError transient_spawn_error(int err) {
  std::string why = std::string("the system refused a new process (") + std::strerror(err) + ")";
  if (err == EAGAIN) {
    rlimit nproc{};
    why += ": the limit on processes was reached";
    if (::getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY) {
      why += " (ulimit -u is " + std::to_string(nproc.rlim_cur) + ", or a cgroup's pids.max)";
    } else {
      why += " (a cgroup's pids.max, or the system's threads-max)";
    }
  } else {
    why += ": memory for a new process ran out";
  }
  return SpawnError("cannot start it: " + why, err);
}

}  // namespace

bool SpawnError::transient() const {
  return spawn_error_is_transient(error);
}

Spawned spawn_task(const Task& task, int stdin_fd) {
  if (!task.cwd.empty()) check_cwd(task.cwd);
  std::optional<ExecImage> image;
  bool plain_line = false;  // a command line run without sh
  if (!task.argv.empty()) {
    image.emplace(resolve(task.argv[0], task.env), task.argv, task.env);
  } else {
    image = without_shell(task);
    plain_line = image.has_value();
    if (!image) image.emplace(through_shell(task));
  }

  Pipe out, err;
  try {
    out = make_pipe();
    err = make_pipe();
  } catch (const std::system_error& e) {
    // EMFILE/ENFILE: this job cannot have its pipes; the next may, once others close theirs.
    throw SpawnError(std::string("cannot make its output pipes: ") + e.what(), e.code().value());
  }
  ChildSetup setup;
  setup.stdin_fd = stdin_fd;
  setup.stdout_fd = out.write.get();
  setup.stderr_fd = err.write.get();
  if (!task.cwd.empty()) setup.cwd = task.cwd.c_str();
  // Jobs with limits take the slower way: posix_spawn cannot set them.
  auto start = [&](pid_t* pid, ExecImage& x) {
    return task.limits.any()
               ? fork_exec(pid, x.program.c_str(), x.argv.data(), x.environment(), task, stdin_fd,
                           out.write.get(), err.write.get())
               : spawn_child(pid, x.program.c_str(), x.argv.data(), x.environment(), setup);
  };

  pid_t pid = -1;
  int rc = start(&pid, *image);
  if (spawn_error_is_transient(rc)) throw transient_spawn_error(rc);
  std::string name = image->args[0];
  bool searched = (plain_line || !task.argv.empty()) && name.find('/') == std::string::npos;
  if (rc != 0 && searched && resolved_cache.erase(cache_key(name, task.env))) {
    // Found earlier, gone or changed since: look again, as a fresh search would.
    std::string again = plain_line ? search_or_empty(name, task.env) : resolve(name, task.env);
    if (!again.empty()) {
      ExecImage retry(std::move(again), image->args, image->env);
      image.emplace(std::move(retry));
      rc = start(&pid, *image);
    }
  }
  if (rc != 0 && plain_line && !spawn_error_is_transient(rc)) {
    // Not runnable as it is (a script without #!, say): sh knows what to do with it.
    image.emplace(through_shell(task));
    rc = start(&pid, *image);
  }
  if (spawn_error_is_transient(rc)) throw transient_spawn_error(rc);
  if (rc != 0) {
    throw SpawnError("cannot run '" + image->args[0] + "': " + std::strerror(rc), rc);
  }
  // A fresh pipe's read end has no other status flag: set, without asking first.
  for (int fd : {out.read.get(), err.read.get()}) {
    if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl (a job's pipe)");
  }
  return Spawned{pid, std::move(out.read), std::move(err.read)};
}

}  // namespace procpool
