// flood BYTES [--all-bytes]: writes BYTES bytes to stdout with no newline ('x' repeated), or
// with --all-bytes the byte values 0..255 in order, repeated, cut at BYTES.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: flood BYTES [--all-bytes]\n");
    return 2;
  }
  const unsigned long long total = std::strtoull(argv[1], nullptr, 10);
  const bool all_bytes = argc > 2 && std::strcmp(argv[2], "--all-bytes") == 0;
  constexpr size_t kChunk = 1 << 16;
  // buf + (written % 256) always starts where the pattern continues, even after a short write.
  static char buf[kChunk + 256];
  for (size_t i = 0; i < sizeof buf; ++i) buf[i] = all_bytes ? static_cast<char>(i & 0xff) : 'x';
  unsigned long long written = 0;
  while (written < total) {
    size_t n = total - written < kChunk ? static_cast<size_t>(total - written) : kChunk;
    ssize_t w = ::write(STDOUT_FILENO, buf + written % 256, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::perror("flood: write");
      return 1;
    }
    written += static_cast<unsigned long long>(w);
  }
  return 0;
}
