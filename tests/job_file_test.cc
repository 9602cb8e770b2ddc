// Job files: every accepted form, and for each mistake a message a person can act on.
#include "common/job_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/job_file_errors.h"

namespace procpool {
namespace {

using testing::contains;
using testing::error_of;

std::vector<Job> parse(std::string_view text) {
  return parse_job_file(text, "jobs.json");
}

// --- accepted forms ---------------------------------------------------------------------------

TEST(JobFile, EmptyInputIsZeroJobs) {
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("  \n\t\r\n").empty());
  EXPECT_TRUE(parse("[]").empty());
}

TEST(JobFile, JsonArrayForm) {
  auto jobs = parse(R"([
    {"name": "build", "cmd": "make -j4", "cwd": "/src", "timeout": "2m", "retries": 2,
     "env": {"CC": "clang", "PORT": 8080, "DEBUG": true}},
    {"cmd": ["ls", "-l", "my dir"]},
    {"cmd": "echo hi", "timeout": 1.5}
  ])");
  ASSERT_EQ(jobs.size(), 3u);

  EXPECT_EQ(jobs[0].id, 1u);
  EXPECT_EQ(jobs[0].name, "build");
  EXPECT_EQ(jobs[0].shell, "make -j4");
  EXPECT_TRUE(jobs[0].argv.empty());
  EXPECT_EQ(jobs[0].cwd, "/src");
  ASSERT_TRUE(jobs[0].timeout.has_value());
  EXPECT_EQ(jobs[0].timeout->count(), 120'000);
  EXPECT_EQ(jobs[0].retries, 2);
  EXPECT_EQ(jobs[0].env, (std::map<std::string, std::string>{
                             {"CC", "clang"}, {"PORT", "8080"}, {"DEBUG", "true"}}));

  EXPECT_EQ(jobs[1].id, 2u);
  EXPECT_EQ(jobs[1].argv, (std::vector<std::string>{"ls", "-l", "my dir"}));
  EXPECT_TRUE(jobs[1].shell.empty());
  EXPECT_EQ(jobs[1].name, "ls -l my dir");  // no name: the command text
  EXPECT_FALSE(jobs[1].timeout.has_value());
  EXPECT_EQ(jobs[1].retries, 0);
  EXPECT_TRUE(jobs[1].env.empty());
  EXPECT_TRUE(jobs[1].cwd.empty());

  EXPECT_EQ(jobs[2].id, 3u);
  EXPECT_EQ(jobs[2].shell, "echo hi");
  EXPECT_EQ(jobs[2].name, "echo hi");
  ASSERT_TRUE(jobs[2].timeout.has_value());
  EXPECT_EQ(jobs[2].timeout->count(), 1'500);  // a bare number is seconds
}

TEST(JobFile, DefaultsAndJobsForm) {
  auto jobs = parse(R"({
    "defaults": {"env": {"A": "1", "B": "2"}, "cwd": "/tmp", "timeout": "10s", "retries": 1},
    "jobs": [
      {"cmd": "one"},
      {"cmd": "two", "env": {"B": "20", "C": "30"}, "cwd": "/var", "timeout": "200ms",
       "retries": 0}
    ]
  })");
  ASSERT_EQ(jobs.size(), 2u);
  // Defaults applied.
  EXPECT_EQ(jobs[0].env, (std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(jobs[0].cwd, "/tmp");
  ASSERT_TRUE(jobs[0].timeout.has_value());
  EXPECT_EQ(jobs[0].timeout->count(), 10'000);
  EXPECT_EQ(jobs[0].retries, 1);
  // The job overrides; env is merged key by key.
  EXPECT_EQ(jobs[1].env,
            (std::map<std::string, std::string>{{"A", "1"}, {"B", "20"}, {"C", "30"}}));
  EXPECT_EQ(jobs[1].cwd, "/var");
  ASSERT_TRUE(jobs[1].timeout.has_value());
  EXPECT_EQ(jobs[1].timeout->count(), 200);
  EXPECT_EQ(jobs[1].retries, 0);
  EXPECT_EQ(jobs[0].id, 1u);
  EXPECT_EQ(jobs[1].id, 2u);
}

TEST(JobFile, JobsWithoutDefaults) {
  auto jobs = parse(R"({"jobs": [{"cmd": "a"}, {"cmd": "b"}]})");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].shell, "b");
  EXPECT_TRUE(jobs[1].env.empty());
}

TEST(JobFile, JsonLinesForm) {
  auto jobs = parse(
      "{\"name\": \"first\", \"cmd\": \"echo 1\"}\n"
      "\n"
      "  \n"
      "{\"cmd\": [\"echo\", \"2\"], \"retries\": 3}\r\n"
      "{\"cmd\": \"echo 3\"}");  // no newline at the end
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].name, "first");
  EXPECT_EQ(jobs[0].shell, "echo 1");
  EXPECT_EQ(jobs[1].argv, (std::vector<std::string>{"echo", "2"}));
  EXPECT_EQ(jobs[1].retries, 3);
  EXPECT_EQ(jobs[1].name, "echo 2");
  EXPECT_EQ(jobs[2].shell, "echo 3");
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(jobs[i].id, i + 1);
}

TEST(JobFile, SingleJobObject) {
  auto jobs = parse(R"({"cmd": "make test", "timeout": 30})");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, 1u);
  EXPECT_EQ(jobs[0].shell, "make test");
  EXPECT_EQ(jobs[0].name, "make test");
  ASSERT_TRUE(jobs[0].timeout.has_value());
  EXPECT_EQ(jobs[0].timeout->count(), 30'000);
}

TEST(JobFile, SingleJobObjectOverSeveralLines) {
  auto jobs = parse("{\n  \"name\": \"x\",\n  \"cmd\": [\"true\"]\n}\n");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].name, "x");
  EXPECT_EQ(jobs[0].argv, (std::vector<std::string>{"true"}));
}

TEST(JobFile, IdsAreOneToN) {
  std::string text = "[";
  for (int i = 0; i < 50; ++i) text += (i ? "," : "") + std::string(R"({"cmd": "true"})");
  text += "]";
  auto jobs = parse(text);
  ASSERT_EQ(jobs.size(), 50u);
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(jobs[i].id, i + 1);
}

TEST(JobFile, UnnamedJobsWithTheSameCommandAreFine) {
  // Only names a person gave must be unique; two "make" lines are two jobs.
  auto jobs = parse(R"([{"cmd": "make"}, {"cmd": "make"}])");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].name, "make");
  EXPECT_EQ(jobs[1].name, "make");
}

TEST(JobFile, CmdStringKeepsShellSyntax) {
  auto jobs = parse(R"([{"cmd": "echo a | tr a b > /dev/null && echo $HOME"}])");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].shell, "echo a | tr a b > /dev/null && echo $HOME");
  EXPECT_TRUE(jobs[0].argv.empty());
}

// --- malformed JSON -------------------------------------------------------------------------

TEST(JobFileErrors, MalformedJsonNamesLineAndColumn) {
  std::string msg = error_of(
      "[\n"
      "  {\"cmd\": \"a\"},\n"
      "  {\"cmd\": \"b\",, }\n"
      "]\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 3, column 15: "));  // the second ','
  EXPECT_TRUE(contains(msg, "unexpected ','"));
}

TEST(JobFileErrors, MalformedJsonOnTheLastLine) {
  std::string msg = error_of(
      "{\n"
      "  \"jobs\": [\n"
      "    {\"cmd\": \"a\"}\n"
      "  ]\n"
      "  \"defaults\": {}\n"
      "}\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 5, column 12: "));  // "defaults" after a missing ','
  EXPECT_TRUE(contains(msg, "expected '}'"));
}

TEST(JobFileErrors, UnterminatedArray) {
  std::string msg = error_of("[\n  {\"cmd\": \"a\"},\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 3, column 1: "));  // the end of the input
  EXPECT_TRUE(contains(msg, "unexpected end of input"));
}

TEST(JobFileErrors, JsonLinesErrorNamesTheFileLine) {
  std::string msg = error_of(
      "{\"cmd\": \"a\"}\n"
      "{\"cmd\": \"b\"}\n"
      "\n"
      "{\"cmd\": \"c\",}\n"
      "{\"cmd\": \"d\"}\n");
  // The record was parsed alone, yet the message gives the file's line, not "line 1".
  EXPECT_TRUE(contains(msg, "jobs.json: line 4, column 13: "));  // the '}' after ','
  EXPECT_EQ(msg.find("line 1"), std::string::npos) << msg;
}

TEST(JobFileErrors, JsonLinesBadJobNamesTheFileLine) {
  std::string msg = error_of(
      "{\"cmd\": \"a\"}\n"
      "\n"
      "{\"cmd\": \"b\", \"retries\": -1}\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 3: job 2: "));
  EXPECT_TRUE(contains(msg, "retries"));
}

TEST(JobFileErrors, JsonLinesRecordNotAnObject) {
  std::string msg = error_of("{\"cmd\": \"a\"}\n[\"b\"]\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 2: job 2: must be an object"));
}

TEST(JobFileErrors, JsonLinesUnterminatedLastRecord) {
  std::string msg = error_of("{\"cmd\": \"a\"}\n{\"cmd\": \"b\"\n");
  EXPECT_TRUE(contains(msg, "jobs.json: line 2, column "));
  EXPECT_TRUE(contains(msg, "unexpected end of input"));
}

// --- bad jobs ---------------------------------------------------------------------------------

TEST(JobFileErrors, UnknownKeySuggestsTheRightOne) {
  std::string msg = error_of(R"([{"cmd": "a"}, {"name": "build", "comand": "make"}])");
  EXPECT_TRUE(contains(msg, "jobs.json: job 2 (\"build\"): unknown key \"comand\""));
  EXPECT_TRUE(contains(msg, "did you mean \"cmd\""));
}

TEST(JobFileErrors, UnknownKeyOfAnUnnamedJob) {
  std::string msg = error_of(R"([{"comand": "make"}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"comand\""));
  EXPECT_TRUE(contains(msg, "did you mean \"cmd\""));
}

TEST(JobFileErrors, UnknownKeyFarFromAnyListsTheAllowedOnes) {
  std::string msg = error_of(R"([{"cmd": "make", "priority": 3}])");
  EXPECT_TRUE(contains(msg, "\"priority\""));
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
  EXPECT_TRUE(contains(msg, "cmd"));
  EXPECT_TRUE(contains(msg, "timeout"));
}

TEST(JobFileErrors, MissingCmd) {
  std::string msg = error_of(R"([{"cmd": "a"}, {"cmd": "b"}, {"name": "lint"}])");
  EXPECT_TRUE(contains(msg, "job 3"));
  EXPECT_TRUE(contains(msg, "lint"));
  EXPECT_TRUE(contains(msg, "\"cmd\""));
}

TEST(JobFileErrors, EmptyCmdString) {
  for (const char* text : {R"([{"cmd": ""}])", R"([{"cmd": "   "}])"}) {
    std::string msg = error_of(text);
    EXPECT_TRUE(contains(msg, "job 1"));
    EXPECT_TRUE(contains(msg, "\"cmd\" is empty"));
  }
}

TEST(JobFileErrors, EmptyCmdArray) {
  std::string msg = error_of(R"([{"cmd": []}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "empty array"));
}

TEST(JobFileErrors, CmdArrayWithEmptyProgram) {
  std::string msg = error_of(R"([{"cmd": ["", "x"]}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "empty program"));
}

TEST(JobFileErrors, NonStringCmdArrayItem) {
  std::string msg = error_of(R"([{"cmd": ["sleep", 5]}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "must be strings"));
  EXPECT_TRUE(contains(msg, "5"));
}

TEST(JobFileErrors, CmdOfTheWrongType) {
  std::string msg = error_of(R"([{"cmd": 42}])");
  EXPECT_TRUE(contains(msg, "\"cmd\" must be a string or an array of strings"));
  EXPECT_TRUE(contains(msg, "a number"));
}

TEST(JobFileErrors, EnvOfTheWrongType) {
  std::string msg = error_of(R"([{"cmd": "a", "env": ["A=1"]}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"env\" must be an object"));
  EXPECT_TRUE(contains(msg, "an array"));

  msg = error_of(R"([{"cmd": "a", "env": {"A": {"nested": 1}}}])");
  EXPECT_TRUE(contains(msg, "\"env\" value of \"A\" must be a string"));

  msg = error_of(R"([{"cmd": "a", "env": {"A=B": "1"}}])");
  EXPECT_TRUE(contains(msg, "invalid variable name \"A=B\""));
}

TEST(JobFileErrors, CwdOfTheWrongType) {
  std::string msg = error_of(R"([{"cmd": "a", "cwd": 7}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"cwd\" must be a non-empty string"));
  EXPECT_TRUE(contains(msg, "got 7"));

  msg = error_of(R"([{"cmd": "a", "cwd": ""}])");
  EXPECT_TRUE(contains(msg, "\"cwd\" must be a non-empty string"));
}

TEST(JobFileErrors, TimeoutOfTheWrongType) {
  std::string msg = error_of(R"([{"cmd": "a", "timeout": true}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"timeout\" must be"));
  EXPECT_TRUE(contains(msg, "got true"));
}

TEST(JobFileErrors, TimeoutNotADuration) {
  std::string msg = error_of(R"([{"cmd": "a", "timeout": "abc"}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"timeout\" must be"));
  EXPECT_TRUE(contains(msg, "200ms"));  // the accepted forms are spelled out
  EXPECT_TRUE(contains(msg, "\"abc\""));
}

TEST(JobFileErrors, NegativeAndZeroTimeout) {
  for (const char* text :
       {R"([{"cmd": "a", "timeout": -1}])", R"([{"cmd": "a", "timeout": "-1"}])",
        R"([{"cmd": "a", "timeout": 0}])", R"([{"cmd": "a", "timeout": "0s"}])"}) {
    std::string msg = error_of(text);
    EXPECT_TRUE(contains(msg, "\"timeout\" must be")) << text;
    EXPECT_TRUE(contains(msg, "greater than zero")) << text;
  }
}

TEST(JobFileErrors, RetriesOfTheWrongType) {
  for (const char* text : {R"([{"cmd": "a", "retries": "3"}])", R"([{"cmd": "a", "retries": 1.5}])",
                           R"([{"cmd": "a", "retries": null}])"}) {
    std::string msg = error_of(text);
    EXPECT_TRUE(contains(msg, "job 1")) << text;
    EXPECT_TRUE(contains(msg, "\"retries\" must be a whole number")) << text;
  }
}

TEST(JobFileErrors, NegativeRetries) {
  std::string msg = error_of(R"([{"cmd": "a", "retries": -1}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"retries\" must be a whole number from 0"));
  EXPECT_TRUE(contains(msg, "got -1"));
}

TEST(JobFileErrors, HugeRetries) {
  std::string msg = error_of(R"([{"cmd": "a", "retries": 18446744073709551615}])");
  EXPECT_TRUE(contains(msg, "\"retries\" must be a whole number"));
}

TEST(JobFileErrors, JobNotAnObject) {
  std::string msg = error_of(R"([{"cmd": "a"}, "make"])");
  EXPECT_TRUE(contains(msg, "job 2"));
  EXPECT_TRUE(contains(msg, "must be an object"));
  EXPECT_TRUE(contains(msg, "a string"));
}

TEST(JobFileErrors, NameOfTheWrongType) {
  std::string msg = error_of(R"([{"name": 3, "cmd": "a"}])");
  EXPECT_TRUE(contains(msg, "job 1"));
  EXPECT_TRUE(contains(msg, "\"name\" must be a non-empty string"));
}

TEST(JobFileErrors, DuplicateNamesNameBothJobs) {
  std::string msg = error_of(
      R"([{"name": "t", "cmd": "a"}, {"cmd": "b"}, {"name": "u", "cmd": "c"},
          {"name": "t", "cmd": "d"}])");
  EXPECT_TRUE(contains(msg, "jobs 1 and 4"));
  EXPECT_TRUE(contains(msg, "\"t\""));
  EXPECT_TRUE(contains(msg, "unique"));
}

TEST(JobFileErrors, DuplicateNamesInJsonLines) {
  std::string msg = error_of(
      "{\"name\": \"x\", \"cmd\": \"a\"}\n"
      "{\"name\": \"y\", \"cmd\": \"a\"}\n"
      "{\"name\": \"x\", \"cmd\": \"a\"}\n");
  EXPECT_TRUE(contains(msg, "jobs 1 and 3"));
}

TEST(JobFileErrors, BadDefaults) {
  std::string msg = error_of(R"({"defaults": {"cmd": "x"}, "jobs": []})");
  EXPECT_TRUE(contains(msg, "defaults"));
  EXPECT_TRUE(contains(msg, "\"cmd\""));

  msg = error_of(R"({"defaults": {"retries": -2}, "jobs": [{"cmd": "a"}]})");
  EXPECT_TRUE(contains(msg, "defaults"));
  EXPECT_TRUE(contains(msg, "\"retries\""));

  msg = error_of(R"({"defaults": [], "jobs": []})");
  EXPECT_TRUE(contains(msg, "defaults"));
  EXPECT_TRUE(contains(msg, "must be an object"));
}

// --- defaults from the command line (JobDefaults) ----------------------------------------------

JobDefaults command_line_defaults() {
  JobDefaults base;
  base.env = {{"A", "base"}, {"X", "base"}};
  base.cwd = "/base";
  base.timeout = Millis(5'000);
  base.retries = 4;
  return base;
}

TEST(JobFileBase, AppliesToEveryForm) {
  JobDefaults base = command_line_defaults();
  for (const char* text : {R"([{"cmd": "a"}])", R"({"cmd": "a"})",
                           "{\"cmd\": \"a\"}\n{\"cmd\": \"b\"}\n", R"({"jobs": [{"cmd": "a"}]})"}) {
    auto jobs = parse_job_file(text, "jobs.json", base);
    ASSERT_FALSE(jobs.empty()) << text;
    EXPECT_EQ(jobs[0].env, base.env) << text;
    EXPECT_EQ(jobs[0].cwd, "/base") << text;
    EXPECT_EQ(jobs[0].timeout, base.timeout) << text;
    EXPECT_EQ(jobs[0].retries, 4) << text;
  }
}

TEST(JobFileBase, FileDefaultsThenTheJobOverride) {
  auto jobs = parse_job_file(R"({
    "defaults": {"env": {"A": "file", "F": "file"}, "timeout": "10s"},
    "jobs": [{"cmd": "a", "env": {"J": "job"}, "retries": 0}, {"cmd": "b", "cwd": "/job"}]
  })",
                             "jobs.json", command_line_defaults());
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].env, (std::map<std::string, std::string>{
                             {"A", "file"}, {"F", "file"}, {"J", "job"}, {"X", "base"}}));
  EXPECT_EQ(jobs[0].cwd, "/base");
  EXPECT_EQ(jobs[0].timeout, Millis(10'000));
  EXPECT_EQ(jobs[0].retries, 0);
  EXPECT_EQ(jobs[1].cwd, "/job");
  EXPECT_EQ(jobs[1].retries, 4);
}

// --- needs ------------------------------------------------------------------------------------

TEST(JobFileNeeds, ParsedInOrder) {
  auto jobs = parse(R"([{"name": "test", "cmd": "t", "needs": ["build", "fetch"]},
                        {"name": "build", "cmd": "b", "needs": ["fetch"]},
                        {"name": "fetch", "cmd": "f"}])");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].needs, (std::vector<std::string>{"build", "fetch"}));
  EXPECT_EQ(jobs[1].needs, (std::vector<std::string>{"fetch"}));
  EXPECT_TRUE(jobs[2].needs.empty());
}

TEST(JobFileNeeds, UnknownNameIsAnError) {
  std::string msg = error_of(R"([{"name": "a", "cmd": "x", "needs": ["biuld"]}])");
  EXPECT_TRUE(contains(msg, "job 1 (\"a\")"));
  EXPECT_TRUE(contains(msg, "\"biuld\""));
  EXPECT_TRUE(contains(msg, "no job has that name"));
}

TEST(JobFileNeeds, OnlyGivenNamesCount) {
  // An unnamed job's name is its command text, which a person cannot rely on.
  std::string msg = error_of(R"([{"cmd": "make"}, {"name": "a", "cmd": "x", "needs": ["make"]}])");
  EXPECT_TRUE(contains(msg, "job 2 (\"a\")"));
  EXPECT_TRUE(contains(msg, "\"make\""));
}

TEST(JobFileNeeds, SelfIsAnError) {
  std::string msg = error_of(R"([{"name": "a", "cmd": "x", "needs": ["a"]}])");
  EXPECT_TRUE(contains(msg, "job 1 (\"a\") needs itself"));
}

TEST(JobFileNeeds, CycleIsNamedEdgeByEdge) {
  std::string msg = error_of(R"([{"name": "a", "cmd": "x", "needs": ["b"]},
                                 {"name": "b", "cmd": "y", "needs": ["c"]},
                                 {"name": "c", "cmd": "z", "needs": ["a"]},
                                 {"name": "d", "cmd": "w", "needs": ["a"]}])");
  EXPECT_TRUE(contains(msg, "cycle"));
  EXPECT_TRUE(contains(msg, "a -> b -> c -> a"));
}

TEST(JobFileNeeds, WrongTypes) {
  std::string msg = error_of(R"([{"name": "a", "cmd": "x", "needs": "b"}])");
  EXPECT_TRUE(contains(msg, "\"needs\" must be an array"));
  msg = error_of(R"([{"name": "a", "cmd": "x", "needs": [1]}, {"name": "b", "cmd": "y"}])");
  EXPECT_TRUE(contains(msg, "\"needs\" items must be job names"));
  msg = error_of(R"([{"name": "a", "cmd": "x", "needs": [""]}])");
  EXPECT_TRUE(contains(msg, "\"needs\" items must be job names"));
}

TEST(JobFileNeeds, LongChainDoesNotCrash) {
  // A generated pipeline: step i needs step i+1, so checking for cycles walks the whole chain
  // at once. It must be accepted (or refused with a message), never crash. Run in a child so a
  // crash fails this test alone.
  constexpr int kSteps = 200'000;
  std::string text = "[";
  for (int i = 0; i < kSteps; ++i) {
    if (i) text += ",\n";
    text += R"({"name": "s)" + std::to_string(i) + R"(", "cmd": "true")";
    if (i + 1 < kSteps) text += R"(, "needs": ["s)" + std::to_string(i + 1) + R"("])";
    text += "}";
  }
  text += "]";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 3;
    try {
      rc = parse_job_file(text, "chain.json").size() == kSteps ? 0 : 1;
    } catch (const InputError&) {
      rc = 0;
    } catch (...) {
      rc = 2;
    }
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_FALSE(WIFSIGNALED(status)) << "parse_job_file died by signal " << WTERMSIG(status)
                                    << " on a " << kSteps << "-step chain of needs";
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

// --- bad top level ----------------------------------------------------------------------------

TEST(JobFileErrors, UnknownTopLevelKey) {
  std::string msg = error_of(R"({"jobs": [], "defualts": {}})");
  EXPECT_TRUE(contains(msg, "unknown top-level key \"defualts\""));
  EXPECT_TRUE(contains(msg, "\"defaults\" and \"jobs\""));
}

TEST(JobFileErrors, JobsNotAnArray) {
  for (const char* text :
       {R"({"jobs": {"cmd": "a"}})", R"({"jobs": "make"})", R"({"defaults": {"retries": 1}})"}) {
    std::string msg = error_of(text);
    EXPECT_TRUE(contains(msg, "\"jobs\" must be an array")) << text;
  }
}

TEST(JobFileErrors, TopLevelScalar) {
  for (const char* text : {"42", "\"make\"", "true", "null"}) {
    std::string msg = error_of(text);
    EXPECT_TRUE(contains(msg, "jobs.json")) << text;
    EXPECT_TRUE(contains(msg, "expected a JSON array of jobs")) << text;
  }
  EXPECT_TRUE(contains(error_of("42"), "got a number"));
}

TEST(JobFileErrors, MessagesNameTheSource) {
  std::string msg = error_of(R"([{"cmd": []}])", "<stdin>");
  EXPECT_EQ(msg.rfind("<stdin>: ", 0), 0u) << msg;
}

}  // namespace
}  // namespace procpool
