// Fd ownership and the pipe helpers: close exactly once, never land on 0/1/2, always CLOEXEC.
#include "common/fd.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace procpool {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

bool is_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags != -1 && (flags & FD_CLOEXEC);
}

bool is_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags != -1 && (flags & O_NONBLOCK);
}

// A raw descriptor the test owns until it hands it to an Fd.
int raw_fd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

TEST(Fd, DefaultIsNone) {
  Fd fd;
  EXPECT_EQ(fd.get(), -1);
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(static_cast<bool>(fd));
  fd.reset();  // closing nothing is fine
  EXPECT_EQ(fd.release(), -1);
}

TEST(Fd, DestructorCloses) {
  int raw = raw_fd();
  {
    Fd fd(raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, MoveConstructTransfersOwnershipAndClosesOnce) {
  int raw = raw_fd();
  std::optional<Fd> a(std::in_place, raw);
  Fd b(std::move(*a));
  EXPECT_EQ(a->get(), -1);
  EXPECT_FALSE(a->valid());
  EXPECT_EQ(b.get(), raw);
  a.reset();  // destroying the moved-from owner must not close the descriptor
  EXPECT_TRUE(is_open(raw));
  {
    Fd c(std::move(b));
    EXPECT_EQ(b.get(), -1);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, MoveAssignClosesTheOldDescriptorAndKeepsTheNew) {
  int first = raw_fd();
  int second = raw_fd();
  ASSERT_NE(first, second);
  {
    Fd target(first);
    Fd source(second);
    target = std::move(source);
    EXPECT_FALSE(is_open(first));  // the one target held is closed at once
    EXPECT_TRUE(is_open(second));
    EXPECT_EQ(target.get(), second);
    EXPECT_EQ(source.get(), -1);
  }
  EXPECT_FALSE(is_open(second));
}

TEST(Fd, MoveAssignFromEmptyClosesTarget) {
  int raw = raw_fd();
  Fd target(raw);
  Fd empty;
  target = std::move(empty);
  EXPECT_FALSE(target.valid());
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, SelfMoveAssignKeepsTheDescriptor) {
  int raw = raw_fd();
  {
    Fd fd(raw);
    Fd& alias = fd;
    fd = std::move(alias);
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, ReleaseGivesUpOwnership) {
  int raw = raw_fd();
  {
    Fd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(Fd, ResetClosesAndTakesTheNewOne) {
  int first = raw_fd();
  int second = raw_fd();
  {
    Fd fd(first);
    fd.reset(second);
    EXPECT_FALSE(is_open(first));
    EXPECT_EQ(fd.get(), second);
    fd.reset();
    EXPECT_FALSE(is_open(second));
    EXPECT_FALSE(fd.valid());
  }
}

TEST(Pipe, EndsAreAboveStdioAndCloexec) {
  Pipe p = make_pipe();
  ASSERT_TRUE(p.read.valid());
  ASSERT_TRUE(p.write.valid());
  EXPECT_GT(p.read.get(), 2);
  EXPECT_GT(p.write.get(), 2);
  EXPECT_TRUE(is_cloexec(p.read.get()));
  EXPECT_TRUE(is_cloexec(p.write.get()));
  EXPECT_FALSE(is_nonblocking(p.read.get()));
  // The ends really are one pipe, read end and write end.
  ASSERT_TRUE(write_all(p.write.get(), "ping"));
  p.write.reset();
  EXPECT_EQ(read_all(p.read.get()), "ping");
}

// Runs `body` in a forked child with fds 0, 1 and 2 closed; the child's exit code is the number
// of the first failed check (0 = all passed). Only the child ever has 0/1/2 closed.
int in_child_without_stdio(int (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(0);
    ::close(1);
    ::close(2);
    int rc = 99;
    try {
      rc = body();
    } catch (...) {
      rc = 98;
    }
    ::_exit(rc);
  }
  EXPECT_GT(pid, 0) << "fork failed";
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "child died, status " << status;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Pipe, EndsAreAboveStdioEvenWhenStdioIsClosed) {
  int rc = in_child_without_stdio([]() -> int {
    // Without the fix-up, pipe2 would hand out 0 and 1 here.
    Pipe p = make_pipe();
    if (p.read.get() <= 2) return 1;
    if (p.write.get() <= 2) return 2;
    if (!is_cloexec(p.read.get())) return 3;
    if (!is_cloexec(p.write.get())) return 4;
    // 0 and 1 were given back, not leaked: the lowest free descriptor is 0 again.
    int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe != 0) return 5;
    // And the pipe works.
    if (!write_all(p.write.get(), "x")) return 6;
    char c = 0;
    if (::read(p.read.get(), &c, 1) != 1 || c != 'x') return 7;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(Pipe, SecondPipeAlsoAvoidsStdioWhenOnlyOneSlotIsFree) {
  int rc = in_child_without_stdio([]() -> int {
    // Occupy 0 and 1 so only 2 is free: one end of the pipe would land on stderr.
    if (::open("/dev/null", O_RDONLY) != 0) return 10;
    if (::open("/dev/null", O_RDONLY) != 1) return 11;
    Pipe p = make_pipe();
    if (p.read.get() <= 2 || p.write.get() <= 2) return 1;
    if (!is_cloexec(p.read.get()) || !is_cloexec(p.write.get())) return 2;
    if (::fcntl(2, F_GETFD) != -1) return 3;  // the temporary on 2 was closed
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(MoveAboveStdio, LeavesHighDescriptorsAlone) {
  int raw = raw_fd();
  ASSERT_GT(raw, 2);
  EXPECT_EQ(move_above_stdio(raw), raw);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(MoveAboveStdio, MovesLowDescriptorsUpWithCloexec) {
  int rc = in_child_without_stdio([]() -> int {
    int low = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
    if (low != 0) return 1;
    int moved = move_above_stdio(low);
    if (moved <= 2) return 2;
    if (!is_cloexec(moved)) return 3;
    if (::fcntl(0, F_GETFD) != -1) return 4;  // the original was closed
    if (::fcntl(moved, F_GETFL) == -1) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(SetNonblocking, TogglesTheFlag) {
  Pipe p = make_pipe();
  set_nonblocking(p.read.get());
  EXPECT_TRUE(is_nonblocking(p.read.get()));
  EXPECT_FALSE(is_nonblocking(p.write.get()));
  char c;
  errno = 0;
  EXPECT_EQ(::read(p.read.get(), &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  set_nonblocking(p.read.get(), false);
  EXPECT_FALSE(is_nonblocking(p.read.get()));
  EXPECT_TRUE(is_cloexec(p.read.get()));  // file status flags and fd flags are separate
}

TEST(SetNonblocking, BadDescriptorThrowsNamingTheCall) {
  int raw = raw_fd();
  ::close(raw);
  try {
    set_nonblocking(raw);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
    EXPECT_NE(std::string(e.what()).find("fcntl"), std::string::npos) << e.what();
  }
}

TEST(WriteAll, WritesMoreThanThePipeHoldsWhileAReaderDrains) {
  Pipe p = make_pipe();
  std::string data;
  for (int i = 0; i < 300'000; ++i) data.push_back(static_cast<char>(i % 253));
  std::string got;
  std::thread reader([&] { got = read_all(p.read.get()); });
  EXPECT_TRUE(write_all(p.write.get(), data));
  p.write.reset();
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(WriteAll, ReturnsFalseOnEpipe) {
  auto previous = std::signal(SIGPIPE, SIG_IGN);
  Pipe p = make_pipe();
  p.read.reset();
  EXPECT_FALSE(write_all(p.write.get(), "nobody listens"));
  std::signal(SIGPIPE, previous);
}

TEST(ThrowErrno, NamesTheCallAndKeepsErrno) {
  errno = ENOENT;
  try {
    throw_errno("open(\"/nope\")");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("open(\"/nope\")"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace procpool
