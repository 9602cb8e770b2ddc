// Prints the descriptors this process has open, as "0 1 2", leaving out the one it uses to
// read /proc/self/fd. A job run by procpool must see exactly 0, 1 and 2.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) {
    std::perror("opendir /proc/self/fd");
    return 2;
  }
  int own = ::dirfd(dir);
  std::vector<int> fds;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    int fd = std::atoi(name.c_str());
    if (fd != own) fds.push_back(fd);
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  std::string line;
  for (int fd : fds) line += (line.empty() ? "" : " ") + std::to_string(fd);
  std::printf("%s\n", line.c_str());
  return 0;
}
