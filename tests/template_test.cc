// GNU parallel's replacement strings: what each one yields, that hostile input stays one literal
// argument when /bin/sh runs the result, and a differential check against GNU parallel itself.
#include "cli/template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/e2e.h"
#include "tests/support/gnu_parallel.h"

namespace procpool {
namespace {

using testing::have_gnu_parallel;
using testing::run_program;
using testing::RunOutput;
using testing::TempDir;

// Runs `command` with /bin/sh the way a worker does, with the slot variable set.
RunOutput run_sh(const std::string& command, const std::string& slot = "1") {
  return run_program({"env", "PROCPOOL_SLOT=" + slot, "/bin/sh", "-c", command});
}

// Inputs that break naive string pasting. No '/' next to a newline: see PathVariants below.
const std::vector<std::string>& hostile_inputs() {
  static const std::vector<std::string> inputs{
      "a b  c",
      " lead",
      "trail ",
      "\t",
      "it's",
      "'",
      "''",
      "\"'\"",
      "a\"b",
      "a\\b",
      "$(echo pwned)",
      "`echo pwned`",
      "$HOME",
      "${x}",
      "a;b",
      "a&&b",
      "a|b",
      "a>b",
      "l1\nl2",
      "x\n",
      "\r",
      "-n",
      "-",
      "--",
      "",
      "é€😀",
      "*",
      "?",
      "[a]",
      "~",
      "~/x",
      "#c",
      "!x",
      "{}",
      "{.}",
      "a=b",
      "%s",
      "%%",
      "¯\\_(ツ)_/¯",
      "\xff\xfe.x",
  };
  return inputs;
}

TEST(TemplateShellQuote, SafeWordsStayPlain) {
  for (const std::string s :
       {"abc", "A-Z_09", "a.b/c:d,e=f+g@h%i", "-n", "--flag=x", "/", ".", "-"}) {
    EXPECT_EQ(shell_quote(s), s) << s;
  }
}

TEST(TemplateShellQuote, EverythingElseIsSingleQuoted) {
  struct Case {
    std::string in;
    std::string out;
  };
  for (const Case& c : std::vector<Case>{
           {"", "''"},
           {"a b", "'a b'"},
           {"it's", "'it'\\''s'"},
           {"'", "''\\'''"},
           {"a\"b", "'a\"b'"},
           {"$(touch x)", "'$(touch x)'"},
           {"`id`", "'`id`'"},
           {"a;b", "'a;b'"},
           {"a&&b", "'a&&b'"},
           {"l1\nl2", "'l1\nl2'"},
           {"é", "'é'"},
           {"*", "'*'"},
           {"~", "'~'"},
           {"a\\b", "'a\\b'"},
       }) {
    EXPECT_EQ(shell_quote(c.in), c.out) << c.in;
  }
}

TEST(TemplateShellQuote, ShellSeesOneLiteralArgument) {
  TempDir dir;
  std::vector<std::string> inputs = hostile_inputs();
  for (const std::string in : {"$(touch x)", "`touch x`", "; touch x", "&& touch x", "\ntouch x"})
    inputs.push_back(in);
  for (const std::string& in : inputs) {
    RunOutput r = run_sh("cd " + shell_quote(dir.path()) + " && printf '<%s>' " + shell_quote(in));
    EXPECT_EQ(r.exit_status, 0) << in << "\n" << r.err;
    EXPECT_EQ(r.out, "<" + in + ">") << in;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a quoted input ran a command";
}

// Expected values come from GNU parallel 20221122 (`parallel --will-cite -0 "printf '<%s>\n'
// {} {.} {/} {//} {/.}" :::: FILE`) and Perl's File::Basename::dirname for the dirname cases.
TEST(TemplatePathVariants, MatchGnuParallel) {
  struct Case {
    std::string in, noext, base, dir, base_noext;
  };
  for (const Case& c : std::vector<Case>{
           {"a.b/c.tar.gz", "a.b/c.tar", "c.tar.gz", "a.b", "c.tar"},
           {"dir.x/file", "dir.x/file", "file", "dir.x", "file"},
           {"file.txt", "file", "file.txt", ".", "file"},
           {"plain", "plain", "plain", ".", "plain"},
           {"/abs/x.y", "/abs/x", "x.y", "/abs", "x"},
           {"/x", "/x", "x", "/", "x"},
           {"/", "/", "", "/", ""},
           {".", "", ".", ".", ""},
           {"..", ".", "..", ".", "."},
           {".hidden", "", ".hidden", ".", ""},
           {"dir/.hidden", "dir/", ".hidden", "dir", ""},
           {"a/", "a/", "", ".", ""},
           {"", "", "", ".", ""},
           {"x/y.", "x/y", "y.", "x", "y"},
           {"a/b/", "a/b/", "", "a", ""},
           {"a//b", "a//b", "b", "a", "b"},
           {"//a", "//a", "a", "/", "a"},
           {"//", "//", "", "/", ""},
           {"a/b//", "a/b//", "", "a", ""},
           {"a//", "a//", "", ".", ""},
           {"/a/", "/a/", "", "/", ""},
           {"x/.", "x/", ".", "x", ""},
           {"a b/c d.e", "a b/c d", "c d.e", "a b", "c d"},
           {"p.q\nr", "p", "p.q\nr", ".", "p"},
       }) {
    SCOPED_TRACE("input <" + c.in + ">");
    EXPECT_EQ(expand_template("{}", {c.in}, 1), shell_quote(c.in));
    EXPECT_EQ(expand_template("{.}", {c.in}, 1), shell_quote(c.noext));
    EXPECT_EQ(expand_template("{/}", {c.in}, 1), shell_quote(c.base));
    EXPECT_EQ(expand_template("{//}", {c.in}, 1), shell_quote(c.dir));
    EXPECT_EQ(expand_template("{/.}", {c.in}, 1), shell_quote(c.base_noext));
    // With one source, {1...} is the same as {...}.
    EXPECT_EQ(expand_template("{1}", {c.in}, 1), shell_quote(c.in));
    EXPECT_EQ(expand_template("{1.}", {c.in}, 1), shell_quote(c.noext));
    EXPECT_EQ(expand_template("{1/}", {c.in}, 1), shell_quote(c.base));
    EXPECT_EQ(expand_template("{1//}", {c.in}, 1), shell_quote(c.dir));
    EXPECT_EQ(expand_template("{1/.}", {c.in}, 1), shell_quote(c.base_noext));
  }
}

// GNU parallel's {/} is s:.*/:: and Perl's '.' stops at a newline, so it turns "a\nb/c" into
// "a\nc". That is a path nobody has; we take what follows the last '/'.
TEST(TemplatePathVariants, BasenameCrossesNewlinesUnlikeGnuParallel) {
  EXPECT_EQ(expand_template("{/}", {"a\nb/c"}, 1), "c");
  EXPECT_EQ(expand_template("{/.}", {"x/y\nz/w.t"}, 1), "w");
}

TEST(TemplateReplacement, ExactText) {
  struct Case {
    std::string tmpl;
    std::vector<std::string> inputs;
    uint64_t seq;
    std::string out;
  };
  for (const Case& c : std::vector<Case>{
           {"echo {}", {"a b"}, 1, "echo 'a b'"},
           {"cp {} {.}.bak", {"dir/f.txt"}, 1, "cp dir/f.txt dir/f.bak"},
           {"pre{}post", {"x y"}, 1, "pre'x y'post"},
           {"{}{}", {"a"}, 1, "aa"},
           {"job {#}", {"a"}, 42, "job 42"},
           {"{#}{#}", {"a"}, 7, "77"},
           {"slot {%}", {"a"}, 1, "slot \"$PROCPOOL_SLOT\""},
           {"echo {#} {%} {}", {"it's"}, 3, "echo 3 \"$PROCPOOL_SLOT\" 'it'\\''s'"},
           {"echo {1 .} {01}", {"a.b"}, 1, "echo a a.b"},  // GNU parallel allows both
           {"echo {-1}", {"a"}, 1, "echo a"},
       }) {
    EXPECT_EQ(expand_template(c.tmpl, c.inputs, c.seq), c.out) << c.tmpl;
  }
}

TEST(TemplateReplacement, UnknownBracesStayLiteral) {
  for (const std::string t :
       {"echo {foo}", "echo {", "echo }", "echo { }", "echo {=1=}", "echo {+/}", "echo {..}",
        "echo {1..}", "echo {-}", "echo {#1}", "echo {/ }", "echo {%%}", "echo {.1}", "{1/x}"}) {
    EXPECT_FALSE(has_replacement(t)) << t;
    EXPECT_EQ(expand_template(t, {"v"}, 1), t + " v") << t;
  }
  // Only the inner {} is a replacement; the outer braces stay, as in GNU parallel.
  EXPECT_EQ(expand_template("echo {{}}", {"a b"}, 1), "echo {'a b'}");
  EXPECT_EQ(expand_template("echo {foo}{}", {"x"}, 1), "echo {foo}x");
  // Input is never scanned for replacement strings again.
  EXPECT_EQ(expand_template("echo {} {#}", {"{#}"}, 5), "echo '{#}' 5");
}

TEST(TemplateReplacement, HasReplacement) {
  for (const std::string t : {"{}", "a{.}b", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}", "{2/.}",
                              "{10}", "{-1//}", "{{}}", "x {foo} {}"}) {
    EXPECT_TRUE(has_replacement(t)) << t;
  }
  for (const std::string t : {"", "echo", "{foo}", "{", "}{", "{=1=}", "{ }", "{-}"}) {
    EXPECT_FALSE(has_replacement(t)) << t;
  }
}

TEST(TemplateAppend, InputsAreAppendedWhenThereIsNoReplacement) {
  EXPECT_EQ(expand_template("echo", {"a b"}, 1), "echo 'a b'");
  EXPECT_EQ(expand_template("gzip -9", {"f.txt"}, 1), "gzip -9 f.txt");
  EXPECT_EQ(expand_template("echo", {""}, 1), "echo ''");
  EXPECT_EQ(expand_template("echo", {"a", "b c"}, 1), "echo a 'b c'");
  EXPECT_EQ(expand_template("echo {foo}", {"x"}, 1), "echo {foo} x");
  EXPECT_EQ(expand_template("", {"x y"}, 1), "'x y'");
}

TEST(TemplateAppend, SeqOrSlotAloneSuppressesAppending) {
  // GNU parallel: `parallel echo {#} ::: a b` prints 1 and 2, without the input.
  EXPECT_EQ(expand_template("echo {#}", {"a"}, 9), "echo 9");
  EXPECT_EQ(expand_template("echo {%}", {"a"}, 9), "echo \"$PROCPOOL_SLOT\"");
}

TEST(TemplateSources, AllInputsAreSeparateWords) {
  std::vector<std::string> in{"a b", "dir/c.d"};
  EXPECT_EQ(expand_template("echo {}", in, 1), "echo 'a b' dir/c.d");
  EXPECT_EQ(expand_template("echo {.}", in, 1), "echo 'a b' dir/c");
  EXPECT_EQ(expand_template("echo {/}", in, 1), "echo 'a b' c.d");
  EXPECT_EQ(expand_template("echo {//}", in, 1), "echo . dir");
  EXPECT_EQ(expand_template("echo {/.}", in, 1), "echo 'a b' c");
  EXPECT_EQ(expand_template("echo {}x", in, 1), "echo 'a b' dir/c.dx");
}

TEST(TemplateSources, Positional) {
  std::vector<std::string> in{"x/a.1", "y/b.2", "c"};
  EXPECT_EQ(expand_template("{1} {2} {3}", in, 1), "x/a.1 y/b.2 c");
  EXPECT_EQ(expand_template("{3}{2.}{1/}", in, 1), "cy/ba.1");
  EXPECT_EQ(expand_template("{2//} {2/.}", in, 1), "y b");
  EXPECT_EQ(expand_template("{-1} {-3/.}", in, 1), "c a");
  EXPECT_EQ(run_sh(expand_template("printf '<%s>' {2} {1}", {"it's", "$(echo no)"}, 1)).out,
            "<$(echo no)><it's>");
}

TEST(TemplateSources, MissingSourceIsAnErrorNamingIt) {
  struct Case {
    std::string tmpl;
    size_t sources;
    std::string must_mention;
  };
  for (const Case& c : std::vector<Case>{
           {"echo {10}", 1, "{10}"},
           {"echo {3/.}", 2, "{3/.}"},
           {"echo {-3}", 2, "{-3}"},
           {"echo {0}", 2, "{0}"},
           {"echo {99999999999999999999999}", 1, "{99999999999999999999999}"},
       }) {
    std::vector<std::string> in(c.sources, "v");
    try {
      expand_template(c.tmpl, in, 1);
      ADD_FAILURE() << c.tmpl << " did not throw";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.must_mention), std::string::npos) << e.what();
    }
  }
  try {
    expand_template("{10}", {"v"}, 1);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("there is 1 input source"), std::string::npos) << e.what();
  }
}

TEST(TemplateShell, SlotExpandsInTheShell) {
  RunOutput r = run_sh(expand_template("printf '<%s>' {%} {#}", {"a"}, 12), "3");
  EXPECT_EQ(r.out, "<3><12>");
}

TEST(TemplateShell, HostileInputsStayOneArgument) {
  TempDir dir;
  for (const std::string& in : hostile_inputs()) {
    std::string cmd =
        expand_template("cd " + shell_quote(dir.path()) + " && printf '<%s>' {}", {in}, 1);
    RunOutput r = run_sh(cmd);
    EXPECT_EQ(r.exit_status, 0) << cmd << "\n" << r.err;
    EXPECT_EQ(r.out, "<" + in + ">") << cmd;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- Differential test against GNU parallel --------------------------------------------------

struct DiffCase {
  std::string tmpl;
  std::vector<std::vector<std::string>> sources;  // cartesian product, first source outermost
};

// What GNU parallel prints for `tmpl` over `sources`. Inputs go through NUL-separated files
// (-0 ::::) because ::: splits arguments at newlines. PARALLEL_SHELL pins /bin/sh, which is
// what procpool's workers use.
RunOutput run_gnu_parallel(const DiffCase& c, const TempDir& dir, int id) {
  std::vector<std::string> argv{
      "env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite", "-k", "-j1", "-0", c.tmpl};
  for (size_t s = 0; s < c.sources.size(); ++s) {
    std::string content;
    for (const std::string& in : c.sources[s]) content += in + '\0';
    argv.push_back("::::");
    argv.push_back(dir.write("src" + std::to_string(id) + "_" + std::to_string(s), content));
  }
  return run_program(argv);
}

// What our expansion prints: every job of the product, in GNU parallel's order, as one script.
RunOutput run_ours(const DiffCase& c) {
  std::string script;
  uint64_t seq = 0;
  std::vector<size_t> idx(c.sources.size(), 0);
  while (true) {
    std::vector<std::string> inputs;
    for (size_t s = 0; s < idx.size(); ++s) inputs.push_back(c.sources[s][idx[s]]);
    script += expand_template(c.tmpl, inputs, ++seq) + "\n";
    size_t s = idx.size();
    while (s > 0 && ++idx[s - 1] == c.sources[s - 1].size()) idx[--s] = 0;
    if (s == 0) break;
  }
  return run_sh(script);
}

// Not compared, on purpose: a replacement string as the first word (GNU parallel then does not
// quote it, so `parallel {} ::: "echo hi"` runs echo; we always quote), {0} and out-of-range
// {N} (GNU parallel substitutes something or nothing; we refuse), {/} of input holding both a
// newline and a '/' (see BasenameCrossesNewlinesUnlikeGnuParallel), {= perl =} and --plus.
TEST(TemplateVsGnuParallel, SameEffectUnderSh) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  std::vector<std::string> paths{"a.b/c.tar.gz", "dir.x/file",  "file.txt", "plain",
                                 "/abs/x.y",     "/",           ".",        "..",
                                 ".hidden",      "dir/.hidden", "a/",       "x/y.",
                                 "/x",           "a/b/",        "a//b",     "//a",
                                 "//",           "a/b//",       "a//",      "/a/",
                                 "x/.",          "a b/c d.e",   "it's/x.y", "$(echo p)/q.r",
                                 "d/\"*\".z"};
  // Every replacement at once, plus neighbours and braces that are not replacement strings.
  std::string all_of_them =
      "printf '<%s>\\n' {} {.} {/} {//} {/.} {#} {%} {1} {1.} {1/} {1//} {1/.} {-1} "
      "pre{}post {/.}.txt {}{} {foo} {{}} x{#}y { } {=";
  std::vector<std::string> few{"a b", "it's", "", "-n", "$(echo pwned)", "l1\nl2", "*"};
  std::vector<std::string> left{"a b.x", "dir.d/f.tar.gz", "", "-n"};
  std::vector<std::string> right{"$(echo pwned)", "c\nd", "x/y/", "é.ü"};
  std::vector<DiffCase> cases{
      {all_of_them, {paths}},
      {all_of_them, {hostile_inputs()}},
      {"printf '<%s>\\n' x", {few}},
      {"printf '<%s>\\n' {} {.} {/} {//} {/.} {1} {2} {2.} {1/} {2//} {-1} {-2/.} {#} {1}{2}",
       {left, right}},
      {"printf '<%s>\\n' x", {left, right}},
  };
  TempDir dir;
  // GNU parallel needs a good 20 ms a job here, even with --dry-run; run the cases side by side
  // and keep the job count near 100 so the test stays around a second.
  std::vector<std::future<RunOutput>> theirs;
  for (size_t i = 0; i < cases.size(); ++i) {
    theirs.push_back(std::async(std::launch::async, [&, i] {
      return run_gnu_parallel(cases[i], dir, static_cast<int>(i));
    }));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].tmpl);
    RunOutput want = theirs[i].get();
    ASSERT_EQ(want.exit_status, 0) << want.err;
    RunOutput got = run_ours(cases[i]);
    EXPECT_EQ(got.exit_status, 0) << got.err;
    EXPECT_EQ(got.out, want.out);
  }
}

}  // namespace
}  // namespace procpool
