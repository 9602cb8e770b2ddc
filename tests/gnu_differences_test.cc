// Where procpool map and GNU parallel once differed on the same command line, side by side with
// GNU parallel itself (Debian's `parallel`): each difference is now either GNU's behaviour or a
// decision the README's "Coming from GNU parallel" table gives the reason for.
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"

namespace procpool::testing {
namespace {

RunOutput gnu(std::vector<std::string> args) {
  args.insert(args.begin(), {"parallel", "--will-cite"});
  return run_program(args);
}

RunOutput ours(std::vector<std::string> args) {
  args.insert(args.begin(), "map");
  return run_procpool(args);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// --halt now,success=1: the first success wins; what the jobs it stopped had printed is not
// shown, and they get no job-log line.
TEST(GnuDifferences, HaltNowShowsNothingOfTheJobsItStopped) {
  TempDir dir;
  std::vector<std::string> args{
      "-j3", "--halt", "now,success=1", "sleep {}; echo out{}", ":::", "0.2", "5", "5"};
  RunOutput theirs = gnu(args);
  std::string log = dir.path() + "/ours.log";
  std::vector<std::string> with_log = args;
  with_log.insert(with_log.begin(), {"--joblog", log});
  RunOutput mine = ours(with_log);
  EXPECT_EQ(theirs.out, "out0.2\n");
  EXPECT_EQ(mine.out, theirs.out) << mine.err;
  EXPECT_EQ(mine.exit_status, 0) << mine.err;
  EXPECT_NE(mine.err.find("stopped by the halt before it finished"), std::string::npos) << mine.err;
  auto logged = lines(slurp(log));
  ASSERT_EQ(logged.size(), 2u) << slurp(log);  // the header and the job that succeeded
  EXPECT_NE(logged[1].find("sleep 0.2"), std::string::npos) << logged[1];
}

TEST(GnuDifferences, DryRunWithTagShowsTheTag) {
  std::vector<std::string> args{"--dry-run", "--tag", "echo {}", ":::", "a", "b c"};
  RunOutput theirs = gnu({"-k", "--dry-run", "--tag", "echo {}", ":::", "a", "b c"});
  RunOutput mine = ours(args);
  EXPECT_EQ(mine.exit_status, 0) << mine.err;
  EXPECT_EQ(theirs.out, "a\techo a\nb c\techo 'b c'\n");
  EXPECT_EQ(mine.out, theirs.out);
}

}  // namespace
}  // namespace procpool::testing
