// `procpool map`'s jobs without running them: the template's context replace (-X) and its
// length arithmetic, grouping inputs into jobs (-n, -N, -L, -X, -m and the spread), linked
// sources, --header names, --shuf, the command-length limit and the words' parsing.
#include "cli/map_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/command_limit.h"
#include "cli/flags.h"
#include "cli/map_inputs.h"
#include "cli/template.h"
#include "tests/support/e2e.h"

namespace procpool {
namespace {

using testing::TempDir;
using Words = std::vector<std::string>;

MapSourceSpec args(Words values, bool linked = false) {
  return MapSourceSpec{false, std::move(values), "", linked};
}

MapSourceSpec file(const std::string& path, bool linked = false) {
  return MapSourceSpec{true, {}, path, linked};
}

// Every job's command.
Words commands(const std::string& tmpl, std::vector<MapSourceSpec> sources, const MapPlan& plan) {
  auto source = map_source(MapInputs{tmpl, std::move(sources)}, plan, {});
  Words out;
  while (auto job = source->next()) out.push_back(job->shell);
  return out;
}

MapPlan plan_of(MapOptions o, int slots = 1, size_t limit = 100000) {
  return plan_map(o, false, slots, limit);
}

TEST(MapTemplate, ContextReplaceRepeatsTheWordHoldingTheReplacement) {
  using Mode = Template::Mode;
  Words v{"a", "b c"};
  EXPECT_EQ(Template("echo pre-{}-post", Mode::kContext).expand(v, 1),
            "echo pre-a-post pre-'b c'-post");
  EXPECT_EQ(Template("echo pre-{}-post", Mode::kEach).expand(v, 1), "echo pre-a 'b c'-post");
  EXPECT_EQ(Template("echo {}-{} z", Mode::kContext).expand(v, 1), "echo a-a 'b c'-'b c' z");
  // A word with {N} only, or {#}, is not repeated; {N} in a repeated word is the same each time.
  EXPECT_EQ(Template("echo x{1}y {.}", Mode::kContext).expand({"a.1", "b.2"}, 1), "echo xa.1y a b");
  EXPECT_EQ(Template("echo a{#}", Mode::kContext).expand(v, 7), "echo a7");
  EXPECT_EQ(Template("echo x{}y{1}", Mode::kContext).expand({"a", "b"}, 1), "echo xaya xbya");
  // Words end at blanks and tabs of the template, not at newlines: "q\n{}" is one word.
  EXPECT_EQ(Template("echo {}\tq\n{}", Mode::kContext).expand({"a", "b"}, 1),
            "echo a b\tq\na q\nb");
  // No replacement string: appended, as GNU parallel's " {}".
  EXPECT_EQ(Template("echo", Mode::kContext).expand(v, 1), "echo a 'b c'");
  // No values (-N 0): {} is nothing, the word is there once.
  EXPECT_EQ(Template("echo x{}y {#}", Mode::kContext).expand({}, 3), "echo xy 3");
  EXPECT_EQ(Template("echo", Mode::kEach).expand({}, 3), "echo ");
}

TEST(MapTemplate, MissingPositionsAreNothing) {
  Template t("printf '<%s>' {1} {2} {-3}", Template::Mode::kEach);
  EXPECT_EQ(t.expand({"c"}, 1), "printf '<%s>' c  ");
  EXPECT_EQ(t.position_beyond(3), "");
  EXPECT_EQ(t.position_beyond(2), "{-3}");
  EXPECT_EQ(Template("{0}").position_beyond(5), "{0}");
}

// length() is what filling a command line relies on: exactly expand().size(), for any
// template and values, in both modes.
TEST(MapTemplate, LengthIsTheExpandedLength) {
  const Words pool{"a",  "",   "it's", "b c", "$(x)", "dir/f.tar.gz", "\xff\xfe",
                   "-n", "{}", "x\ny", "'",   "%s",   "../.hidden"};
  const Words templates{"echo {}",
                        "echo pre-{}-post {#} {%}",
                        "cp {} {.}.bak {/} {//} {/.}",
                        "x{1}y {2.} {-1/} {}",
                        "echo",
                        "{}{}{}",
                        "a\t{}\tb {3}",
                        "{1 .} {#}{}{%}",
                        "  lead {}  trail  "};
  std::mt19937 random(42);
  for (const auto& text : templates) {
    for (auto mode : {Template::Mode::kEach, Template::Mode::kContext}) {
      Template t(text, mode);
      for (size_t n = 0; n <= 6; ++n) {
        for (int round = 0; round < 20; ++round) {
          Words values;
          size_t cost = 0;
          for (size_t i = 0; i < n; ++i) {
            values.push_back(pool[random() % pool.size()]);
            cost += t.value_cost(values.back());
          }
          uint64_t seq = random() % 100000;
          EXPECT_EQ(t.length(values, cost, seq), t.expand(values, seq).size())
              << text << " with " << n << " values, mode " << int(mode);
        }
      }
    }
  }
}

TEST(MapGrouping, MaxArgsTakesNInputsAJob) {
  MapOptions o;
  o.max_args = "2";
  EXPECT_EQ(commands("echo {}", {args({"a", "b", "c", "d", "e"})}, plan_of(o)),
            (Words{"echo a b", "echo c d", "echo e"}));
  EXPECT_EQ(commands("echo pre-{}-post", {args({"a", "b", "c"})}, plan_of(o)),
            (Words{"echo pre-a b-post", "echo pre-c-post"}));
  // Two sources: each combination is two values, and {N} counts across the job's values.
  EXPECT_EQ(commands("echo {1}-{2} {}", {args({"a", "b"}), args({"x", "y"})}, plan_of(o)),
            (Words{"echo a-x a x a y", "echo b-x b x b y"}));
}

TEST(MapGrouping, MaxReplaceArgsRepeatsWordsAndEmptiesMissingPositions) {
  MapOptions o;
  o.max_replace_args = "2";
  EXPECT_EQ(commands("echo pre-{}-post {1}/{2}", {args({"a", "b", "c"})}, plan_of(o)),
            (Words{"echo pre-a-post pre-b-post a/b", "echo pre-c-post c/"}));
  o.max_replace_args = "0";
  EXPECT_EQ(commands("echo {#} {}", {args({"a", "b"})}, plan_of(o)), (Words{"echo 1 ", "echo 2 "}));
}

TEST(MapGrouping, MaxLinesContinuesLinesEndingInABlank) {
  TempDir dir;
  std::string path = dir.write("in", "a b\nc\nd \ne\nf\n\ng\n");
  MapOptions o;
  o.max_lines = "2";
  EXPECT_EQ(commands("echo pre-{}-post", {file(path)}, plan_of(o)),
            (Words{"echo pre-'a b'-post pre-c-post", "echo pre-'d e'-post pre-f-post",
                   "echo pre-''-post pre-g-post"}));
}

TEST(MapGrouping, FillingStopsAtTheLimitAndNeverSplitsAnInput) {
  MapOptions o;
  o.context_replace = true;
  Words in;
  for (int i = 0; i < 300; ++i) in.push_back("value" + std::to_string(i));
  for (size_t limit : {size_t{40}, size_t{100}, size_t{1000}}) {
    MapPlan plan = plan_of(o, 1, limit);
    Words got = commands("echo x{}y", {args(in)}, plan);
    std::string all;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LE(got[i].size(), limit) << got[i];
      // Full: one more input would not have fit.
      if (i + 1 < got.size()) {
        std::string next = got[i + 1].substr(5, got[i + 1].find(' ', 5) - 5);
        EXPECT_GT(got[i].size() + 1 + next.size(), limit) << got[i] << " + " << next;
      }
      all += got[i].substr(5) + " ";
    }
    std::string want;
    for (const auto& v : in) want += "x" + v + "y ";
    EXPECT_TRUE(all == want) << "inputs lost, doubled or reordered at limit " << limit;
  }
  // One input longer than the limit still gets its own job (which exec then refuses).
  Words huge{std::string(200, 'h'), "b"};
  EXPECT_EQ(commands("echo {}", {args(huge)}, plan_of(o, 1, 100)),
            (Words{"echo " + huge[0], "echo b"}));
}

TEST(MapGrouping, InputThatFitsOneLineIsSpreadOverTheSlots) {
  MapOptions o;
  o.context_replace = true;
  Words in{"a", "b", "c", "d", "e", "f", "g"};
  EXPECT_EQ(commands("echo {}", {args(in)}, plan_of(o, 3)),
            (Words{"echo a b c", "echo d e f", "echo g"}));
  EXPECT_EQ(commands("echo {}", {args(in)}, plan_of(o, 1)), (Words{"echo a b c d e f g"}));
  o.context_replace = false;
  o.xargs = true;  // never spread
  EXPECT_EQ(commands("echo {}", {args(in)}, plan_of(o, 3)), (Words{"echo a b c d e f g"}));
  o.xargs = false;
  o.multiple = true;
  EXPECT_EQ(commands("echo p{}q", {args(in)}, plan_of(o, 2)),
            (Words{"echo pa b c dq", "echo pe f gq"}));
}

TEST(MapSources, LinkedSourcesPairUpToTheShorter) {
  MapPlan plain = plan_of({});
  EXPECT_EQ(commands("echo", {args({"a", "b", "c"}), args({"1", "2"}, true)}, plain),
            (Words{"echo a 1", "echo b 2"}));
  EXPECT_EQ(commands("echo",
                     {args({"a", "b"}), args({"1", "2"}, true), args({"X", "Y"}),
                      args({"11", "22"}, true)},
                     plain),
            (Words{"echo a 1 X 11", "echo a 1 Y 22", "echo b 2 X 11", "echo b 2 Y 22"}));
  MapOptions o;
  o.link = true;  // --link: every source, the shorter wrapping
  EXPECT_EQ(commands("echo", {args({"a", "b", "c"}), args({"1", "2"})}, plan_of(o)),
            (Words{"echo a 1", "echo b 2", "echo c 1"}));
}

TEST(MapSources, HeaderNamesColumnsAndIsNoJob) {
  TempDir dir;
  std::string path = dir.write("in.csv", "name,\"file name\"\nann,a/b.c\n");
  MapOptions o;
  o.csv = true;
  o.header = ":";
  EXPECT_EQ(commands("echo {name} {file name/.} {2//} {nope}", {file(path)}, plan_of(o)),
            (Words{"echo ann b a {nope}"}));
  MapOptions tabs;
  tabs.header = ":";  // no --colsep: columns at tabs
  std::string tsv = dir.write("in.tsv", "a\tb\n1 x\t2\n");
  EXPECT_EQ(commands("echo {b}{a} {}", {file(tsv)}, plan_of(tabs)), (Words{"echo 2'1 x' '1 x' 2"}));
}

TEST(MapSources, ShuffleKeepsIdsInInputOrder) {
  MapOptions o;
  o.shuf = true;
  Words in;
  for (int i = 1; i <= 200; ++i) in.push_back(std::to_string(i));
  auto source = map_source(MapInputs{"echo {#} {}", {args(in)}}, plan_of(o), {});
  ASSERT_EQ(source->size(), 200u);
  std::vector<uint64_t> ids;
  while (auto job = source->next()) {
    EXPECT_EQ(job->shell, "echo " + std::to_string(job->id) + " " + job->name);
    ids.push_back(job->id);
  }
  ASSERT_EQ(ids.size(), 200u);
  std::vector<uint64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(sorted[i], i + 1);
  EXPECT_NE(ids, sorted) << "200 jobs in input order: not shuffled (1 in 200! by chance)";
}

TEST(MapSources, PositionBeyondEveryJobIsAnInputError) {
  MapOptions o;
  o.max_replace_args = "2";
  try {
    commands("echo {3}", {args({"a"})}, plan_of(o));
    ADD_FAILURE() << "{3} of -N 2 was taken";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("{3}"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at most 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(commands("echo {2}", {args({"a", "b", "c"})}, plan_of(o)), (Words{"echo b", "echo "}));
  MapOptions cols;
  cols.colsep = ",";  // columns vary: a missing one is nothing
  EXPECT_EQ(commands("echo {3}", {args({"a,b"})}, plan_of(cols)), (Words{"echo "}));
}

TEST(MapCommandLimit, OneArgumentOrTheWholeExecWhicheverIsSmaller) {
  // Linux: 32 pages for one argument, the NUL included.
  EXPECT_EQ(command_length_limit(2 << 20, 4096, 2000), size_t{131071});
  // With 64 KiB pages one argument may be 2 MiB: the whole exec is the limit.
  size_t big = command_length_limit(2 << 20, 65536, 2000);
  EXPECT_LT(big, size_t{2 << 20} - 2000);
  EXPECT_GT(big, size_t{2 << 20} - 2000 - 8192);
  // A huge environment leaves less than one argument's worth.
  size_t small = command_length_limit(200000, 4096, 150000);
  EXPECT_LT(small, 200000u - 150000u);
  EXPECT_GT(small, 200000u - 150000u - 8192u);
  EXPECT_EQ(command_length_limit(100000, 4096, 200000), 0u);
  EXPECT_GT(environment_size(), 0u);
  EXPECT_LE(command_length_limit(), size_t{131071});
}

TEST(MapFlags, CountsTakeGnuUnits) {
  EXPECT_EQ(parse_count("-n", "3"), 3u);
  EXPECT_EQ(parse_count("-n", "1k"), 1000u);
  EXPECT_EQ(parse_count("-s", "2K"), 2048u);
  EXPECT_EQ(parse_count("-s", "1M"), 1048576u);
  for (const std::string bad : {"", "x", "-1", "1.5", "2KB", "1q"}) {
    EXPECT_THROW(parse_count("-n", bad), UsageError) << bad;
  }
}

TEST(MapFlags, ConflictingFlagsAreRefused) {
  MapOptions o;
  o.max_args = "2";
  o.max_lines = "3";
  EXPECT_THROW(plan_of(o), UsageError);
  MapOptions x;
  x.context_replace = x.multiple = true;
  EXPECT_THROW(plan_of(x), UsageError);
  MapOptions c;
  c.csv = true;
  c.colsep = "ab";
  EXPECT_THROW(plan_of(c), UsageError);
  MapOptions r;
  r.colsep = "(";
  EXPECT_THROW(plan_of(r), UsageError);
  MapOptions t;
  t.trim = "x";
  EXPECT_THROW(plan_of(t), UsageError);
}

TEST(MapWords, SourcesInCommandLineOrderArgFilesFirst) {
  MapOptions o;
  o.arg_files = {"f1", "-"};
  MapInputs in =
      parse_map_words({"echo", "{1}", ":::", "a", "b", ":::+", "c", "::::+", "g", "h"}, o);
  EXPECT_EQ(in.tmpl, "echo {1}");
  ASSERT_EQ(in.sources.size(), 6u);
  EXPECT_TRUE(in.sources[0].is_file);
  EXPECT_EQ(in.sources[1].path, "-");
  EXPECT_EQ(in.sources[2].args, (Words{"a", "b"}));
  EXPECT_FALSE(in.sources[2].linked);
  EXPECT_TRUE(in.sources[3].linked);
  EXPECT_TRUE(in.sources[4].linked && in.sources[4].is_file && in.sources[4].path == "g");
  EXPECT_TRUE(in.sources[5].linked && in.sources[5].path == "h");
  MapOptions sep;
  sep.arg_sep = ",,";
  in = parse_map_words({"echo", ":::", ",,", "a", ",,+", "b"}, sep);
  EXPECT_EQ(in.tmpl, "echo :::");
  ASSERT_EQ(in.sources.size(), 2u);
  EXPECT_TRUE(in.sources[1].linked);
  sep.arg_file_sep = ",,";
  EXPECT_THROW(parse_map_words({"echo"}, sep), InputError);
}

}  // namespace
}  // namespace procpool
