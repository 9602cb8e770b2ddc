// For the tests that run GNU parallel (Debian's `parallel`) side by side with procpool: whether
// it is there, and the input values that break naive command building.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/e2e.h"

namespace procpool::testing {

// Seconds after which a run is killed (a hang fails the test instead of stalling the suite).
inline constexpr const char* kRunLimit = "120";

// `argv` run in `cwd` with `input` on stdin, killed after kRunLimit seconds.
inline RunOutput run_bounded(const std::vector<std::string>& argv, const std::string& input,
                             const std::string& cwd) {
  std::vector<std::string> full{"timeout", "-s", "KILL", kRunLimit, "env", "-C", cwd};
  full.insert(full.end(), argv.begin(), argv.end());
  RunOutput r = run_program(full, input);
  if (r.exit_status == 137) ADD_FAILURE() << argv[0] << " hung and was killed";
  return r;
}

// GNU parallel itself, not moreutils' parallel of the same name.
inline bool have_gnu_parallel() {
  RunOutput r = run_program(
      {"/bin/sh", "-c", "command -v parallel >/dev/null && parallel --will-cite --version"});
  return r.exit_status == 0 && r.out.find("GNU parallel") != std::string::npos;
}

// Quotes, $, backticks, leading dashes, invalid UTF-8, an empty value, a tab, globs and strings
// that look like procpool's own. No newline (GNU parallel's ::: would split there).
inline const std::vector<std::string>& hostile_values() {
  static const std::vector<std::string> values{"plain",
                                               "with space",
                                               "  two  spaces  ",
                                               "it's",
                                               "dq\"x",
                                               "$(touch pwned)",
                                               "`touch pwned2`",
                                               "semi;colon; touch pwned3",
                                               "a&&b|c>d",
                                               "unicodé ü",
                                               "\xff\xfe.bin",
                                               "-leading-dash",
                                               "--",
                                               "-k",
                                               "",
                                               "tab\there",
                                               "*glob?[ab]",
                                               "back\\slash",
                                               "100%s",
                                               "{}",
                                               "$HOME",
                                               "dir/f.tar.gz"};
  return values;
}

// Both runs of `words` succeeded and printed the same stdout, which is not empty; a long one is
// compared without printing it.
inline void expect_same_stdout(const RunOutput& ours, const RunOutput& gnu,
                               const std::vector<std::string>& words) {
  std::string shown;
  for (const auto& w : words) shown += " [" + w + "]";
  EXPECT_EQ(gnu.exit_status, 0) << shown << "\nGNU parallel:\n" << gnu.err.substr(0, 2000);
  EXPECT_EQ(ours.exit_status, 0) << shown << "\nprocpool:\n" << ours.err.substr(0, 2000);
  EXPECT_FALSE(gnu.out.empty()) << shown;
  if (ours.out.size() > 5000 || gnu.out.size() > 5000) {
    EXPECT_TRUE(ours.out == gnu.out) << shown << ": outputs differ (" << ours.out.size() << " and "
                                     << gnu.out.size() << " bytes)";
  } else {
    EXPECT_EQ(ours.out, gnu.out) << shown;
  }
}

}  // namespace procpool::testing
