#include "cli/ci_style.h"

#include <stdlib.h>
#include <time.h>

#include <fmt/format.h>

#include "cli/flags.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

bool env_is_true(const char* name) {
  const char* v = ::getenv(name);
  return v && std::string(v) == "true";
}

// GitHub workflow commands end at a newline and treat % specially: escape as the runner does.
// `s` is already visible() text (one line, no controls); the escapes here are GitHub's own.
std::string github_escape(const std::string& s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%') {
      out += "%25";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else if (property && c == ':') {
      out += "%3A";
    } else if (property && c == ',') {
      out += "%2C";
    } else {
      out += c;
    }
  }
  return out;
}

// GitLab section names allow only [A-Za-z0-9_.-]; the job id keeps them unique.
std::string gitlab_section(const Job& job) {
  return fmt::format("procpool_job_{}", job.id);
}

}  // namespace

CiStyle parse_ci_style(const std::string& text) {
  if (text == "github") return CiStyle::kGithub;
  if (text == "gitlab") return CiStyle::kGitlab;
  if (text == "plain") return CiStyle::kPlain;
  if (text == "auto") {
    if (env_is_true("GITHUB_ACTIONS")) return CiStyle::kGithub;
    if (env_is_true("GITLAB_CI")) return CiStyle::kGitlab;
    return CiStyle::kPlain;
  }
  throw UsageError("--ci " + text + ": expected auto (the default), github, gitlab or plain");
}

std::string ci_block_start(CiStyle style, const Job& job, const std::string& header) {
  switch (style) {
    case CiStyle::kGithub:
      return "::group::" + github_escape(visible(header), false) + "\n";
    case CiStyle::kGitlab:
      return fmt::format("\x1b[0Ksection_start:{}:{}[collapsed=true]\r\x1b[0K{}\n", ::time(nullptr),
                         gitlab_section(job), visible(header));
    case CiStyle::kPlain:
      break;
  }
  return "";
}

std::string ci_block_end(CiStyle style, const Job& job, const Result& r,
                         const std::string& header) {
  switch (style) {
    case CiStyle::kGithub: {
      std::string out = "::endgroup::\n";
      if (!r.ok() && r.status != Status::kCancelled && r.status != Status::kSkipped) {
        // An annotation on the run's summary page: the header says what happened.
        out += fmt::format("::error title={}::{}\n", github_escape(visible(job.name), true),
                           github_escape(visible(header), false));
      }
      return out;
    }
    case CiStyle::kGitlab:
      return fmt::format("\x1b[0Ksection_end:{}:{}\r\x1b[0K\n", ::time(nullptr),
                         gitlab_section(job));
    case CiStyle::kPlain:
      break;
  }
  return "";
}

}  // namespace procpool
