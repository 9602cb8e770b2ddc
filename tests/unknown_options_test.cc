// Unknown options never become commands: before the template, a word shaped like an option that
// procpool does not know is an error naming the option probably meant, and nothing runs; `--`
// ends procpool's options; what follows the template is the command's.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/unknown_option.h"
#include "tests/support/e2e.h"

namespace procpool::testing {
namespace {

bool exists(const std::string& path) {
  return std::filesystem::exists(path);
}

// An executable `name` in `dir` that creates `dir`/ran-<its first argument>: a command whose
// name starts with a dash, which only a mistake or `--` can run.
std::string dash_command(const TempDir& dir, const std::string& name) {
  std::string path = dir.write(name, "#!/bin/sh\ntouch \"" + dir.path() + "/ran-$1\"\n");
  ::chmod(path.c_str(), 0755);
  return path;
}

// procpool with `dir` first on its PATH (and its jobs' PATH).
RunOutput procpool_with_path(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(),
              {"env", "PATH=" + dir.path() + ":" + std::getenv("PATH"), procpool_bin()});
  return run_program(args);
}

TEST(UnknownOptions, BeforeTheTemplateAreAnErrorThatSuggestsTheOptionMeant) {
  TempDir dir;
  // Were `--jbos` taken as the template's first word, this command would run and say so.
  dash_command(dir, "--jbos");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"map", "--jbos", "4", "touch {}", ":::", "x"},
        std::vector<std::string>{"map", "--jbos=4", "touch {}", ":::", "x"},
        std::vector<std::string>{"map", "-k", "--jbos", "4", "-q", "touch {}", ":::", "x"}}) {
    RunOutput r = procpool_with_path(dir, args);
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_NE(r.err.find("procpool map has no option --jbos: did you mean --jobs?"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("put -- before a template that starts with -"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_FALSE(exists(dir.path() + "/ran-4"));
  EXPECT_FALSE(exists(dir.path() + "/ran-touch"));
  EXPECT_FALSE(exists(dir.path() + "/x"));
}

TEST(UnknownOptions, GnuParallelOptionsProcpoolLacksAreNamedWithTheirCounterpart) {
  struct Case {
    std::string word, says;
  };
  for (const Case& c : std::vector<Case>{
           {"--bar", "procpool map has no option --bar: did you mean --progress?"},
           {"--eta", "procpool map has no option --eta: did you mean --progress?"},
           {"--sshlogin", "procpool map has no option --sshlogin: did you mean --ssh?"},
           {"-S", "procpool map has no option -S: did you mean --ssh?"},
           {"--keep", "procpool map has no option --keep: did you mean --keep-order?"},
           {"--dryrun", "procpool map has no option --dryrun: did you mean --dry-run?"},
           {"-timeout", "procpool map has no option -timeout: did you mean --timeout?"},
       }) {
    RunOutput r = run_procpool({"map", c.word, "echo {}", ":::", "a"});
    EXPECT_EQ(r.exit_status, 2) << c.word << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.word;
  }
  // Nothing close: no guess.
  RunOutput far = run_procpool({"map", "--onall", "echo {}", ":::", "a"});
  EXPECT_EQ(far.exit_status, 2);
  EXPECT_NE(far.err.find("procpool map has no option --onall\n"), std::string::npos) << far.err;
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

TEST(UnknownOptions, DashDashEndsProcpoolsOptions) {
  TempDir dir;
  dash_command(dir, "--mark");
  // Without it, a template that starts with a dash is taken for a mistyped option.
  RunOutput refused = procpool_with_path(dir, {"map", "--mark", "{}", ":::", "a"});
  EXPECT_EQ(refused.exit_status, 2) << refused.err;
  EXPECT_NE(refused.err.find("procpool map has no option --mark"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(exists(dir.path() + "/ran-a"));
  RunOutput ran = procpool_with_path(dir, {"map", "-j2", "--", "--mark", "{}", ":::", "a", "b"});
  EXPECT_EQ(ran.exit_status, 0) << ran.err;
  EXPECT_TRUE(exists(dir.path() + "/ran-a"));
  EXPECT_TRUE(exists(dir.path() + "/ran-b"));
  // The same word after `--` stays literal, whatever it looks like.
  RunOutput literal = run_procpool({"map", "--dry-run", "--", "--version", "{}", ":::", "a"});
  EXPECT_EQ(literal.exit_status, 0) << literal.err;
  EXPECT_EQ(literal.out, "--version a\n");
}

TEST(UnknownOptions, DashDashAfterTheTemplateIsTheCommands) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"map", "--dry-run", "echo", "--", "{}", ":::", "a"},
        std::vector<std::string>{"map", "--dry-run", "--", "echo", "--", "{}", ":::", "a"},
        std::vector<std::string>{"map", "--dry-run", "-j2", "--", "echo", "--", "{}",
                                 ":::", "a"}}) {
    RunOutput r = run_procpool(args);
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(r.out, "echo -- a\n");
  }
  // `--` as an option's value is that value, and the template still follows.
  RunOutput value = run_procpool({"map", "--dry-run", "--ssh-cmd", "--", "echo {}", ":::", "a"});
  EXPECT_EQ(value.exit_status, 0) << value.err;
  EXPECT_EQ(value.out, "echo a\n");
}

TEST(UnknownOptions, OptionsAfterTheTemplateStayTheCommands) {
  TempDir dir;
  std::string file = dir.write("a", std::string(1000, 'x'));
  RunOutput r = run_procpool({"map", "gzip", "-9", ":::", file});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_TRUE(exists(file + ".gz"));
  RunOutput dry = run_procpool({"map", "--dry-run", "ls", "-l", "--jbos", "{}", ":::", "-x"});
  EXPECT_EQ(dry.exit_status, 0) << dry.err;
  EXPECT_EQ(dry.out, "ls -l --jbos -x\n");
}

TEST(UnknownOptions, OptionValuesAndCombinedFlagsStillParse) {
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"map", "--dry-run", "--nice", "-5", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "-j", "4", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "-j4", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "-kq", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "-kj4", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "--timeout", "5", "echo", ":::", "a"},
           std::vector<std::string>{"map", "--dry-run", "--timeout=5", "echo", ":::", "a"},
       }) {
    RunOutput r = run_procpool(args);
    EXPECT_EQ(r.exit_status, 0) << args[2] << ": " << r.err;
    EXPECT_EQ(r.out, "echo a\n") << args[2];
  }
  // An unknown letter in a group of short flags is named alone.
  RunOutput group = run_procpool({"map", "--dry-run", "-kx", "echo", ":::", "a"});
  EXPECT_EQ(group.exit_status, 2);
  EXPECT_NE(group.err.find("procpool map has no option -x"), std::string::npos) << group.err;
}

TEST(UnknownOptions, RunSuggestsTheOptionMeant) {
  TempDir dir;
  std::string sentinel = dir.path() + "/ran";
  std::string file = dir.write("cmds", "touch " + sentinel + "\n");
  RunOutput r = run_procpool({"run", "--jbos", "4", "--lines", file});
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("procpool run has no option --jbos: did you mean --jobs?"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("were not expected"), std::string::npos) << r.err;
  RunOutput bar = run_procpool({"run", "--lines", file, "--bar"});
  EXPECT_EQ(bar.exit_status, 2) << bar.err;
  EXPECT_NE(bar.err.find("procpool run has no option --bar: did you mean --progress?"),
            std::string::npos)
      << bar.err;
  RunOutput two = run_procpool({"run", "--lines", file, file});
  EXPECT_EQ(two.exit_status, 2) << two.err;
  EXPECT_NE(two.err.find("procpool run: unexpected argument " + file), std::string::npos)
      << two.err;
  EXPECT_FALSE(exists(sentinel));
  // `--` before the file: the file is the file.
  RunOutput dashes = run_procpool({"run", "--lines", "--", file});
  EXPECT_EQ(dashes.exit_status, 0) << dashes.err;
  EXPECT_TRUE(exists(sentinel));
}

TEST(ClosestOptions, TyposSwapsAndAbbreviations) {
  std::vector<std::string> known{"--jobs",    "-j",         "--keep-order", "-k",
                                 "--retries", "--retry-on", "--timeout",    "--ssh"};
  using V = std::vector<std::string>;
  EXPECT_EQ(closest_options("--jbos", known), V{"--jobs"});
  EXPECT_EQ(closest_options("--jobs=4", known), V{"--jobs"});
  EXPECT_EQ(closest_options("--job", known), V{"--jobs"});
  EXPECT_EQ(closest_options("--tiemout", known), V{"--timeout"});
  EXPECT_EQ(closest_options("--keep", known), V{"--keep-order"});
  EXPECT_EQ(closest_options("--retr", known), (V{"--retries", "--retry-on"}));
  EXPECT_EQ(closest_options("--sshlogin", known), V{"--ssh"});
  EXPECT_EQ(closest_options("-S", known), V{"--ssh"});
  EXPECT_EQ(closest_options("-x", known), V{});
  EXPECT_EQ(closest_options("--frobnicate", known), V{});
  EXPECT_EQ(closest_options("--bar", known), V{});  // no --progress to point to
  EXPECT_EQ(unknown_option_message("procpool map", "--jbos=4", known),
            "procpool map has no option --jbos: did you mean --jobs?");
  EXPECT_EQ(unknown_option_message("procpool map", "--zzz", known),
            "procpool map has no option --zzz");
}

}  // namespace
}  // namespace procpool::testing
