// -k --line-buffer, as GNU parallel's: the oldest job not yet reported prints its lines as they
// arrive; every later job's wait, held back whole (in the memory budget, spilled past it), and
// come out when it becomes the oldest. So the log is -k's, line for line, and the first job's
// lines are live. Jobs finish out of order by waiting for files, never by sleeping; a job that
// waits gives up after 20 s and every run is killed after 120 s, so a bug fails, never hangs.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/gnu_parallel.h"
#include "tests/support/process_checks.h"

namespace procpool::testing {
namespace {

using Words = std::vector<std::string>;

constexpr const char* kRunLimit = "120";  // seconds before a run is SIGKILLed as hung

// Single-quotes `s` for /bin/sh (not procpool's own quoting: the tests must not trust it).
std::string sq(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Words join(Words head, const Words& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Runs `argv` in `cwd`, killed after kRunLimit seconds.
RunOutput run_bounded(const Words& argv, const std::string& input = "",
                      const std::string& cwd = "/") {
  RunOutput r =
      run_program(join({"timeout", "-s", "KILL", kRunLimit, "env", "-C", cwd}, argv), input);
  if (r.exit_status == 137) ADD_FAILURE() << argv[0] << " hung and was killed";
  return r;
}

RunOutput pp(const Words& args, const std::string& input = "", const std::string& cwd = "/") {
  return run_bounded(join({procpool_bin()}, args), input, cwd);
}

RunOutput sh(const std::string& script) {
  return run_bounded({"/bin/sh", "-c", script});
}

// Shell code that waits for `path` to exist; after 20 s it gives up with exit 9, saying so.
std::string wait_for(const std::string& path) {
  return "i=0; while [ ! -e " + path + " ]; do i=$((i+1)); if [ $i -gt 2000 ]; then echo " +
         sq("gave up waiting for " + path) + " >&2; exit 9; fi; sleep 0.01; done";
}

// Shell code printing `count` lines "<what> <n>" to stdout (or to stderr with `err`).
std::string print_lines(const std::string& what, int from, int count, bool err = false) {
  return "n=" + std::to_string(from) + "; while [ $n -lt " + std::to_string(from + count) +
         " ]; do echo " + sq(what) + " $n" + (err ? " >&2" : "") + "; n=$((n+1)); done";
}

// Three jobs that finish last to first (each waits for the next to end), printing on both
// streams, a line in pieces and a last line with no newline. Runs `procpool map -j3 -q FLAGS`
// on them in `dir` (the same scripts each time: the same names for --tag).
RunOutput three_finishing_backwards(const TempDir& dir, const Words& flags) {
  for (int i = 1; i <= 3; ++i) std::filesystem::remove(dir.path() + "/done" + std::to_string(i));
  Words scripts;
  for (int i = 1; i <= 3; ++i) {
    std::string job = "job" + std::to_string(i);
    std::string next = sq(dir.path() + "/done" + std::to_string(i + 1));
    std::string body =
        print_lines(job + " out", 0, 5) + "; " + print_lines(job + " err", 0, 3, true) +
        "; printf '" + job + " in '; printf 'pieces\\n'; " + (i < 3 ? wait_for(next) + "; " : "") +
        print_lines(job + " out", 5, 5) + "; " + print_lines(job + " err", 3, 3, true) +
        "; printf '" + job + " tail'; touch " + sq(dir.path() + "/done" + std::to_string(i)) + "\n";
    scripts.push_back(dir.write(job + ".sh", body));
  }
  return pp(join(join({"map", "-j3", "-q"}, flags), join({"sh {}", ":::"}, scripts)));
}

// (1) The same log as -k, for jobs that finish out of order, with and without --tag.
TEST(LineBufferOrder, SameOutputAsKeepOrder) {
  for (const Words& extra : {Words{}, Words{"--tag"}}) {
    SCOPED_TRACE(extra.empty() ? "plain" : "--tag");
    TempDir dir;
    RunOutput kept = three_finishing_backwards(dir, join({"-k"}, extra));
    RunOutput live = three_finishing_backwards(dir, join({"-k", "--line-buffer"}, extra));
    ASSERT_EQ(kept.exit_status, 0) << kept.err;
    ASSERT_EQ(live.exit_status, 0) << live.err;
    EXPECT_EQ(live.out, kept.out);
    EXPECT_EQ(live.err, kept.err);
    // And that is the jobs in input order, whole, each one's unterminated tail running into the
    // next one's first line (as GNU parallel -k prints it).
    if (extra.empty()) {
      std::string want;
      for (int i = 1; i <= 3; ++i) {
        std::string job = "job" + std::to_string(i);
        for (int n = 0; n < 10; ++n) {
          want += job + " out " + std::to_string(n) + "\n";
          if (n == 4) want += job + " in pieces\n";
        }
        want += job + " tail";
      }
      EXPECT_EQ(live.out, want);
    } else {
      // Tagged with the script's path, every line.
      for (const std::string& line : lines(live.out)) {
        EXPECT_NE(line.find(".sh\tjob"), std::string::npos) << line;
      }
    }
  }
}

// (2) The first job's first line is on procpool's stdout before that job ends: the job waits
// for a file the reader of the pipe makes only once it has read the line. And when it ends,
// the next job, still running, goes live: what it printed so far comes out before it ends (it
// waits for the reader too).
TEST(LineBufferOrder, OldestJobsLinesAreLive) {
  TempDir dir;
  auto at = [&](const std::string& name) { return sq(dir.path() + "/" + name); };
  std::string first = dir.write("1.sh", "echo one-a; " + wait_for(at("go1")) + "; echo one-b\n");
  std::string second =
      dir.write("2.sh", "echo two-a; " + wait_for(at("go2")) + "; echo two-b; echo two-c >&2\n");
  std::string third = dir.write("3.sh", "echo three; echo three-err >&2\n");
  std::string reader = "{ IFS= read -r a; printf '%s\\n' \"$a\" > " + at("seen1") + "; touch " +
                       at("go1") + "; IFS= read -r b; IFS= read -r c; printf '%s\\n%s\\n' " +
                       "\"$b\" \"$c\" > " + at("seen2") + "; touch " + at("go2") + "; cat; }";
  RunOutput r =
      sh("{ " + sq(procpool_bin()) + " map -k --line-buffer -j3 -q 'sh {}' ::: " + sq(first) + " " +
         sq(second) + " " + sq(third) + "; echo $? > " + at("rc") + "; } | " + reader);
  EXPECT_EQ(slurp(dir.path() + "/seen1"), "one-a\n");
  EXPECT_EQ(slurp(dir.path() + "/seen2"), "one-b\ntwo-a\n");
  EXPECT_EQ(slurp(dir.path() + "/rc"), "0\n") << r.err;
  EXPECT_EQ(r.out, "two-b\nthree\n");  // what the reader passed on
  EXPECT_EQ(r.err, "two-c\nthree-err\n");
}

// (3) Later jobs print all the while the oldest does, on both streams: no line of theirs comes
// before the oldest job's last, nor between the lines of another job.
TEST(LineBufferOrder, LaterJobsNeverInterleave) {
  constexpr int kJobs = 6;
  TempDir dir;
  Words scripts;
  for (int i = 1; i <= kJobs; ++i) {
    std::string job = "job" + std::to_string(i);
    std::string body = print_lines(job, 0, 200) + "; " + print_lines(job + "e", 0, 100, true) +
                       "; touch " + sq(dir.path() + "/half" + std::to_string(i)) + "; ";
    // The first job's second half comes once all the others are halfway: they all print at once.
    if (i == 1) {
      for (int k = 2; k <= kJobs; ++k) {
        body += wait_for(sq(dir.path() + "/half" + std::to_string(k))) + "; ";
      }
    }
    body += print_lines(job, 200, 200) + "; " + print_lines(job + "e", 100, 100, true) + "\n";
    scripts.push_back(dir.write(job + ".sh", body));
  }
  RunOutput r = pp(join(
      {"map", "-k", "--line-buffer", "-q", "-j", std::to_string(kJobs), "sh {}", ":::"}, scripts));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::string out, err;
  for (int i = 1; i <= kJobs; ++i) {
    std::string job = "job" + std::to_string(i);
    for (int n = 0; n < 400; ++n) out += job + " " + std::to_string(n) + "\n";
    for (int n = 0; n < 200; ++n) err += job + "e " + std::to_string(n) + "\n";
  }
  EXPECT_TRUE(r.out == out) << "stdout is not the jobs' lines, job after job:\n"
                            << r.out.substr(0, 3000);
  EXPECT_TRUE(r.err == err) << "stderr is not the jobs' lines, job after job:\n"
                            << r.err.substr(0, 3000);
}

// In a CI log: every line on stdout (a runner reorders between its two pipes), the jobs'
// markers defused, the whole live phase one ::stop-commands:: region, job after job.
TEST(LineBufferOrder, CiLogKeepsItsGuarantees) {
  TempDir dir;
  std::string first = dir.write(
      "1.sh", wait_for(sq(dir.path() + "/done2")) + "; echo one; echo one-err >&2; exit 3\n");
  std::string second = dir.write("2.sh",
                                 "echo '::error::pwned'; echo '##[group]fake' >&2; "
                                 "printf '::endgroup::'; touch " +
                                     sq(dir.path() + "/done2") + "\n");
  RunOutput r = run_bounded({"env", "-u", "GITHUB_ACTIONS", "-u", "GITLAB_CI", "-u",
                             "GITHUB_STEP_SUMMARY", procpool_bin(), "map", "-k", "--line-buffer",
                             "-j2", "--ci", "github", "sh {}", ":::", first, second});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(r.err.find("one-err"), std::string::npos) << r.err;
  std::vector<std::string> log = lines(r.out);
  ASSERT_GE(log.size(), 8u) << r.out;
  ASSERT_EQ(log[0].rfind("::stop-commands::", 0), 0u) << r.out;
  std::string token = log[0].substr(17);
  EXPECT_EQ(token.size(), 32u) << log[0];
  auto find = [&](const std::string& line) {
    return std::find(log.begin(), log.end(), line) - log.begin();
  };
  EXPECT_EQ(log[1], "one");
  EXPECT_EQ(log[2], "one-err");
  EXPECT_EQ(log[3].rfind("[failed] " + first, 0), 0u) << log[3];
  EXPECT_EQ(log[4], "::error::pwned");
  EXPECT_EQ(log[5], "#[job]#[group]fake");
  EXPECT_EQ(log[6], "::endgroup::");  // ended by procpool's newline
  EXPECT_EQ(log[7].rfind("[ok] " + second, 0), 0u) << log[7];
  EXPECT_EQ(find("::" + token + "::"), 8) << r.out;  // the region ends after the last job
  EXPECT_EQ(log[9].rfind("::error title=" + first + "::[failed] " + first, 0), 0u) << r.out;
}

// A later job printing far more than the memory budget while it waits its turn is held in the
// spill file, as -k holds finished jobs' output: the coordinator's memory stays small, and every
// byte comes out (in 64 KiB pieces: it never ends its line).
TEST(LineBufferOrder, HeldOutputStaysInTheMemoryBudget) {
  constexpr size_t kBytes = 40u << 20;
  if (!std::filesystem::exists("/usr/bin/time")) GTEST_SKIP() << "/usr/bin/time is missing";
  TempDir dir;
  std::string first = dir.write(
      "1.sh", "echo first; " + wait_for(sq(dir.path() + "/done2")) + "; echo first-end\n");
  std::string second = dir.write("2.sh", sq(helper("flood")) + " " + std::to_string(kBytes) +
                                             "; touch " + sq(dir.path() + "/done2") + "\n");
  std::string out = dir.path() + "/out", rss = dir.path() + "/rss";
  Background bg({"/usr/bin/time", "-f", "%M", "-o", rss, procpool_bin(), "map", "-k",
                 "--line-buffer", "-q", "-j2", "sh {}", ":::", first, second},
                {.stdout_path = out});
  BackgroundResult r = bg.wait(std::chrono::seconds(120));
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::string text = slurp(out);
  ASSERT_EQ(text.rfind("first\nfirst-end\n", 0), 0u) << text.substr(0, 200);
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), 'x')), kBytes);
  size_t longest = 0, start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    longest = std::max(longest, nl - start);
  }
  EXPECT_LE(longest, 64u << 10);
#ifndef PROCPOOL_SANITIZED
  long peak = std::stol("0" + slurp(rss));
  RecordProperty("max_rss_kb", std::to_string(peak));
  // The 16 MiB budget, the program itself and slack, as tests/memory_budget_test.cc allows.
  EXPECT_LT(peak, 48 * 1024) << "peak RSS of procpool and its descendants, KiB";
#endif
}

// A job the halt stops shows nothing it held back (as -k shows nothing of it); the oldest
// job's lines were live, so they are out.
TEST(LineBufferOrder, HaltShowsNothingHeldOfTheJobsItStopped) {
  TempDir dir;
  auto at = [&](const std::string& name) { return sq(dir.path() + "/" + name); };
  std::string never = wait_for(at("never"));
  std::string first = dir.write("1.sh", "echo one; touch " + at("started1") + "; " + never + "\n");
  std::string second = dir.write("2.sh", "echo two; touch " + at("started2") + "; " + never + "\n");
  std::string third = dir.write("3.sh", wait_for(at("started1")) + "; " + wait_for(at("started2")) +
                                            "; echo three; exit 1\n");
  RunOutput r = pp({"map", "-k", "--line-buffer", "-j3", "--halt", "now,fail=1", "sh {}",
                    ":::", first, second, third});
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(r.out, "one\nthree\n") << r.err;  // -k alone prints "three\n"
}

// ---- against GNU parallel itself ----------------------------------------------------------

// (4) The same stdout and stderr as `parallel -k --line-buffer`, for hostile values (spaces,
// quotes, $, backslashes, empty ones), jobs finishing last to first or first to last, printing
// empty lines, on both streams and a last line without newline.
TEST(LineBufferOrder, SameAsGnuParallel) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  const Words values{"plain", "with space", "it's",        "dq\"x",
                     "$HOME", "",           "back\\slash", "tab\there"};
  const std::string n = std::to_string(values.size());
  std::string input;
  for (const auto& v : values) input += v + "\n";
  // Job {#} waits for the job after it (backwards) or before it (forwards) to end.
  for (const std::string wait_on : {"$(({#}+1))", "$(({#}-1))"}) {
    TempDir dir;
    std::string gate = wait_on == "$(({#}+1))" ? "[ {#} -lt " + n + " ]" : "[ {#} -gt 1 ]";
    std::string cmd = "printf 'start<%s>\\n' {}; echo; printf 'err<%s>\\n' {} >&2; " + gate +
                      " && { " + wait_for("done." + wait_on) +
                      "; }; printf 'end<%s>\\n\\n' {}; printf 'tail<%s>' {}; touch done.{#}";
    for (bool from_stdin : {false, true}) {
      SCOPED_TRACE(std::string(wait_on) +
                   (from_stdin ? ", values on stdin" : ", values after :::"));
      Words words{"-k", "--line-buffer", "-j", n, cmd};
      if (!from_stdin) words = join(join(words, {":::"}), values);
      std::string in = from_stdin ? input : "";
      run_bounded({"sh", "-c", "rm -f done.*"}, "", dir.path());
      RunOutput gnu =
          run_bounded(join({"env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite"}, words), in,
                      dir.path());
      run_bounded({"sh", "-c", "rm -f done.*"}, "", dir.path());
      RunOutput ours = run_bounded(join({procpool_bin(), "map", "-q"}, words), in, dir.path());
      ASSERT_EQ(gnu.exit_status, 0) << gnu.err;
      ASSERT_EQ(ours.exit_status, 0) << ours.err;
      EXPECT_NE(gnu.out.find("tail<it's>start<dq\"x>\n"), std::string::npos) << gnu.out;
      EXPECT_EQ(ours.out, gnu.out);
      EXPECT_EQ(ours.err, gnu.err);
    }
  }
}

}  // namespace
}  // namespace procpool::testing
