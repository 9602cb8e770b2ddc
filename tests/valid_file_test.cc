// ValidFile: a report file that parses after every write (head, whole records, closing tail).
// The full-disk cases, where a record is taken back, are end to end in full_disk_test.cc.
#include "cli/valid_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

namespace procpool {
namespace {

using testing::slurp;
using testing::TempDir;

Fd create(const std::string& path) {
  return Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
}

TEST(ValidFile, TheTailFollowsEveryCommittedRecord) {
  TempDir dir;
  std::string path = dir.path() + "/f.json";
  ValidFile f(create(path), "--trace", path, "JSON", "[", "]");
  EXPECT_EQ(slurp(path), "[]");
  f.write("1");
  f.commit();
  EXPECT_EQ(slurp(path), "[1]");
  f.write(",2");
  f.write("3");  // a record in pieces: the tail comes back only at commit
  f.commit();
  EXPECT_EQ(slurp(path), "[1,23]");
  EXPECT_EQ(f.committed(), 5u);  // "[1,23": head and records, without the tail
}

TEST(ValidFile, OverwriteRewritesTheHeadInPlace) {
  TempDir dir;
  std::string path = dir.path() + "/f.xml";
  ValidFile f(create(path), "--junit", path, "XML", "<s n=\"0\">", "</s>");
  f.write("<c/>");
  f.commit();
  f.overwrite(6, "1");
  EXPECT_EQ(slurp(path), "<s n=\"1\"><c/></s>");
}

TEST(ValidFile, AShorterTailLeavesNothingOfTheLongerOneBehind) {
  TempDir dir;
  std::string path = dir.path() + "/f";
  ValidFile f(create(path), "--trace", path, "JSON", "{[", "]} and a long closing");
  f.replace_tail("]}");
  EXPECT_EQ(slurp(path), "{[]}");
  f.replace_tail("], \"summary\": 1}");
  EXPECT_EQ(slurp(path), "{[], \"summary\": 1}");
}

TEST(ValidFile, APipeGetsRecordsAsTheyComeAndTheTailAtTheEnd) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd read_end(fds[0]);
  {
    ValidFile f(Fd(fds[1]), "--trace", "/dev/stdout", "JSON", "[", "]");
    f.write("1");
    f.commit();
    f.overwrite(0, "{");  // cannot be rewritten down a pipe: ignored
    f.replace_tail("]\n");
  }
  char buf[64];
  ssize_t n = ::read(read_end.get(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "[1]\n");
}

TEST(ValidFile, AFileThatCannotBeWrittenNamesItselfAndWhatBecameOfIt) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd write_end(fds[1]);
  ::close(fds[0]);  // nobody reads: every write fails with EPIPE
  auto previous = std::signal(SIGPIPE, SIG_IGN);
  try {
    ValidFile f(std::move(write_end), "--trace", "out.json", "JSON", "[", "]");
    ADD_FAILURE() << "made a file nobody can write";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--trace out.json: cannot write it"), std::string::npos)
        << e.what();
  }
  std::signal(SIGPIPE, previous);
}

// JUnit's counts are rewritten in place: a pipe would get the zeros of the start and no closing
// tags, so it is refused before anything runs.
TEST(ValidFile, JunitToAPipeIsRefusedBeforeAnythingRuns) {
  TempDir dir;
  std::string jobs = dir.write("jobs.txt", "touch " + dir.path() + "/ran\n");
  testing::RunOutput r =
      testing::run_program({"sh", "-c", "\"$0\" run --lines --junit /dev/stdout \"$1\" | cat",
                            testing::procpool_bin(), jobs});
  EXPECT_NE(r.err.find("--junit /dev/stdout: not a regular file"), std::string::npos) << r.err;
  EXPECT_FALSE(testing::file_exists(dir.path() + "/ran"));
}

}  // namespace
}  // namespace procpool
