// Command lines of plain words run without /bin/sh: which lines qualify, and, end to end, that
// such a job sees what it would have seen through sh (argv, PWD, errors, builtins).
#include "worker/plain_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using json = nlohmann::json;
using procpool::plain_command_words;
using procpool::shell_pwd;
using namespace procpool::testing;

namespace {

using Words = std::optional<std::vector<std::string>>;

TEST(PlainCommand, PlainWordsAreSplitOnBlanks) {
  EXPECT_EQ(plain_command_words("gzip -9 data.csv"), Words({"gzip", "-9", "data.csv"}));
  EXPECT_EQ(plain_command_words("  convert\ta.png  b.jpg "), Words({"convert", "a.png", "b.jpg"}));
  EXPECT_EQ(plain_command_words("./run.sh --out=/tmp/x,y:z @file 50% +1"),
            Words({"./run.sh", "--out=/tmp/x,y:z", "@file", "50%", "+1"}));
  EXPECT_EQ(plain_command_words("cat café.txt"), Words({"cat", "café.txt"}));
  EXPECT_EQ(plain_command_words("make CC=gcc"), Words({"make", "CC=gcc"}));
}

TEST(PlainCommand, AnythingTheShellWouldInterpretNeedsTheShell) {
  for (const char* line :
       {"echo $HOME",  "ls *.txt",     "ls file?",      "ls [ab]", "a; b", "a && b",
        "a | b",       "a > out",      "a < in",        "a &",     "(a)",  "{ a; }",
        "a 'quoted'",  "a \"quoted\"", "a back\\slash", "a `b`",   "ls ~", "ls ~/x",
        "a # comment", "!a",           "a\nb",          "x^y"}) {
    EXPECT_EQ(plain_command_words(line), std::nullopt) << line;
  }
}

TEST(PlainCommand, BuiltinsKeywordsAndAssignmentsNeedTheShell) {
  for (const char* line : {"echo -e x", "true", "false", "test -f x", "printf %s x", "pwd",
                           "kill 1", "cd /tmp", "exec ls", "if", "while", "time ls", ". ./env",
                           ": nothing", "FOO=1 env", "ulimit -n", "wait", "source x"}) {
    EXPECT_EQ(plain_command_words(line), std::nullopt) << line;
  }
  // Only the first word decides: a builtin's name as an argument is just a word.
  EXPECT_EQ(plain_command_words("env echo x"), Words({"env", "echo", "x"}));
}

TEST(PlainCommand, EmptyLinesNeedTheShell) {
  EXPECT_EQ(plain_command_words(""), std::nullopt);
  EXPECT_EQ(plain_command_words(" \t "), std::nullopt);
}

TEST(PlainCommand, ShellPwdKeepsAnInheritedPwdNamingTheSameDirectory) {
  TempDir dir;
  std::string real = std::filesystem::canonical(dir.path()).string();
  std::string link = real + "/link";
  std::filesystem::create_directory(real + "/target");
  std::filesystem::create_directory_symlink(real + "/target", link);
  EXPECT_EQ(shell_pwd(link, link.c_str()), link);
  EXPECT_EQ(shell_pwd(link, real.c_str()), real + "/target");  // PWD names another directory
  EXPECT_EQ(shell_pwd(link, nullptr), real + "/target");
  EXPECT_EQ(shell_pwd(link, "relative/path"), real + "/target");
  EXPECT_EQ(shell_pwd(real + "/missing", nullptr), "");
}

// ---------------------------------------------------------------- end to end

json job(const std::string& name, const std::string& cmd) {
  return {{"name", name}, {"cmd", cmd}};
}

std::map<std::string, json> run_jsonl(const TempDir& dir, const json& jobs) {
  std::string file = dir.write("jobs.json", jobs.dump());
  auto r = run_procpool({"run", "-j2", "--format", "jsonl", file});
  std::map<std::string, json> by_name;
  for (const auto& rec : parse_json_lines(r.out)) {
    if (rec.value("type", "") == "job") by_name[rec.at("name").get<std::string>()] = rec;
  }
  return by_name;
}

// The parent pid a job's `head` saw, from the /proc/self/stat it printed.
long parent_of_head(const json& record) {
  std::string stat = record.at("stdout").get<std::string>();
  std::string after = stat.substr(stat.rfind(')') + 2);  // "S PPID ..."
  return std::stol(after.substr(after.find(' ') + 1));
}

TEST(PlainCommandE2e, PlainLineIsTheWorkersChildAndShellSyntaxRunsUnderSh) {
  TempDir dir;
  auto jobs = run_jsonl(dir, json::array({job("plain", "head -c 400 /proc/self/stat"),
                                          job("shell", "head -c 400 /proc/self/stat; true")}));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs["plain"]["status"], "ok") << jobs["plain"].dump();
  EXPECT_EQ(parent_of_head(jobs["plain"]), jobs["plain"]["worker"].get<long>());
  EXPECT_EQ(jobs["shell"]["status"], "ok") << jobs["shell"].dump();
  EXPECT_NE(parent_of_head(jobs["shell"]), jobs["shell"]["worker"].get<long>());
}

TEST(PlainCommandE2e, PlainLineSeesThePwdShWouldExport) {
  TempDir dir;
  std::string real = std::filesystem::canonical(dir.path()).string();
  std::filesystem::create_directory(real + "/target");
  std::string link = real + "/link";
  std::filesystem::create_directory_symlink(real + "/target", link);
  // Same command without and with the shell (the `;` forces it), in three situations.
  json batch = json::array();
  auto both = [&](const std::string& name, const std::string& cwd, const json& env) {
    for (const char* how : {"plain", "sh"}) {
      json j = job(name + "-" + how, std::string("printenv PWD") + (how[0] == 's' ? ";" : ""));
      if (!cwd.empty()) j["cwd"] = cwd;
      if (!env.is_null()) j["env"] = env;
      batch.push_back(j);
    }
  };
  both("in-subdir", real + "/target", nullptr);  // inherited PWD names another directory
  both("via-link", link, json{{"PWD", link}});   // a logical path sh keeps
  both("bogus-pwd", link, json{{"PWD", "/nonexistent"}});
  auto jobs = run_jsonl(dir, batch);
  ASSERT_EQ(jobs.size(), 6u);
  EXPECT_EQ(jobs["in-subdir-plain"]["stdout"], real + "/target\n");
  EXPECT_EQ(jobs["via-link-plain"]["stdout"], link + "\n");
  EXPECT_EQ(jobs["bogus-pwd-plain"]["stdout"], real + "/target\n");
  for (const char* name : {"in-subdir", "via-link", "bogus-pwd"}) {
    EXPECT_EQ(jobs[std::string(name) + "-plain"]["stdout"],
              jobs[std::string(name) + "-sh"]["stdout"])
        << name;
  }
}

TEST(PlainCommandE2e, NotFoundAndNotRunnableFailAsThroughSh) {
  TempDir dir;
  std::string script = dir.write("no-shebang", "echo from-the-script\n");
  ::chmod(script.c_str(), 0755);
  std::string not_exec = dir.write("not-executable", "echo never\n");
  auto jobs =
      run_jsonl(dir, json::array({job("missing", "no-such-command-procpool arg"),
                                  job("no-shebang", script + " arg"), job("not-exec", not_exec)}));
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs["missing"]["status"], "failed");
  EXPECT_EQ(jobs["missing"]["exit_code"], 127);
  EXPECT_NE(jobs["missing"]["stderr"].get<std::string>().find("not found"), std::string::npos)
      << jobs["missing"].dump();
  // execve refuses a script without #!; sh runs it as a shell script.
  EXPECT_EQ(jobs["no-shebang"]["status"], "ok") << jobs["no-shebang"].dump();
  EXPECT_EQ(jobs["no-shebang"]["stdout"], "from-the-script\n");
  EXPECT_EQ(jobs["not-exec"]["status"], "failed");
  EXPECT_EQ(jobs["not-exec"]["exit_code"], 126) << jobs["not-exec"].dump();
}

TEST(PlainCommandE2e, BuiltinsBehaveAsTheShellsOwn) {
  TempDir dir;
  // /bin/echo would take -e as an option; the shell's echo is what a command line meant.
  auto jobs = run_jsonl(dir, json::array({job("bare", "echo -e x"), job("sh", "echo -e x;")}));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs["bare"]["stdout"], jobs["sh"]["stdout"]);
}

}  // namespace
