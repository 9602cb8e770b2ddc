// Move-only ownership of file descriptors, and the few pipe helpers every process runner needs.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace procpool {

// Throws std::system_error for errno, naming the call that failed.
[[noreturn]] void throw_errno(const char* call);

// Owns one descriptor; closes it on destruction. -1 means "none".
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the held descriptor (if any) and takes `fd` instead.
  void reset(int fd = -1);

 private:
  int fd_ = -1;  // the owned descriptor, or -1
};

// Both ends of a pipe, created O_CLOEXEC.
struct Pipe {
  Fd read;   // the end to read from
  Fd write;  // the end to write to
};

// pipe2(O_CLOEXEC); ends are moved above fd 2 so a later dup2 onto 0/1/2 can never clobber them.
Pipe make_pipe();
// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed (cron, daemons, `exec >&-`),
// so the first file the program opens cannot become its stdout or stderr. Call it first thing
// in main, before anything opens a file. False when /dev/null cannot be opened.
bool open_missing_standard_descriptors();
// Duplicates `fd` to a number >= 3 with O_CLOEXEC, closing the original when it was below 3.
int move_above_stdio(int fd);
void set_nonblocking(int fd, bool on = true);
// Writes all of `data`, looping on EINTR and partial writes (blocking descriptors only).
// Returns false on EPIPE; throws on any other error.
bool write_all(int fd, std::string_view data);
// Reads everything until EOF (blocking descriptor).
std::string read_all(int fd);

}  // namespace procpool
