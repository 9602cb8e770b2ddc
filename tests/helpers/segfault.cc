// Dies by a real segmentation fault (a write through a null pointer), after saying so on stderr.
#include <sys/resource.h>

#include <cstdio>

int main() {
  // No core file: the crash is the point, not the dump.
  rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
  std::fprintf(stderr, "about to crash\n");
  std::fflush(stderr);
  volatile int* volatile p = nullptr;
  *p = 1;
  return 0;
}
