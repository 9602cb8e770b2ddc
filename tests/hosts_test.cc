// Unit tests for where workers run: --ssh host specs, --ssh-file, --ssh-cmd and --slurm words.
#include "cli/hosts.h"

#include <gtest/gtest.h>

#include "cli/flags.h"
#include "tests/support/e2e.h"

namespace procpool {
namespace {

using testing::TempDir;

TEST(SplitWords, QuotesAndBackslashesLikeAShell) {
  EXPECT_EQ(split_words("--ssh-cmd", "ssh -F 'my config' -p 2222"),
            (std::vector<std::string>{"ssh", "-F", "my config", "-p", "2222"}));
  EXPECT_EQ(split_words("--ssh-cmd", "  a\\ b \"c d\"e  "),
            (std::vector<std::string>{"a b", "c de"}));
  EXPECT_EQ(split_words("--slurm", "--export='ALL,X=$HOME'"),
            (std::vector<std::string>{"--export=ALL,X=$HOME"}));
  EXPECT_TRUE(split_words("--slurm", "").empty());
  EXPECT_THROW(split_words("--ssh-cmd", "ssh -o 'Port=1"), UsageError);
}

TEST(WorkerSlots, NoHostsMeansLocalWorkers) {
  EXPECT_TRUE(worker_slots(HostOptions{}, 4, "/w").empty());
}

TEST(WorkerSlots, SshHostsGetTheirSlotCountOrTheDefault) {
  HostOptions h;
  h.ssh = {"3/build1", "user@build2", ":"};
  h.ssh_cmd = "ssh -F cfg";
  h.remote_procpool = "/opt/pp bin/procpool";
  auto slots = worker_slots(h, 2, "/home/me/it's here");
  ASSERT_EQ(slots.size(), 7u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(slots[i].host, "build1");
  EXPECT_EQ(slots[3].host, "user@build2");
  EXPECT_EQ(slots[5].host, "");
  EXPECT_TRUE(slots[0].remote);
  EXPECT_FALSE(slots[5].remote);
  // No pty, no escape character; the remote command is one quoted string for the remote shell.
  EXPECT_EQ(slots[0].command,
            (std::vector<std::string>{"ssh", "-F", "cfg", "-T", "-e", "none", "build1",
                                      "exec '/opt/pp bin/procpool' worker --cwd "
                                      "'/home/me/it'\\''s here'"}));
  // ':' is this machine: the local worker, no ssh.
  EXPECT_EQ(slots[5].command.back(), "worker");
  EXPECT_EQ(slots[5].command.size(), 2u);
}

TEST(WorkerSlots, SshFileSkipsCommentsAndBlankLines) {
  TempDir dir;
  HostOptions h;
  h.ssh_file = dir.write("hosts", "# build farm\n\n  2/b1  \nb2\r\n   # off: b3\n");
  auto slots = worker_slots(h, 1, "/");
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].host, "b1");
  EXPECT_EQ(slots[2].host, "b2");
}

TEST(WorkerSlots, BadSpecsAreUsageErrorsNamingThem) {
  for (std::string bad : {"0/h", "x/h", "2/", "-oProxyCommand=x", "a b", "h;rm", "99999/h"}) {
    HostOptions h;
    h.ssh = {bad};
    try {
      worker_slots(h, 1, "/");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("N/HOST"), std::string::npos) << e.what();
    }
  }
  HostOptions missing;
  missing.ssh_file = "/nonexistent/hosts";
  EXPECT_THROW(worker_slots(missing, 1, "/"), UsageError);
  TempDir dir;
  HostOptions empty;
  empty.ssh_file = dir.write("hosts", "# nothing\n");
  EXPECT_THROW(worker_slots(empty, 1, "/"), UsageError);
}

TEST(WorkerSlots, SlurmStartsEachSlotThroughSrun) {
  HostOptions h;
  h.slurm = true;
  h.srun_args = "--partition=debug --time=10";
  h.remote_procpool = "/pp";
  auto slots = worker_slots(h, 3, "/w");
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].command, (std::vector<std::string>{"srun", "--ntasks=1", "--unbuffered",
                                                        "--quiet", "--partition=debug", "--time=10",
                                                        "/pp", "worker", "--cwd", "/w"}));
  EXPECT_TRUE(slots[0].remote);
  h.ssh = {"b1"};
  EXPECT_THROW(worker_slots(h, 1, "/"), UsageError);
}

}  // namespace
}  // namespace procpool
