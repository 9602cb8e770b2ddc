// alloc MIB: allocates MIB mebibytes and touches every page. Exits 0 when that worked, 1 (with a
// message) when the allocation was refused, as under an address-space limit.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: alloc MIB\n");
    return 2;
  }
  size_t bytes = std::strtoull(argv[1], nullptr, 10) << 20;
  char* p = static_cast<char*>(std::malloc(bytes));
  if (!p) {
    std::fprintf(stderr, "alloc: could not allocate %s MiB\n", argv[1]);
    return 1;
  }
  long page = ::sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < bytes; i += static_cast<size_t>(page)) p[i] = 1;
  std::printf("allocated %s MiB\n", argv[1]);
  return 0;
}
