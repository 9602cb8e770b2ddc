// ignore_term PIDFILE [MARKER]: a job that will not stop politely. Writes its pid to PIDFILE
// (atomically: a reader never sees half a number), then sleeps for good. SIGTERM and SIGINT are
// caught and ignored; when MARKER is given, the first such signal creates it, so a test can
// wait for "the TERM step happened" as an event.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

namespace {

const char* marker = nullptr;

void on_signal(int) {
  // Only async-signal-safe calls here.
  if (marker) {
    int fd = ::open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, "TERM\n", 5);
      (void)ignored;
      ::close(fd);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ignore_term PIDFILE [MARKER]\n");
    return 2;
  }
  if (argc > 2) marker = argv[2];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  std::string tmp = std::string(argv[1]) + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
    std::fclose(f);
    std::rename(tmp.c_str(), argv[1]);
  }
  std::printf("ignoring SIGTERM\n");
  std::fflush(stdout);
  for (;;) ::pause();
}
