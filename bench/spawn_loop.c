/* spawn_loop: the physical limit any job runner pays per job.
 *
 * Reads one command per line (from FILE, or stdin) and posix_spawns each one, keeping at most P
 * running and reaping with waitpid. No output capture: children inherit stdout and stderr.
 *
 *   spawn_loop [-j P] [--argv] [FILE]
 *
 * By default a line runs as `/bin/sh -c LINE`; with --argv it is split on spaces and exec'd
 * directly (PATH searched). Exits 1 if any command failed, 2 on a usage or system error.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char** environ;

static int failed = 0;

/* Waits for one child; remembers whether it failed. */
static void reap_one(void) {
  int status;
  if (waitpid(-1, &status, 0) < 0) {
    perror("spawn_loop: waitpid");
    exit(2);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
}

int main(int argc, char** argv) {
  long max_running = 2;
  int direct = 0;
  const char* path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) max_running = strtol(argv[++i], NULL, 10);
    else if (strncmp(argv[i], "-j", 2) == 0 && argv[i][2] != '\0') max_running = strtol(argv[i] + 2, NULL, 10);
    else if (strcmp(argv[i], "--argv") == 0) direct = 1;
    else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) path = argv[i];
    else {
      fprintf(stderr, "usage: spawn_loop [-j P] [--argv] [FILE]\n");
      return 2;
    }
  }
  if (max_running < 1) max_running = 1;
  FILE* in = (path == NULL || strcmp(path, "-") == 0) ? stdin : fopen(path, "r");
  if (in == NULL) {
    perror(path);
    return 2;
  }

  char* line = NULL;
  size_t cap = 0;
  ssize_t len;
  long running = 0;
  char* args[4096];
  while ((len = getline(&line, &cap, in)) > 0) {
    if (line[len - 1] == '\n') line[--len] = '\0';
    if (len == 0) continue;
    if (direct) {
      int n = 0;
      for (char* tok = strtok(line, " "); tok != NULL && n < 4095; tok = strtok(NULL, " "))
        args[n++] = tok;
      args[n] = NULL;
    } else {
      args[0] = "sh", args[1] = "-c", args[2] = line, args[3] = NULL;
    }
    if (running == max_running) {
      reap_one();
      running--;
    }
    pid_t pid;
    int err = direct ? posix_spawnp(&pid, args[0], NULL, NULL, args, environ)
                     : posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ);
    if (err != 0) {
      fprintf(stderr, "spawn_loop: cannot run %s: %s\n", args[0], strerror(err));
      failed = 1;
      continue;
    }
    running++;
  }
  while (running-- > 0) reap_one();
  return failed;
}
