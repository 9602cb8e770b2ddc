// `procpool map` against GNU parallel itself: several inputs a job (-n, -N, -X, -m, --xargs,
// -L), columns (--colsep, --header, --csv), linked sources (:::+, ::::+, --link), -a, --arg-sep
// and --arg-file-sep. Each case runs the same words through `parallel --will-cite` and
// `procpool map` on the same hostile inputs (quotes, $, backticks, leading dashes, invalid
// UTF-8, empty values, newlines with -0, long lines) and compares stdout byte for byte. Then
// what procpool does on its own: 100 KB lines, a NUL without -0, --shuf, streaming groups.
//
// Every run is killed after 120 s, and a job that waits gives up after 20 s, so a broken build
// fails instead of hanging.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/support/e2e.h"
#include "tests/support/gnu_parallel.h"
#include "tests/support/process_checks.h"

using namespace procpool::testing;

namespace {

namespace fs = std::filesystem;
using Words = std::vector<std::string>;

// GNU parallel's --csv needs Perl's Text::CSV (Debian: libtext-csv-perl).
bool have_text_csv() {
  return run_program({"perl", "-MText::CSV", "-e", "1"}).exit_status == 0;
}

const Words& hostile() {
  return hostile_values();
}

Words join(Words head, const Words& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

std::string lines_of(const Words& values, char sep = '\n') {
  std::string out;
  for (const auto& v : values) out += v + sep;
  return out;
}

class GnuMap : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gnu_parallel())
      GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  }

  std::string write(const std::string& name, const std::string& content) {
    return dir_.write(name, content);
  }

  // `procpool map WORDS` and `parallel WORDS` in the same directory with the same stdin: the
  // same stdout, both succeed, and no input ran as a command. Returns procpool's run.
  RunOutput same(const Words& words, const std::string& input = "") {
    RunOutput ours = run_bounded(join({procpool_bin(), "map"}, words), input, dir_.path());
    // PARALLEL_SHELL pins /bin/sh, the shell procpool's workers use.
    RunOutput gnu =
        run_bounded(join({"env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite"}, words),
                    input, dir_.path());
    expect_same_stdout(ours, gnu, words);
    for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
      EXPECT_NE(e.path().filename().string().rfind("pwned", 0), 0u)
          << "an input ran a command: " << e.path();
    }
    return ours;
  }

  TempDir dir_;
};

const char* kEach = "printf '<%s>\\n'";  // every argument on its own line

// ---- several inputs a job --------------------------------------------------------------------

TEST_F(GnuMap, MaxArgsPutsNInputsWhereTheReplacementIs) {
  for (const std::string n : {"1", "2", "3", "5"}) {
    same(join({"-k", "-j2", "-n", n, kEach, ":::"}, hostile()));
    same(join(
        {"-k", "-j2", "-n" + n, std::string(kEach) + " pre-{}-post {#} {1} {" + n + "}", ":::"},
        hostile()));
    same({"-k", "-n", n, std::string(kEach) + " {.} {/}"}, lines_of(hostile()));
  }
  same(join({"-k", "--max-args", "2", kEach, ":::", "a", "b", ":::"}, hostile()));
  same({"-k", "-n0", "echo {#}", ":::", "a", "b", "c"});
}

TEST_F(GnuMap, MaxReplaceArgsRepeatsTheWordAndEmptiesWhatIsMissing) {
  for (const std::string n : {"1", "2", "3"}) {
    // {N} of the last group, which may hold fewer: nothing, not an empty word.
    same(join(
        {"-k", "-j2", "-N", n, std::string(kEach) + " pre-{}-post {1} {-1} x{" + n + "}y", ":::"},
        hostile()));
    same({"-k", "-N" + n, std::string(kEach) + " {" + n + "} {}"}, lines_of(hostile()));
  }
  same(join({"-k", "-N2", std::string(kEach) + " {1} {2} {3} {4}", ":::", "p", "q", ":::"},
            hostile()));
  same({"-k", "-N0", "echo {#} {}", ":::", "a", "b", "c"});
  same({"-k", "--max-replace-args", "2", "echo", ":::", "a", "b", "c"});
}

TEST_F(GnuMap, ContextReplaceFillsTheLineAndSpreadsOverTheSlots) {
  for (const std::string j : {"1", "2", "3"}) {
    same(join({"-k", "-j", j, "-X", std::string(kEach) + " pre-{}-post x{1}y {#}", ":::"},
              hostile()));
    same(join({"-k", "-j", j, "-X", kEach, ":::"}, hostile()));
    same({"-k", "-j", j, "-X", std::string(kEach) + " {}.{/.}"}, lines_of(hostile()));
    same({"-k", "-j", j, "-X", std::string(kEach) + " {1}-{2} p{}q", ":::", "a", "b", ":::", "x y",
          "it's"});
  }
}

TEST_F(GnuMap, MaxCharsLimitsTheCommandLine) {
  // Values both quote alike (GNU parallel writes it's as 'it'"'"'s', procpool as 'it'\''s').
  Words in{"aaaa", "bbbb", "c c", "$x", "dd", "e", "ffffffff", "-k"};
  for (const std::string s : {"17", "20", "21", "30", "45", "1k"}) {
    same(join({"-k", "-j1", "-s", s, "-X", "echo", ":::"}, in));
    same(join({"-k", "-j1", "--max-chars", s, "-m", "echo [{}]", ":::"}, in));
  }
}

TEST_F(GnuMap, MultipleArgumentsGoWhereTheReplacementIs) {
  for (const std::string j : {"1", "2", "4"}) {
    same(join({"-k", "-j", j, "-m", std::string(kEach) + " pre-{}-post {#}", ":::"}, hostile()));
    same(join({"-k", "-j", j, "--xargs", std::string(kEach) + " pre-{}-post", ":::"}, hostile()));
  }
  same({"-k", "-m", kEach}, lines_of(hostile()));
}

// 30,000 inputs: more than one command line holds, in GNU parallel (63,664 bytes here) and in
// procpool (128 KiB), so the groups differ; what the commands print must not.
TEST_F(GnuMap, ManyInputsOverSeveralCommandLines) {
  Words many;
  for (int i = 0; i < 30000; ++i)
    many.push_back(hostile()[i % hostile().size()] + std::to_string(i));
  std::string input = lines_of(many);
  same({"-k", "-j2", "-X", kEach}, input);
  same({"-k", "-j2", "-m", kEach}, input);
  same({"-k", "-j2", "-X", std::string(kEach) + " x{}y"}, input);
  same({"-k", "-j2", "-n", "700", kEach}, input);
}

TEST_F(GnuMap, MaxLinesContinuesLinesEndingInBlanks) {
  std::string input = "a b\nc\nd \ne\nf\n\ng\n$(touch pwned) \n`touch pwned2`\nit's\t\nx\n";
  for (const std::string n : {"1", "2", "3"}) {
    same({"-k", "-L", n, std::string(kEach) + " pre-{}-post"}, input);
    same({"-k", "-L", n, kEach}, input);
    same({"-k", "--max-lines", n, std::string(kEach) + " [{}]"}, input);
  }
  same(join({"-k", "-L2", kEach, ":::"}, hostile()));
}

TEST_F(GnuMap, NulSeparatedInputsKeepTheirNewlines) {
  Words values = hostile();
  values.insert(values.end(), {"new\nline", "two\n\nnewlines", "\n"});
  std::string path = write("list0", lines_of(values, '\0'));
  same({"-0", "-k", "-n2", kEach, "::::", path});
  same({"-0", "-k", "-N2", std::string(kEach) + " {2} {1}", "::::", path});
  same({"-0", "-k", "-j1", "-X", std::string(kEach) + " x{}y", "::::", path});
  same({"--null", "-k", "-m", kEach}, lines_of(values, '\0'));
}

// Up to GNU parallel's own limit (63,664 bytes for a whole command here): 60 KB values.
TEST_F(GnuMap, LongLines) {
  Words longs{std::string(60000, 'x'), "it's " + std::string(59000, '$'), "short"};
  std::string path = write("long", lines_of(longs));
  same({"-k", "printf %s {} | wc -c", "::::", path});
  // Several a job: GNU parallel's line holds one of them, procpool's two: what each prints.
  same({"-k", "-X", kEach, "::::", path});
  same({"-k", "-N2", std::string(kEach) + " x{}y", "::::", path});
}

// ---- columns -----------------------------------------------------------------------------

TEST_F(GnuMap, ColsepSplitsEachInputIntoColumns) {
  std::string table =
      "a,b,c\n it's , $(touch pwned) ,`touch pwned2`\n,,\nonly\n\n-k,--,\xff\xfe\na,,b,\n";
  same({"-k", "--colsep", ",", std::string(kEach) + " {1} {2} {3} {-1} [{}]"}, table);
  same({"-k", "-C", ",", std::string(kEach) + " {1.} {2/}"}, table);
  same({"-k", "--colsep", ",", "--trim", "n", std::string(kEach) + " {1} {2}"}, table);
  same({"-k", "--colsep", ",", "--trim", "l", kEach}, table);
  same({"-k", "--colsep", "\\s+", kEach, ":::", "a  b\tc", " lead", "x"});
  same({"-k", "--colsep", "[;|]", std::string(kEach) + " {2}{1}", ":::", "a;b|c", "d|e"});
  same({"-k", "--colsep", "\\t", std::string(kEach) + " {2}"}, "a\tb\n c \t d\n");
  same({"-k", "--colsep", "-", "echo {4} {3} {2} {1}", ":::", "A-B", "C-D", ":::", "e-f", "g-h"});
  same({"-k", "--colsep", ",", "-N2", std::string(kEach) + " {1} {3}", ":::", "a,b", "c,d", "e"});
  same({"-k", "--tag", "--colsep", ",", "echo", ":::", "a , b", "c"});
}

TEST_F(GnuMap, HeaderNamesTheColumns) {
  std::string table = "name,file\nann,dir/a.tar.gz\nit's,$(touch pwned).x\n";
  same({"-k", "--colsep", ",", "--header", ":",
        std::string(kEach) + " {name} {file.} {file/} {file//} {file/.} {1} {}"},
       table);
  same({"-k", "--header", ":", std::string(kEach) + " {b} {a}"}, "a\tb\n1 x\t2\n3\t4\n");
  same({"-k", "--header", ".*\\n", std::string(kEach) + " {b}"}, "a\tb\n1\t2\n");
  same({"-k", "--header", ":", std::string(kEach) + " {a} {b}", ":::", "a", "1", "2", ":::", "b",
        "x", "it's"});
  same({"-k", "--colsep", ",", "--header", ":", std::string(kEach) + " {a}={b} {c}", ":::", "a,b",
        "1,2", "3,4", ":::", "c", "x"});
}

TEST_F(GnuMap, CsvReadsQuotedFields) {
  if (!have_text_csv()) GTEST_SKIP() << "GNU parallel's --csv needs Text::CSV (libtext-csv-perl)";
  std::string csv =
      "\"1 big, 2 small\",\"2\"\"x4\"\" plank\",12.34\n"
      "a,,\"\"\n"
      "\"multi\nline\",\"$(touch pwned)\",`touch pwned2`\n"
      "\"it's\",\"-k\",\"\xff\xfe\"\n"
      "\n";
  same({"-k", "--csv", std::string(kEach) + " {1} {2} {3}"}, csv);
  same({"-k", "--csv", "-N2", std::string(kEach) + " {1} {4}"}, csv);
  std::string semi = "\"Start of field 1 with newline\nLine 2 in field 1\";value 2\na;\"b;c\"\n";
  same({"-k", "--csv", "--colsep", ";", std::string(kEach) + " {1} {2}"}, semi);
  std::string path = write("t.csv", "x,y\n\"a,b\",c\n");
  same({"-k", "--csv", "--header", ":", std::string(kEach) + " {y} {x}", "::::", path});
  same({"-k", "--csv", kEach, ":::", "a,\"b,c\"", "\"d\"\"\",e"});
}

// ---- sources --------------------------------------------------------------------------

TEST_F(GnuMap, LinkedSourcesPairUp) {
  same({"-k", "echo", ":::", "a", "b", "c", ":::+", "1", "2", "3", ":::", "X", "Y", ":::+", "11",
        "22"});
  same({"-k", kEach, ":::", "a", "b", "c", ":::+", "1", "2"});
  same({"-k", kEach, ":::", "a", "b", ":::+", "1", "2", "3"});
  same(join({"-k", kEach, ":::", "1", "2", "3", ":::+"}, hostile()));
  std::string three = write("n3", "1\n2\n3\n");
  std::string two = write("h2", "it's\n$(touch pwned)\n");
  same({"-k", kEach, ":::", "a", "b", "::::", three, "::::+", two});
  same({"-k", kEach, ":::+", "a", "b", ":::", "1", "2"});
  same({"-k", "--link", "echo {1} {2} {3}", ":::", "1", "2", ":::", "I", "II", "III", ":::", "a",
        "b", "c", "d", "e", "f", "g"});
  same({"-k", "--xapply", kEach, "::::", three, ":::", "x", "y"});
}

TEST_F(GnuMap, ArgFilesAreSourcesBeforeTheCommandLines) {
  std::string three = write("n3", "1\n2\n3\n");
  std::string nasty = write("nasty", lines_of(hostile()));
  same({"-k", "-a", three, "-a", nasty, std::string(kEach) + " {1}{2}"});
  same({"-k", "-a", three, std::string(kEach) + " {1} {2}", ":::", "p", "it's"});
  same({"-k", "--arg-file", nasty, kEach});
  same({"-k", "-a", three, "-a", "-", std::string(kEach) + " {2}{1}"}, lines_of(hostile()));
  same({"-k", "-a", nasty, "-n3", kEach});
}

TEST_F(GnuMap, OtherSeparatorWords) {
  std::string three = write("n3", "1\n2\n3\n");
  same({"-k", "--arg-sep", ",,", std::string(kEach) + " {1}{2}", ",,", "a", "b", ",,+", "x",
        "it's"});
  same({"-k", "--arg-sep", ",,", "echo", ":::", ",,", "a"});  // ::: is the command's now
  same({"-k", "--arg-file-sep", "//", std::string(kEach) + " {1}{2}", "//", three, ":::", "p"});
  same({"-k", "--arg-file-sep", "//", "echo", "::::", "//", three});
}

// ---- procpool on its own ----------------------------------------------------------------

using procpool::testing::file_exists;

RunOutput map_in(const std::string& dir, const Words& words, const std::string& input = "") {
  return run_bounded(join({procpool_bin(), "map"}, words), input, dir);
}

// GNU parallel stops at "Command line too long" for anything over 63,664 bytes; procpool runs
// up to what exec takes (128 KiB for one argument).
TEST(MapOwn, HundredKilobyteLinesRun) {
  TempDir dir;
  std::string big(100000, 'x');
  big[5] = '\'';
  big[99] = '$';
  std::string path = dir.write("big", big + "\nsmall\n");
  RunOutput r = map_in(dir.path(), {"-k", "-q", "printf %s {} | wc -c", "::::", path});
  EXPECT_EQ(r.exit_status, 0) << r.err.substr(0, 2000);
  EXPECT_EQ(lines(r.out), (Words{"100000", "5"}));
  r = map_in(dir.path(), {"-k", "-q", "-j1", "-X", "printf '%s\\n' {} | wc -l", "::::", path});
  EXPECT_EQ(r.exit_status, 0) << r.err.substr(0, 2000);
  EXPECT_EQ(lines(r.out), (Words{"2"})) << "both fit one command of 128 KiB";
  // Two of them cannot share one: two jobs, each under the limit.
  std::string two = dir.write("two", big + "\n" + big + "\n");
  r = map_in(dir.path(), {"-k", "-q", "-j1", "-X", "printf '%s\\n' {} | wc -l", "::::", two});
  EXPECT_EQ(r.exit_status, 0) << r.err.substr(0, 2000);
  EXPECT_EQ(lines(r.out), (Words{"1", "1"}));
}

// exec cannot pass a NUL: without -0, a line holding one fails its job alone ("could not
// start", naming the NUL), rather than running cut short. (GNU parallel turns the NUL into the
// two characters \0, which only some commands turn back.)
TEST(MapOwn, NulByteWithoutDashZeroFailsOnlyItsJob) {
  TempDir dir;
  RunOutput r = map_in(dir.path(), {"-k", "echo [{}]"}, std::string("a\0b\nc\n", 6));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(r.out, "[c]\n");
  EXPECT_NE(r.err.find("NUL"), std::string::npos) << r.err;
  r = map_in(dir.path(), {"-k", "-n2", "echo [{}]"}, std::string("a\0b\nc\nd\n", 8));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(r.out, "[d]\n");
}

// --shuf: every job once, started in random order; ids, {#} and -k keep input order.
TEST(MapOwn, ShufStartsJobsInRandomOrderKeepingTheirNumbers) {
  TempDir dir;
  Words in;
  for (int i = 1; i <= 100; ++i) in.push_back("v" + std::to_string(i));
  RunOutput r = map_in(dir.path(), join({"-j1", "-q", "--shuf", "echo {#} {}", ":::"}, in));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  Words got = lines(r.out);
  ASSERT_EQ(got.size(), 100u);
  Words want;
  for (int i = 1; i <= 100; ++i) want.push_back(std::to_string(i) + " v" + std::to_string(i));
  EXPECT_NE(got, want) << "100 jobs started in input order (1 in 100! by chance)";
  Words sorted = got;
  std::sort(sorted.begin(), sorted.end());
  Words want_sorted = want;
  std::sort(want_sorted.begin(), want_sorted.end());
  EXPECT_EQ(sorted, want_sorted);
  r = map_in(dir.path(), join({"-j1", "-q", "-k", "--shuf", "echo {#} {}", ":::"}, in));
  EXPECT_EQ(lines(r.out), want);
  // --dry-run shows the start order; from stdin too (read whole first).
  r = map_in(dir.path(), {"--dry-run", "--shuf", "echo {#}"}, lines_of(in));
  got = lines(r.out);
  EXPECT_EQ(got.size(), 100u);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 100u);
}

// Groups from stdin start while the input is still coming: the writer waits for the first
// job before it writes the rest.
TEST(MapOwn, GroupsFromStdinStartBeforeTheInputEnds) {
  TempDir dir;
  std::string marker = dir.path() + "/first-ran";
  std::string wait = "i=0; while [ ! -e " + marker +
                     " ]; do i=$((i+1)); if [ $i -gt 2000 ]; then echo gave up >&2; exit 9; fi; "
                     "sleep 0.01; done";
  for (const std::string flag : {"-n2", "-N2", "-L2"}) {
    fs::remove(marker);
    std::string script = "{ printf 'a\\nb\\n'; " + wait + "; printf 'c\\n'; } | " + procpool_bin() +
                         " map -k -q " + flag + " 'touch " + marker + "; echo {}'";
    RunOutput r = run_bounded({"/bin/sh", "-c", script}, "", dir.path());
    EXPECT_EQ(r.exit_status, 0) << flag << ": " << r.err;
    EXPECT_EQ(r.out, "a b\nc\n") << flag;
    EXPECT_EQ(r.err.find("gave up"), std::string::npos) << flag << ": read to the end first";
  }
}

// -n from stdin streams in bounded memory: 20 MiB of input in groups of 3.
TEST(MapOwn, GroupsFromStdinStayInBoundedMemory) {
  if (!file_exists("/usr/bin/time")) GTEST_SKIP() << "/usr/bin/time is missing (apt install time)";
  TempDir dir;
  std::string line = std::string(2048, 'x') + "\n";
  std::string input;
  for (int i = 0; i < 10000; ++i) input += line;
  std::string rss = dir.path() + "/rss";
  RunOutput r = run_program({"/usr/bin/time", "-f", "%M", "-o", rss, "timeout", "-s", "KILL",
                             kRunLimit, procpool_bin(), "map", "-j2", "-q", "-n3", "true"},
                            input);
  ASSERT_EQ(r.exit_status, 0) << r.err.substr(0, 2000);
  long kib = std::atol(slurp(rss).c_str());
  ASSERT_GT(kib, 0);
#ifndef PROCPOOL_SANITIZED
  EXPECT_LT(kib, 32 * 1024) << "peak RSS " << kib << " KiB";
#endif
}

TEST(MapOwn, BadGroupingFlagsExitTwoAndRunNothing) {
  TempDir dir;
  for (const Words& words : std::vector<Words>{
           {"-n", "x", "touch ran", ":::", "a"},
           {"-n", "2", "-L", "2", "touch ran", ":::", "a"},
           {"-X", "-m", "touch ran", ":::", "a"},
           {"--colsep", "(", "touch ran", ":::", "a"},
           {"--csv", "--colsep", "::", "touch ran", ":::", "a"},
           {"--trim", "x", "touch ran", ":::", "a"},
           {"-N2", "touch ran; echo {3}", ":::", "a"},
       }) {
    RunOutput r = map_in(dir.path(), words);
    EXPECT_EQ(r.exit_status, 2) << words[0] << " " << words[1] << ": " << r.err;
    EXPECT_FALSE(file_exists(dir.path() + "/ran")) << words[0];
  }
  RunOutput r = map_in(dir.path(), {"--csv", "echo {1}"}, "a,\"b\nc\n");
  EXPECT_EQ(r.exit_status, 2) << r.err;
  EXPECT_NE(r.err.find("not closed"), std::string::npos) << r.err;
}

}  // namespace

// ---- --tagstring, {%}, -j, empty sources ---------------------------------------------------

TEST_F(GnuMap, TagstringNamesEveryLineWithValuesAsTheyAre) {
  // The tag is printed, not run: values go in unquoted, as GNU parallel's. (Tabs and invalid
  // UTF-8 in a tag are shown escaped by procpool, so the values here are printable.)
  Words values{"plain",         "with space", "it's",         "dq\"x", "$(touch pwned)",
               "-leading-dash", "",           "dir/f.tar.gz", "{}"};
  same(join({"-k", "--tagstring", "<{}>-{#}-{/.}", kEach, ":::"}, values));
  same(join({"-k", "--tagstring", "fixed", "echo", ":::"}, values));
  same(join({"-k", "--tagstring", "{2}:{1}", "echo", ":::", "a", "b", ":::", "1", "2"}, {}));
}

TEST_F(GnuMap, SlotInsideSingleQuotesIsTheNumber) {
  // One slot, so both must say 1 every time, quoted or not.
  same({"-k", "-j1", "echo '{%}' \"{%}\" {%} x{%}y", ":::", "a", "b", "c"});
  same({"-k", "-j1", "-N2", "echo '[{%}]' {}", ":::", "a", "b", "c"});
}

TEST_F(GnuMap, JobsZeroAndRelativeCountsRunEverything) {
  for (const std::string j : {"0", "+1", "-1", "100%"}) {
    same(join({"-k", "-j", j, kEach, ":::"}, hostile()));
  }
}

TEST_F(GnuMap, AnEmptySourceRunsNoJobAndSucceeds) {
  for (const Words& tail : {Words{":::"}, Words{"::::"}}) {
    RunOutput ours =
        run_bounded(join({procpool_bin(), "map", "-q", "echo", "x"}, tail), "", dir_.path());
    RunOutput gnu =
        run_bounded(join({"parallel", "--will-cite", "echo", "x"}, tail), "", dir_.path());
    EXPECT_EQ(gnu.exit_status, 0) << gnu.err;
    EXPECT_EQ(ours.exit_status, 0) << ours.err;
    EXPECT_EQ(ours.out, gnu.out);
    EXPECT_EQ(ours.out, "");
  }
}

// GNU parallel's -q is procpool's --quote (procpool's -q is --quiet): each template word one
// argument, replacement strings still filled in, inside a word too.
TEST_F(GnuMap, QuoteRunsEachTemplateWordAsOneArgument) {
  Words tmpl{"printf", "<%s>\\n", "a b", "x{}y", "{}", "it's", "$(touch pwned)", "", "{#}"};
  for (const Words& flags : {Words{"-k"}, Words{"-k", "-N2"}}) {
    RunOutput ours =
        run_bounded(join(join(join({procpool_bin(), "map", "-q", "--quote"}, flags), tmpl),
                         join({":::"}, hostile())),
                    "", dir_.path());
    RunOutput gnu = run_bounded(
        join(join(join({"env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite", "-q"}, flags),
                  tmpl),
             join({":::"}, hostile())),
        "", dir_.path());
    EXPECT_EQ(ours.exit_status, 0) << ours.err;
    EXPECT_EQ(gnu.exit_status, 0) << gnu.err;
    EXPECT_FALSE(ours.out.empty());
    EXPECT_EQ(ours.out, gnu.out);
    EXPECT_FALSE(fs::exists(dir_.path() + "/pwned"));
  }
}

// xargs' and GNU parallel's input options: -d C, -E STR, -r, -I STR; --will-cite and --group
// accepted and nothing else.
TEST_F(GnuMap, DelimiterEndOfInputAndBlankSkipping) {
  std::string input = lines_of(hostile(), ',') + "last\n";
  same({"-k", "-d", ",", kEach}, input);
  same({"-k", "-d", "\\t", kEach}, "a\tb c\t\tlast");
  same({"-k", "-r", kEach}, "a\n\n  \n\t\nb\n");
  same({"-k", "-r", "-N2", kEach}, "a\n\n b \n\nc\n");
  same(join({"-k", "-r", kEach, ":::"}, {"a", "", " ", "b"}));
  same({"-k", "-E", "STOP", kEach}, "a\nb\nSTOP\nc\n");
  same(join({"-k", "-E", "-k", kEach, ":::"}, hostile()));  // a leading-dash end string
  same({"-k", "-E", "b", kEach, "::::", write("abc", "a\nb\nc\n"), ":::", "x", "y"});
  same(join({"-k", "-I", "XX", "printf '<%s>\\n' XX pre-XX-post", ":::"}, hostile()));
  same(join({"-k", "-I", "%", "--will-cite", "--group", "echo %", ":::"}, {"a", "b"}));
}
