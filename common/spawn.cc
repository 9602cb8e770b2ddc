#include "common/spawn.h"

#include <fcntl.h>
#include <spawn.h>

#include <cerrno>
#include <csignal>
#include <system_error>

namespace procpool {

namespace {

void check(int rc, const char* call) {
  if (rc != 0) throw std::system_error(rc, std::generic_category(), call);
}

// The posix_spawn attribute object, destroyed however spawn_child leaves.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { check(posix_spawnattr_init(&attr), "posix_spawnattr_init"); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

// The file actions of a spawn: its stdin, stdout and stderr (and cwd), then nothing else. Each
// action glibc adds checks its descriptors against the descriptor limit, a getrlimit call each:
// six a job. A worker spawns every job onto the same descriptor numbers (a job's pipes take the
// ones the last job's freed), so the actions for those are made once a thread and reused.
struct FileActions {
  posix_spawn_file_actions_t actions;
  int in = -2, out = -2, err = -2;  // what they were made for (-2: nothing yet)
  bool made = false;

  FileActions() = default;
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  ~FileActions() { clear(); }
  void clear() {
    if (made) posix_spawn_file_actions_destroy(&actions);
    made = false;
    in = out = err = -2;
  }
  bool fits(const ChildSetup& setup) const {
    return made && !setup.cwd && in == setup.stdin_fd && out == setup.stdout_fd &&
           err == setup.stderr_fd;
  }
  void make(const ChildSetup& setup) {
    clear();
    check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init");
    made = true;
    if (setup.stdin_fd >= 0) {
      check(posix_spawn_file_actions_adddup2(&actions, setup.stdin_fd, 0),
            "posix_spawn_file_actions_adddup2");
    } else {
      check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0),
            "posix_spawn_file_actions_addopen");
    }
    check(posix_spawn_file_actions_adddup2(&actions, setup.stdout_fd, 1),
          "posix_spawn_file_actions_adddup2");
    check(posix_spawn_file_actions_adddup2(&actions, setup.stderr_fd, 2),
          "posix_spawn_file_actions_adddup2");
    if (setup.cwd) {
      check(posix_spawn_file_actions_addchdir_np(&actions, setup.cwd),
            "posix_spawn_file_actions_addchdir_np");
    }
    // Descriptors leaked into us without close-on-exec stop here: the child sees 0, 1, 2.
    check(posix_spawn_file_actions_addclosefrom_np(&actions, 3),
          "posix_spawn_file_actions_addclosefrom_np");
    if (!setup.cwd) in = setup.stdin_fd, out = setup.stdout_fd, err = setup.stderr_fd;
  }
};

}  // namespace

int spawn_child(pid_t* pid, const char* program, char* const argv[], char* const envp[],
                const ChildSetup& setup) {
  SpawnAttr sa;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  check(posix_spawnattr_setflags(
            &sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
        "posix_spawnattr_setflags");
  // Its own group: a Ctrl-C at the terminal reaches only us, and a whole job can be signalled.
  check(posix_spawnattr_setpgroup(&sa.attr, 0), "posix_spawnattr_setpgroup");
  check(posix_spawnattr_setsigmask(&sa.attr, &none), "posix_spawnattr_setsigmask");
  check(posix_spawnattr_setsigdefault(&sa.attr, &all), "posix_spawnattr_setsigdefault");
  thread_local FileActions reused;
  FileActions fresh;
  FileActions& fa = setup.cwd ? fresh : reused;
  if (!fa.fits(setup)) fa.make(setup);
  return setup.search_path ? posix_spawnp(pid, program, &fa.actions, &sa.attr, argv, envp)
                           : posix_spawn(pid, program, &fa.actions, &sa.attr, argv, envp);
}

bool spawn_error_is_transient(int err) {
  return err == EAGAIN || err == ENOMEM;
}

}  // namespace procpool
