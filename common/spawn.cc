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

// The posix_spawn attribute objects, destroyed however spawn_child leaves.
struct SpawnAttrs {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttrs() {
    check(posix_spawnattr_init(&attr), "posix_spawnattr_init");
    if (int rc = posix_spawn_file_actions_init(&actions); rc != 0) {
      posix_spawnattr_destroy(&attr);
      check(rc, "posix_spawn_file_actions_init");
    }
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

}  // namespace

int spawn_child(pid_t* pid, const char* program, char* const argv[], char* const envp[],
                const ChildSetup& setup) {
  SpawnAttrs sa;
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
  if (setup.stdin_fd >= 0) {
    check(posix_spawn_file_actions_adddup2(&sa.actions, setup.stdin_fd, 0),
          "posix_spawn_file_actions_adddup2");
  } else {
    check(posix_spawn_file_actions_addopen(&sa.actions, 0, "/dev/null", O_RDONLY, 0),
          "posix_spawn_file_actions_addopen");
  }
  check(posix_spawn_file_actions_adddup2(&sa.actions, setup.stdout_fd, 1),
        "posix_spawn_file_actions_adddup2");
  check(posix_spawn_file_actions_adddup2(&sa.actions, setup.stderr_fd, 2),
        "posix_spawn_file_actions_adddup2");
  if (setup.cwd) {
    check(posix_spawn_file_actions_addchdir_np(&sa.actions, setup.cwd),
          "posix_spawn_file_actions_addchdir_np");
  }
  // Descriptors leaked into us without close-on-exec stop here: the child sees 0, 1, 2.
  check(posix_spawn_file_actions_addclosefrom_np(&sa.actions, 3),
        "posix_spawn_file_actions_addclosefrom_np");
  return setup.search_path ? posix_spawnp(pid, program, &sa.actions, &sa.attr, argv, envp)
                           : posix_spawn(pid, program, &sa.actions, &sa.attr, argv, envp);
}

bool spawn_error_is_transient(int err) {
  return err == EAGAIN || err == ENOMEM;
}

}  // namespace procpool
