// --results DIR in shared places and on a full disk: symlinks and folders planted in advance by
// another local user (a spare uid, through setpriv) are never written through, what procpool
// creates never gets wider modes than the umask and the folder it sits in allow, and a job
// folder that cannot be completed is marked `NNNN-name.incomplete` with what was written kept,
// while the next jobs are still recorded. Cases that need root (setpriv, mount) skip without it.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"
#include "tests/support/tmpfs.h"

using json = nlohmann::json;
using namespace procpool::testing;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kOther = 64016;  // the other local user who plants things

class ResultsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The other user must reach the shared folder inside the test's temporary directory.
    ::chmod(dir_.path().c_str(), 0755);
  }

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A folder anyone may write to, sticky like /tmp.
  std::string shared_folder(const std::string& name = "shared") const {
    std::string p = path(name);
    ::mkdir(p.c_str(), 0700);
    ::chmod(p.c_str(), 01777);
    return p;
  }

  // Runs `argv` as the other user; skips the test when that cannot be done.
  void as_other(const std::vector<std::string>& argv) const {
    std::string id = std::to_string(kOther);
    std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id,
                                  "--clear-groups"};
    full.insert(full.end(), argv.begin(), argv.end());
    RunOutput r = run_program(full);
    ASSERT_EQ(r.exit_status, 0) << r.err;
  }

  bool can_plant() const {
    return ::geteuid() == 0 && run_program({"test", "-x", "/usr/bin/setpriv"}).exit_status == 0;
  }

  // procpool ARGS... under `umask`.
  static RunOutput run_with_umask(const std::string& umask, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"sh", "-c", "umask " + umask + " && exec \"$0\" \"$@\"",
                                  procpool_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv);
  }

  TempDir dir_;
};

mode_t mode_of(const std::string& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool is_symlink(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool is_empty_dir(const std::string& p) {
  return fs::is_directory(p) && fs::directory_iterator(p) == fs::directory_iterator();
}

// The lines of `text` that contain `what`.
int lines_naming(const std::string& text, const std::string& what) {
  int n = 0;
  for (const auto& line : lines(text)) n += line.find(what) != std::string::npos;
  return n;
}

// --- planted links and folders ------------------------------------------------------------

// Another user links the folder of job 1 to a folder of root's: nothing is written there, the
// link stays as it was (refused, named), and the other jobs are recorded as usual.
TEST_F(ResultsDirTest, APlantedLinkWhereAJobFolderGoesIsRefusedNotFollowed) {
  if (!can_plant()) GTEST_SKIP() << "planting as another user needs root and setpriv";
  std::string shared = shared_folder(), victim = path("victim");
  ASSERT_EQ(::mkdir(victim.c_str(), 0755), 0);
  as_other({"ln", "-s", victim, shared + "/0001-build"});

  RunOutput r = run_procpool({"map", "--results", shared, "echo {}", ":::", "build", "other"});
  EXPECT_NE(r.exit_status, 0) << r.err;
  EXPECT_TRUE(is_empty_dir(victim)) << "written through the planted link";
  EXPECT_TRUE(is_symlink(shared + "/0001-build"));
  EXPECT_EQ(lines_naming(r.err, "0001-build"), 1) << r.err;
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(shared + "/0002-other/stdout"), "other\n");
  EXPECT_EQ(json::parse(slurp(shared + "/0002-other/meta.json"))["status"], "ok");
}

// Another user makes the folder of job 1 in advance, with `stdout` linked to a file of root's
// (and `stderr` hard-linked to one of its own): procpool writes nothing in a folder it does not
// own.
TEST_F(ResultsDirTest, AJobFolderPlantedByAnotherUserIsNotWrittenIn) {
  if (!can_plant()) GTEST_SKIP() << "planting as another user needs root and setpriv";
  std::string shared = shared_folder(), victim = dir_.write("victim", "precious");
  ::chmod(victim.c_str(), 0644);
  std::string folder = shared + "/0001-build";
  as_other({"mkdir", folder});
  as_other({"ln", "-s", victim, folder + "/stdout"});
  as_other({"sh", "-c",
            "echo mine > " + shared + "/theirs && ln " + shared + "/theirs " + folder + "/stderr"});

  RunOutput r = run_procpool({"map", "--results", shared, "echo {}; echo e >&2", ":::", "build"});
  EXPECT_NE(r.exit_status, 0) << r.err;
  EXPECT_EQ(slurp(victim), "precious");
  EXPECT_EQ(slurp(shared + "/theirs"), "mine\n");
  EXPECT_TRUE(is_symlink(folder + "/stdout"));
  EXPECT_FALSE(fs::exists(folder + "/meta.json"));
  EXPECT_EQ(lines_naming(r.err, "0001-build"), 1) << r.err;
  EXPECT_NE(r.err.find(std::to_string(kOther)), std::string::npos) << r.err;
}

// In a folder of procpool's own from an earlier run, links in place of its files (made by
// whoever could) are replaced by new files, never written through: not a symlink, not a hard
// link to a file elsewhere.
TEST_F(ResultsDirTest, LinksInAFolderOfAnEarlierRunAreReplacedNotWrittenThrough) {
  std::string results = path("out");
  ASSERT_EQ(run_procpool({"map", "--results", results, "echo {}", ":::", "build"}).exit_status, 0);
  std::string folder = results + "/0001-build";
  std::string v1 = dir_.write("v1", "one"), v2 = dir_.write("v2", "two"),
              v3 = dir_.write("v3", "three");
  fs::remove(folder + "/stdout");
  fs::remove(folder + "/stderr");
  fs::remove(folder + "/meta.json");
  fs::create_symlink(v1, folder + "/stdout");
  fs::create_hard_link(v2, folder + "/stderr");
  fs::create_symlink(v3, folder + "/meta.json");

  RunOutput r = run_procpool({"map", "--results", results, "echo {}; echo e >&2", ":::", "build"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(slurp(v1), "one");
  EXPECT_EQ(slurp(v2), "two");
  EXPECT_EQ(slurp(v3), "three");
  EXPECT_FALSE(is_symlink(folder + "/stdout"));
  EXPECT_FALSE(is_symlink(folder + "/meta.json"));
  EXPECT_EQ(fs::hard_link_count(folder + "/stderr"), 1u);
  EXPECT_EQ(slurp(folder + "/stdout"), "build\n");
  EXPECT_EQ(slurp(folder + "/stderr"), "e\n");
  EXPECT_EQ(json::parse(slurp(folder + "/meta.json"))["name"], "build");
}

// DIR as given: a link among its components is followed when it belongs to procpool's user or
// to the owner of the folder it sits in; one planted by another user in /tmp-like folder is
// refused before anything runs.
TEST_F(ResultsDirTest, ALinkInTheGivenPathIsFollowedOnlyWhenItsOwnerIsTrusted) {
  std::string real = path("real");
  ASSERT_EQ(::mkdir(real.c_str(), 0755), 0);
  fs::create_symlink(real, path("mine"));
  RunOutput ok = run_procpool({"map", "--results", path("mine") + "/out", "echo {}", ":::", "a"});
  EXPECT_EQ(ok.exit_status, 0) << ok.err;
  EXPECT_EQ(slurp(real + "/out/0001-a/stdout"), "a\n");

  if (!can_plant()) GTEST_SKIP() << "planting as another user needs root and setpriv";
  std::string shared = shared_folder(), victim = path("victim");
  ASSERT_EQ(::mkdir(victim.c_str(), 0755), 0);
  as_other({"ln", "-s", victim, shared + "/ci"});
  std::string marker = path("ran");
  for (const std::string& given : {shared + "/ci", shared + "/ci/nested"}) {
    RunOutput r = run_procpool({"map", "--results", given, "touch " + marker, ":::", "a"});
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_NE(r.err.find("--results " + given), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
    EXPECT_TRUE(is_empty_dir(victim)) << given;
    EXPECT_FALSE(fs::exists(marker)) << given;
  }
}

// --- modes --------------------------------------------------------------------------------

// Files 0644 and folders 0755 (DIR and its missing parents too), masked by the umask, never
// wider: a umask of 002 gives no group write.
TEST_F(ResultsDirTest, ModesAreTodaysMaskedByTheUmaskNeverWider) {
  struct Case {
    const char* umask;
    mode_t folder, file;
  };
  for (const Case& c : {Case{"022", 0755, 0644}, Case{"077", 0700, 0600}, Case{"002", 0755, 0644},
                        Case{"027", 0750, 0640}}) {
    std::string results = path(std::string("u") + c.umask) + "/nested";
    RunOutput r = run_with_umask(c.umask, {"map", "--results", results, "echo {}", ":::", "a"});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(mode_of(path(std::string("u") + c.umask)), c.folder) << c.umask;
    EXPECT_EQ(mode_of(results), c.folder) << c.umask;
    EXPECT_EQ(mode_of(results + "/0001-a"), c.folder) << c.umask;
    for (const char* file : {"stdout", "stderr", "meta.json"}) {
      EXPECT_EQ(mode_of(results + "/0001-a/" + file), c.file) << c.umask << " " << file;
    }
  }
}

// In a folder others may write to (sticky like /tmp, or group-writable), what procpool creates
// is private to its user: folders 0700, files 0600, whatever the umask allows beyond that.
TEST_F(ResultsDirTest, InAFolderOthersCanWriteToWhatProcpoolCreatesIsPrivate) {
  std::string sticky = shared_folder("sticky"), group = path("group");
  ASSERT_EQ(::mkdir(group.c_str(), 0700), 0);
  ::chmod(group.c_str(), 02775);
  for (const std::string& results : {sticky, group}) {
    RunOutput r = run_with_umask("022", {"map", "--results", results, "echo {}", ":::", "a"});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    // (In the setgid folder the kernel passes setgid on to folders made in it.)
    EXPECT_EQ(mode_of(results + "/0001-a") & 0777, 0700u) << results;
    for (const char* file : {"stdout", "stderr", "meta.json"}) {
      EXPECT_EQ(mode_of(results + "/0001-a/" + file), 0600u) << results << " " << file;
    }
  }
  // A missing parent made in the shared folder is private; what is made inside it need not be.
  RunOutput r =
      run_with_umask("022", {"map", "--results", sticky + "/made/out", "true", ":::", "a"});
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(mode_of(sticky + "/made"), 0700u);
  EXPECT_EQ(mode_of(sticky + "/made/out"), 0755u);
  // The folders procpool was given keep their modes.
  EXPECT_EQ(mode_of(sticky), 01777u);
  EXPECT_EQ(mode_of(group), 02775u);
}

// --- a full disk --------------------------------------------------------------------------

class ResultsDirFullDisk : public ResultsDirTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    disk_ = std::make_unique<ScopedTmpfs>(path("disk"), "256k");
    if (!disk_->mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk_->error();
  }
  std::string disk(const std::string& name) const { return path("disk/" + name); }
  std::unique_ptr<ScopedTmpfs> disk_;
};

// Job 1 prints more than fits: its folder is marked incomplete with what fit kept, the error is
// said once and the exit status is not 0. Job 2 waits for that mark, frees the space and is
// recorded whole. A later run with room completes job 1's folder and drops the old mark.
TEST_F(ResultsDirFullDisk, AFolderThatCannotBeCompletedIsMarkedAndTheNextOnesAreWhole) {
  std::string filler = disk("filler");
  ASSERT_EQ(run_program({"sh", "-c", "head -c 131072 /dev/zero > " + filler}).exit_status, 0);
  std::string results = disk("out");
  std::string mark = results + "/0001-big.incomplete";
  json jobs =
      json::array({{{"name", "big"}, {"cmd", "head -c 524288 /dev/zero"}},
                   {{"name", "small"},
                    {"cmd", "i=0; while [ ! -d " + mark + " ] && [ $i -lt 1000 ]; do sleep 0.01; " +
                                "i=$((i+1)); done; rm -f " + filler + "; echo small"}}});
  std::string file = dir_.write("jobs.json", jobs.dump());

  RunOutput r = run_procpool({"run", "-j2", "--results", results, file});
  EXPECT_NE(r.exit_status, 0) << r.err;
  EXPECT_GE(lines_naming(r.err, "0001-big"), 1) << r.err;
  EXPECT_LE(lines_naming(r.err, "0001-big"), 1) << r.err;
  EXPECT_NE(r.err.find("--results " + results +
                       ": 0001-big: cannot write stdout: No space left "
                       "on device; the folder is marked incomplete "
                       "(0001-big.incomplete)"),
            std::string::npos)
      << r.err;

  EXPECT_FALSE(fs::exists(results + "/0001-big"));
  ASSERT_TRUE(fs::is_directory(mark));
  EXPECT_FALSE(fs::exists(mark + "/meta.json")) << "meta.json present means complete";
  std::string kept = slurp(mark + "/stdout");
  EXPECT_GT(kept.size(), 0u) << "what was written is kept";
  EXPECT_LT(kept.size(), 524288u);
  EXPECT_EQ(kept, std::string(kept.size(), '\0'));

  EXPECT_EQ(slurp(results + "/0002-small/stdout"), "small\n");
  EXPECT_EQ(json::parse(slurp(results + "/0002-small/meta.json"))["status"], "ok");
  EXPECT_FALSE(fs::exists(results + "/0002-small.incomplete"));

  // With room again (the filler is gone and the big output no longer printed), a rerun
  // completes job 1's folder and the old mark goes.
  json again = json::array({{{"name", "big"}, {"cmd", "echo fits"}}});
  RunOutput second =
      run_procpool({"run", "--results", results, dir_.write("again.json", again.dump())});
  EXPECT_EQ(second.exit_status, 0) << second.err;
  EXPECT_EQ(slurp(results + "/0001-big/stdout"), "fits\n");
  EXPECT_TRUE(fs::exists(results + "/0001-big/meta.json"));
  EXPECT_FALSE(fs::exists(mark));
}

}  // namespace
