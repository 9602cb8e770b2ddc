// exec_clean_fds [--leak FD] PROGRAM ARGS...: closes every descriptor above 2 (so PROGRAM starts
// with exactly 0, 1 and 2, whatever the test runner inherited), optionally opens /dev/null as FD
// without close-on-exec (an inherited descriptor PROGRAM did not open), then execs PROGRAM.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  int first = 1;
  int leak = -1;
  if (argc > 2 && std::strcmp(argv[1], "--leak") == 0) {
    leak = std::atoi(argv[2]);
    first = 3;
  }
  if (first >= argc) {
    std::fprintf(stderr, "usage: exec_clean_fds [--leak FD] PROGRAM ARGS...\n");
    return 2;
  }
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::close(fd);
  }
  if (leak >= 0) {
    int fd = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || (fd != leak && ::dup2(fd, leak) < 0)) {
      std::perror("exec_clean_fds: open/dup2");
      return 2;
    }
    if (fd != leak) ::close(fd);
  }
  ::execvp(argv[first], argv + first);
  std::fprintf(stderr, "exec_clean_fds: cannot run %s: %s\n", argv[first], std::strerror(errno));
  return 127;
}
