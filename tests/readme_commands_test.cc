// The README's Quick start, pasted as written: every command of its first block runs and
// succeeds (with `procpool` on PATH, as installed, and `build/procpool` beside it), and the
// failing batch it shows fails the way it says. Run in a copy of what the commands read, so
// nothing they write lands in the repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/e2e.h"

namespace procpool::testing {
namespace {

namespace fs = std::filesystem;

fs::path repo_root() {
  return fs::path(__FILE__).parent_path().parent_path();
}

std::string readme() {
  std::ifstream in(repo_root() / "README.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The lines of the first ```sh block after `heading`.
std::vector<std::string> first_block_after(const std::string& text, const std::string& heading) {
  size_t at = text.find("\n" + heading + "\n");
  if (at == std::string::npos) return {};
  size_t open = text.find("```sh\n", at);
  if (open == std::string::npos) return {};
  open += 6;
  size_t close = text.find("```", open);
  std::vector<std::string> out;
  std::istringstream lines(text.substr(open, close - open));
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  return out;
}

// A command without its trailing comment ("cmd   # what it does").
std::string without_comment(const std::string& line) {
  size_t hash = line.find("  #");
  std::string cmd = hash == std::string::npos ? line : line.substr(0, hash);
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  return cmd;
}

// Set-up commands the test cannot repeat here: they install packages or into /usr/local.
bool is_setup(const std::string& cmd) {
  for (const char* prefix : {"scripts/", "sudo ", "cmake ", "apt", "man "}) {
    if (cmd.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

class ReadmeQuickStart : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* file : {"jobs.example.json", "README.md"}) {
      fs::copy(repo_root() / file, dir_.path() + "/" + file);
    }
    fs::create_directories(dir_.path() + "/build");
    fs::create_symlink(procpool_bin(), dir_.path() + "/build/procpool");
    fs::create_directories(dir_.path() + "/bin");
    fs::create_symlink(procpool_bin(), dir_.path() + "/bin/procpool");
  }

  RunOutput sh(const std::string& cmd) {
    std::string path = dir_.path() + "/bin:" + std::string(::getenv("PATH"));
    return run_program({"env", "-C", dir_.path(), "PATH=" + path, "/bin/sh", "-c", cmd});
  }

  TempDir dir_;
};

TEST_F(ReadmeQuickStart, EveryCommandRunsAsWritten) {
  std::vector<std::string> block = first_block_after(readme(), "## Quick start");
  ASSERT_FALSE(block.empty()) << "README.md has no ```sh block under ## Quick start";
  int ran = 0;
  for (const auto& line : block) {
    std::string cmd = without_comment(line);
    if (cmd.empty() || is_setup(cmd)) continue;
    RunOutput r = sh(cmd);
    EXPECT_EQ(r.exit_status, 0) << cmd << "\n" << r.err.substr(0, 2000);
    ++ran;
  }
  EXPECT_GE(ran, 3) << "the Quick start shows few runnable commands";
}

TEST_F(ReadmeQuickStart, TheFailingBatchFailsAsShown) {
  std::string text = readme();
  size_t start = text.find("$ cat > failing.json <<'EOF'\n");
  ASSERT_NE(start, std::string::npos);
  start = text.find('\n', start) + 1;
  size_t end = text.find("\nEOF\n", start);
  ASSERT_NE(end, std::string::npos);
  std::ofstream(dir_.path() + "/failing.json") << text.substr(start, end - start) << "\n";
  // Every line the README shows after running it, in the order shown.
  size_t run = text.find("$ build/procpool run failing.json", end);
  ASSERT_NE(run, std::string::npos);
  size_t shown_end = text.find("```", run);
  std::istringstream shown(text.substr(run, shown_end - run));
  std::string command;
  std::getline(shown, command);
  RunOutput r = sh(command.substr(2));
  std::string all = r.out + r.err;
  for (std::string line; std::getline(shown, line);) {
    // Durations vary; the rest of each line is what a user sees.
    std::string stable = line.substr(0, line.find(" ("));
    stable = stable.substr(0, stable.find(" in "));
    EXPECT_NE(all.find(stable), std::string::npos) << "missing: " << stable << "\nin:\n" << all;
  }
}

}  // namespace
}  // namespace procpool::testing
