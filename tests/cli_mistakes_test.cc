// The mistakes people make at procpool's command line, and what it says back (issue 16): a typo'd
// command, a job file or a template given without its command, `procpool help`, shell lines
// given as a job file, a job file's near-miss top-level key, stdin waited on at a terminal, and
// help that names every value for what it is. Every mistake exits 2 with what to type instead,
// and runs nothing: the jobs given would touch a file, and it stays absent.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/job_file.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"
#include "tests/support/pty.h"

namespace procpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kNoHang = 20s;  // bounds a wait for an event; not a performance assertion

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// procpool run in `dir`, as a person in that directory types it (names stay short and plain).
RunOutput in_dir(const std::string& dir, const std::vector<std::string>& args,
                 const std::string& input = "") {
  std::string script = "cd '" + dir + "' && exec '" + procpool_bin() + "'";
  for (const auto& a : args) script += " '" + a + "'";
  return run_program({"/bin/sh", "-c", script}, input);
}

class CliMistakes : public ::testing::Test {
 protected:
  std::string marker() const { return dir_.path() + "/ran"; }
  std::string touching_job() const { return R"({"cmd": "touch )" + marker() + R"("})"; }
  // A usage mistake: exit 2, what to do on stderr, nothing on stdout, nothing run.
  void expect_refused(const RunOutput& r, const std::string& message) {
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_TRUE(contains(r.err, message)) << "expected: " << message << "\ngot: " << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(file_exists(marker())) << "a job ran although the command line was refused";
  }
  TempDir dir_;
};

// --- 1. commands ------------------------------------------------------------------------------

TEST_F(CliMistakes, UnknownCommandSuggestsTheClosestAndListsTheCommands) {
  for (auto [typed, meant] :
       {std::pair{"rnu", "run"}, {"rum", "run"}, {"mpa", "map"}, {"hlep", "help"}, {"ru", "run"}}) {
    RunOutput r = run_procpool({typed, "whatever"});
    expect_refused(
        r, std::string("procpool: unknown command '") + typed + "': did you mean " + meant + "?");
    EXPECT_TRUE(contains(r.err, "Commands:\n  run ")) << r.err;
    EXPECT_TRUE(contains(r.err, "\n  map ")) << r.err;
    EXPECT_TRUE(contains(r.err, "procpool help COMMAND")) << r.err;
  }
  RunOutput far = run_procpool({"frobnicate"});
  expect_refused(far, "procpool: unknown command 'frobnicate'\nCommands:");
  EXPECT_FALSE(contains(far.err, "did you mean")) << far.err;
}

TEST_F(CliMistakes, NoCommandPrintsTheUsageAndTheCommands) {
  RunOutput r = run_procpool({});
  expect_refused(r, "Usage: procpool run [OPTIONS] [FILE]");
  EXPECT_TRUE(contains(r.err, "procpool map [OPTIONS] TEMPLATE")) << r.err;
  EXPECT_TRUE(contains(r.err, "Commands:\n  run ")) << r.err;
  EXPECT_TRUE(contains(r.err, "procpool help COMMAND")) << r.err;
  EXPECT_FALSE(contains(r.err, "subcommand")) << "CLI11's word leaked: " << r.err;
}

TEST_F(CliMistakes, AnOptionBeforeTheCommandSaysTheCommandComesFirst) {
  dir_.write("jobs.json", "[" + touching_job() + "]");
  expect_refused(in_dir(dir_.path(), {"-j", "2", "run", "jobs.json"}),
                 "the command comes first, then its options: procpool run -j");
}

// --- 2. a file or a template given without its command ----------------------------------------

TEST_F(CliMistakes, AJobFileAsTheCommandSaysWhatToTypeAndRunsNothing) {
  dir_.write("jobs.json", "[" + touching_job() + "]");
  expect_refused(in_dir(dir_.path(), {"jobs.json"}),
                 "procpool: 'jobs.json' is not a command; to run it: procpool run jobs.json\n");
  // The rest of the line comes along, quoted where a shell needs it.
  expect_refused(in_dir(dir_.path(), {"jobs.json", "-j", "2", "--junit", "a b.xml"}),
                 "to run it: procpool run jobs.json -j 2 --junit 'a b.xml'\n");
  // Named like a job file: meant as one, whether it exists or not.
  expect_refused(in_dir(dir_.path(), {"missing.jsonl"}), "to run it: procpool run missing.jsonl");
  // A file of shell lines: run with --lines.
  dir_.write("cmds.txt", "touch " + marker() + "\necho two\n");
  expect_refused(in_dir(dir_.path(), {"cmds.txt"}),
                 "procpool: 'cmds.txt' is not a command; to run it: procpool run --lines cmds.txt");
}

TEST_F(CliMistakes, ATemplateWithoutMapSaysToPutMapFirst) {
  expect_refused(run_procpool({"touch {}", ":::", marker()}),
                 "procpool: 'touch {}' is not a command; to run the template once per input: "
                 "procpool map 'touch {}' ::: " +
                     marker() + "\n");
}

// --- 3. help ----------------------------------------------------------------------------------

TEST_F(CliMistakes, HelpIsTheTopLevelHelpAndEachCommandsHelp) {
  RunOutput top = run_procpool({"help"});
  EXPECT_EQ(top.exit_status, 0) << top.err;
  EXPECT_EQ(top.out, run_procpool({"--help"}).out);
  for (const char* cmd : {"run", "map", "help"}) {
    EXPECT_TRUE(std::regex_search(top.out, std::regex(std::string("\n  ") + cmd + " +\\S")))
        << cmd << " is not listed with its line:\n"
        << top.out;
  }
  EXPECT_TRUE(contains(top.out, "procpool help COMMAND")) << top.out;
  for (const char* cmd : {"run", "map"}) {
    RunOutput help = run_procpool({"help", cmd});
    EXPECT_EQ(help.exit_status, 0) << help.err;
    EXPECT_EQ(help.out, run_procpool({cmd, "--help"}).out) << cmd;
    EXPECT_TRUE(contains(help.out, std::string("Usage: procpool ") + cmd)) << help.out;
  }
  expect_refused(run_procpool({"help", "rnu"}), "unknown command 'rnu': did you mean run?");
  RunOutput nope = run_procpool({"help", "nope"});
  expect_refused(nope, "unknown command 'nope'");
  EXPECT_TRUE(contains(nope.err, "Commands:\n  run ")) << nope.err;
}

// The help's option lines: what stands before each description ("-j,--jobs N").
std::vector<std::string> option_columns(const std::string& help) {
  std::vector<std::string> out;
  for (const auto& line : lines(help)) {
    if (line.rfind("  -", 0) != 0) continue;
    out.push_back(line.substr(2, line.find("  ", 2) - 2));
  }
  return out;
}

// What CLI11 shows when an option's value has no name of procpool's, and its syntax for checks
// and flag values: none may reach the help.
TEST_F(CliMistakes, EveryOptionNamesItsValueWithoutParserSyntax) {
  const std::regex cli11_words("\\b(TEXT|INT|UINT|FLOAT|BOOLEAN|ENUM|NUMBER|REQUIRED)\\b");
  for (const char* cmd : {"run", "map"}) {
    RunOutput r = run_procpool({cmd, "--help"});
    ASSERT_EQ(r.exit_status, 0) << r.err;
    auto columns = option_columns(r.out);
    EXPECT_GT(columns.size(), 40u) << r.out;
    for (const auto& c : columns) {
      EXPECT_FALSE(std::regex_search(c, cli11_words)) << cmd << ": " << c;
      EXPECT_EQ(c.find_first_of("{}"), std::string::npos) << cmd << ": " << c;
      // A ':' only as a value ("--header REGEX|:"), never CLI11's ":{a,b}" or ":POSITIVE".
      for (size_t at = c.find(':'); at != std::string::npos; at = c.find(':', at + 1)) {
        EXPECT_TRUE(at > 0 && c[at - 1] == '|') << cmd << ": " << c;
      }
    }
    EXPECT_TRUE(contains(r.out, "  --format text|jsonl ")) << r.out;
    EXPECT_TRUE(contains(r.out, "  --slurm[=SRUN-ARGS] ")) << r.out;
    EXPECT_TRUE(contains(r.out, "  -j,--jobs N ")) << r.out;
    EXPECT_TRUE(contains(r.out, "  --timeout DURATION|N% ")) << r.out;
  }
  // The check behind --format still holds.
  RunOutput bad = run_procpool({"run", "--format", "xml", "-"}, "[]");
  EXPECT_EQ(bad.exit_status, 2) << bad.err;
}

// Every option is in one of the help's sections; only --help stands apart.
TEST_F(CliMistakes, EveryOptionBelongsToASection) {
  const std::regex known(
      "(Options|Positionals|Inputs|Inputs: .+|Output|Scheduling|Failures|"
      "CI files|Remote|Examples)");
  for (const char* cmd : {"run", "map"}) {
    RunOutput r = run_procpool({cmd, "--help"});
    std::string group;
    std::vector<std::string> ungrouped;
    for (const auto& line : lines(r.out)) {
      if (!line.empty() && line[0] != ' ' && line.back() == ':' && line.find(' ') != 0 &&
          line.size() < 40) {
        group = line.substr(0, line.size() - 1);
        EXPECT_TRUE(std::regex_match(group, known)) << cmd << ": section " << group;
      }
      if (line.rfind("  -", 0) == 0 && group == "Options") ungrouped.push_back(line);
    }
    ASSERT_EQ(ungrouped.size(), 1u) << cmd << ":\n" << r.out;
    EXPECT_EQ(ungrouped[0].rfind("  -h,--help ", 0), 0u) << ungrouped[0];
    for (const char* section : {"\nInputs:\n", "\nOutput:\n", "\nScheduling:\n", "\nFailures:\n",
                                "\nCI files:\n", "\nRemote:\n"}) {
      EXPECT_TRUE(contains(r.out, section)) << cmd << " has no section " << section;
    }
  }
}

TEST_F(CliMistakes, EachHelpHasOneUsageLineAndExamples) {
  for (const char* cmd : {"run", "map"}) {
    RunOutput r = run_procpool({cmd, "--help"});
    EXPECT_EQ(count(r.out, "Usage"), 1u) << r.out;
    EXPECT_EQ(count(r.out, "\nExamples:\n"), 1u) << r.out;
    size_t examples = r.out.find("\nExamples:\n");
    size_t shown = 0;
    std::istringstream in(r.out.substr(examples + 11));
    for (std::string line; std::getline(in, line) && !line.empty(); ++shown) {
      EXPECT_TRUE(contains(line, std::string("procpool ") + cmd + " ")) << line;
    }
    EXPECT_GE(shown, 3u) << r.out;
  }
  EXPECT_TRUE(contains(run_procpool({"map", "--help"}).out,
                       "Usage: procpool map [OPTIONS] TEMPLATE [::: ARG...] [:::: FILE...]\n"));
  EXPECT_EQ(count(run_procpool({"--help"}).out, "Usage"), 1u);
}

// What an example in map's help says it does, it does.
TEST_F(CliMistakes, TheCombinationExampleDoesWhatItSays) {
  std::string help = run_procpool({"map", "--help"}).out;
  ASSERT_TRUE(contains(help, "procpool map 'echo {1} {2}' ::: a b ::: 1 2"));
  ASSERT_TRUE(contains(help, "every combination: a 1, a 2, b 1, b 2"));
  RunOutput r =
      run_procpool({"map", "--dry-run", "echo {1} {2}", ":::", "a", "b", ":::", "1", "2"});
  EXPECT_EQ(r.out, "echo a 1\necho a 2\necho b 1\necho b 2\n") << r.err;
}

// --- 4. shell lines given as a job file --------------------------------------------------------

TEST_F(CliMistakes, ShellLinesAsAJobFileSuggestLines) {
  dir_.write("cmds.txt", "touch " + marker() + "\n# a comment\n./build.sh --fast\n");
  expect_refused(in_dir(dir_.path(), {"run", "cmds.txt"}),
                 "; it looks like one shell command per line: procpool run --lines cmds.txt");
  expect_refused(run_procpool({"run", "-"}, "touch " + marker() + "\n"),
                 "<stdin>: line 1, column 2: syntax error");
  expect_refused(run_procpool({"run", "-"}, "touch " + marker() + "\n"),
                 "; it looks like one shell command per line: procpool run --lines\n");
  // Broken JSON is told as broken JSON, without the hint.
  RunOutput json = in_dir(dir_.path(), {"run", "-"}, "[" + touching_job() + ",");
  expect_refused(json, "<stdin>: ");
  EXPECT_FALSE(contains(json.err, "--lines")) << json.err;
}

TEST(CommandLinesLook, ShellLinesYesJsonNo) {
  for (const char* text : {"make test\n", "  ./run.sh a b\n\n$HOME/x\n", "# build\ncc -c a.c\n",
                           "(cd sub && make)\n", "echo one\r\necho two\r\n"}) {
    EXPECT_TRUE(looks_like_command_lines(text)) << text;
  }
  for (const char* text : {"", "  \n", "[{\"cmd\": \"a\"}", "{\"cmd\": ", "\"make\"\n",
                           "echo a\n]\n", "echo \x01\n", ",\n"}) {
    EXPECT_FALSE(looks_like_command_lines(text)) << text;
  }
}

// --- 5. a near-miss top-level key -------------------------------------------------------------

TEST_F(CliMistakes, ANearMissTopLevelKeyNamesTheKeyMeant) {
  const std::string job = touching_job();
  struct Case {
    std::string text;
    std::string message;
  };
  for (const auto& [text, message] : {
           Case{R"({"job": [)" + job + "]}",
                R"(unknown top-level key "job" (did you mean "jobs"?))"},
           Case{R"({"Jobs": [)" + job + "]}",
                R"(unknown top-level key "Jobs" (did you mean "jobs"?))"},
           Case{R"({"jobs": [)" + job + R"(], "default": {"retries": 1}})",
                R"(unknown top-level key "default" (did you mean "defaults"?))"},
           Case{R"({"Defaults": {}, "job": [)" + job + "]}",
                R"(unknown top-level key "Defaults" (did you mean "defaults"?))"},
       }) {
    std::string file = dir_.write("jobs.json", text);
    RunOutput r = run_procpool({"run", file});
    expect_refused(r, message);
    EXPECT_TRUE(contains(r.err, R"(the file takes "defaults" and "jobs")")) << r.err;
  }
}

TEST(JobFileTopLevel, AJobWithAKeyLikeJobsIsStillAJob) {
  // "cmd" makes it a job: its stray key is a job's unknown key, as before.
  try {
    parse_job_file(R"({"cmd": "make", "job": ["x"]})", "jobs.json");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "jobs.json: job 1: unknown key \"job\"")) << e.what();
  }
  // A string is no list of jobs: a job without "cmd".
  try {
    parse_job_file(R"({"job": "make"})", "jobs.json");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "job 1: unknown key \"job\"")) << e.what();
  }
  EXPECT_EQ(parse_job_file(R"({"name": "a", "cmd": "make", "needs": []})", "j").size(), 1u);
}

// --- 6. stdin at a terminal -------------------------------------------------------------------

const std::string kJobFileNotice =
    "procpool: reading the job file from the terminal (stdin); end with Ctrl-D, or give a file: "
    "procpool run FILE";
const std::string kInputsNotice =
    "procpool: reading inputs from the terminal (stdin), one per line";
const std::string kLinesNotice = "procpool: reading commands from the terminal (stdin)";

// procpool at a real terminal: the notice comes before anything is typed, what is typed then
// runs after Ctrl-D, and procpool exits 0.
void expect_notice_then_run(const std::vector<std::string>& args, const std::string& notice,
                            const std::string& typed, const std::string& made) {
  std::vector<std::string> argv{procpool_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  PtySession pty(argv);
  ASSERT_TRUE(pty.wait_for(notice, kNoHang)) << pty.screen();
  pty.type(typed);
  pty.type("\x04");  // Ctrl-D at the start of a line: end of input
  PtyResult r = pty.wait(kNoHang);
  EXPECT_TRUE(r.exited_with(0)) << r.how() << "\n" << r.screen;
  EXPECT_EQ(count(r.screen, notice), 1u) << r.screen;
  EXPECT_TRUE(file_exists(made)) << "what was typed did not run:\n" << r.screen;
}

TEST_F(CliMistakes, ReadingTheTerminalSaysSoOnceThenRunsWhatIsTyped) {
  {
    SCOPED_TRACE("run, a job file");
    expect_notice_then_run({"run", "-j", "1"}, kJobFileNotice,
                           R"({"cmd": "touch )" + dir_.path() + "/job\"}\n", dir_.path() + "/job");
  }
  {
    SCOPED_TRACE("run --lines");
    expect_notice_then_run({"run", "--lines", "-j", "1"}, kLinesNotice,
                           "touch " + dir_.path() + "/line\n", dir_.path() + "/line");
  }
  {
    SCOPED_TRACE("map");
    expect_notice_then_run({"map", "-j", "1", "touch " + dir_.path() + "/{}"}, kInputsNotice,
                           "input\n", dir_.path() + "/input");
  }
}

TEST_F(CliMistakes, NoTerminalNoticeForAPipeOrAFile) {
  std::string file = dir_.write("jobs.json", "[" + touching_job() + "]");
  RunOutput piped = run_procpool({"run", "-"}, "[" + touching_job() + "]");
  EXPECT_EQ(piped.exit_status, 0) << piped.err;
  EXPECT_TRUE(file_exists(marker()));
  RunOutput from_file =
      run_program({"/bin/sh", "-c", "exec '" + procpool_bin() + "' run - < '" + file + "'"});
  EXPECT_EQ(from_file.exit_status, 0) << from_file.err;
  RunOutput map = run_procpool({"map", "echo {}"}, "a\nb\n");
  EXPECT_EQ(map.exit_status, 0) << map.err;
  RunOutput lines = run_procpool({"run", "--lines"}, "echo a\n");
  EXPECT_EQ(lines.exit_status, 0) << lines.err;
  for (const RunOutput* r : {&piped, &from_file, &map, &lines}) {
    EXPECT_FALSE(contains(r->err, "from the terminal")) << r->err;
  }
}

}  // namespace
}  // namespace procpool::testing
