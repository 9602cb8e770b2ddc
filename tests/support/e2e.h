// Runs the built procpool binary (or any program) on real commands and captures what it did.
#pragma once

#include <string>
#include <vector>

namespace procpool::testing {

struct RunOutput {
  int exit_status = -1;  // exit code, or 128 + signal when it died by one
  std::string out;       // everything written to stdout
  std::string err;       // everything written to stderr
};

// Runs `argv` with `input` on stdin and waits for it (stdout and stderr read concurrently).
RunOutput run_program(const std::vector<std::string>& argv, const std::string& input = "");
// Runs build/procpool with `args`.
RunOutput run_procpool(const std::vector<std::string>& args, const std::string& input = "");
// A fresh temporary directory, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to `name` inside the directory; returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;  // absolute path of the directory
};

std::string procpool_bin();
// Path of a helper program built from tests/helpers/NAME.cc.
std::string helper(const std::string& name);
// Splits on '\n', dropping a final empty piece.
std::vector<std::string> lines(const std::string& text);

}  // namespace procpool::testing
