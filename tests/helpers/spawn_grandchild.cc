// spawn_grandchild PIDFILE MODE: forks a grandchild of the worker that sleeps for good holding
// stdout and stderr open, writes "PARENT_PID GRANDCHILD_PID" to PIDFILE (atomically), then:
//   exit    the parent exits 0 at once (the grandchild keeps the job's pipes open);
//   wait    the parent sleeps for good too (a job that must be timed out);
//   setsid  like exit, but the grandchild first leaves the job's process group and session, so
//           signalling the group cannot reach it (only the worker, as subreaper, can).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: spawn_grandchild PIDFILE exit|wait|setsid\n");
    return 2;
  }
  std::string mode = argv[2];
  int ready[2];
  if (::pipe(ready) != 0) return 3;
  pid_t child = ::fork();
  if (child < 0) return 3;
  if (child == 0) {
    if (mode == "setsid") ::setsid();
    std::printf("grandchild %d holds the pipe\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
    ::close(ready[0]);
    ::close(ready[1]);  // tells the parent the line above is written and setsid is done
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c;
  while (::read(ready[0], &c, 1) > 0) {
  }
  std::string tmp = std::string(argv[1]) + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%d %d\n", static_cast<int>(::getpid()), static_cast<int>(child));
    std::fclose(f);
    std::rename(tmp.c_str(), argv[1]);
  }
  std::printf("parent %d done\n", static_cast<int>(::getpid()));
  std::fflush(stdout);
  if (mode == "wait") {
    for (;;) ::pause();
  }
  return 0;
}
