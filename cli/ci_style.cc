#include "cli/ci_style.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "cli/flags.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

bool env_is_true(const char* name) {
  const char* v = ::getenv(name);
  return v && std::string(v) == "true";
}

// GitLab section names allow only [A-Za-z0-9_.-]; the job id keeps them unique.
std::string gitlab_section(const Job& job) {
  return fmt::format("procpool_job_{}", job.id);
}

// Seconds since the epoch of a result's wall-clock stamp; now for jobs that never ran.
int64_t epoch_seconds(int64_t wall_us) {
  return wall_us > 0 ? wall_us / 1000000 : static_cast<int64_t>(::time(nullptr));
}

constexpr std::string_view kSectionKeywords[] = {"section_start:", "section_end:"};

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

// GitHub workflow commands end at a newline and treat % specially: escape as the runner does.
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

std::string ci_block_start(CiStyle style, const Job& job, const Result& r,
                           const std::string& header) {
  switch (style) {
    case CiStyle::kGithub:
      return "::group::" + github_escape(visible(header), false) + "\n";
    case CiStyle::kGitlab:
      return fmt::format("\x1b[0Ksection_start:{}:{}[collapsed=true]\r\x1b[0K{}\n",
                         epoch_seconds(r.started_us ? r.started_us : r.ended_us),
                         gitlab_section(job), visible(header));
    case CiStyle::kPlain:
      break;
  }
  return "";
}

std::string ci_block_end(CiStyle style, const Job& job, const Result& r) {
  switch (style) {
    case CiStyle::kGithub:
      return "::endgroup::\n";
    case CiStyle::kGitlab:
      return fmt::format("\x1b[0Ksection_end:{}:{}\r\x1b[0K\n", epoch_seconds(r.ended_us),
                         gitlab_section(job));
    case CiStyle::kPlain:
      break;
  }
  return "";
}

std::string stop_commands_token() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<size_t>(n);
  }
  std::string token;
  for (unsigned char b : bytes) token += fmt::format("{:02x}", b);
  return token;
}

std::string SectionMarkerFilter::feed(std::string_view bytes) {
  std::string text = held_;
  text.append(bytes);
  held_.clear();
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // Both keywords start with 's': copy up to the next one at memchr speed.
    size_t s = text.find('s', i);
    if (s == std::string::npos) s = text.size();
    out.append(text, i, s - i);
    i = s;
    if (i == text.size()) break;
    bool rewrote = false;
    for (std::string_view kw : kSectionKeywords) {
      if (text.compare(i, kw.size(), kw) == 0) {
        out.append(kw.substr(0, kw.size() - 1));
        out += "[job]:";
        i += kw.size();
        rewrote = true;
        break;
      }
    }
    if (rewrote) continue;
    // A tail that a later piece could complete into a keyword waits for that piece.
    std::string_view rest(text.data() + i, text.size() - i);
    bool may_start_keyword = false;
    for (std::string_view kw : kSectionKeywords) {
      may_start_keyword =
          may_start_keyword || (rest.size() < kw.size() && kw.substr(0, rest.size()) == rest);
    }
    if (may_start_keyword) {
      held_.assign(rest);
      break;
    }
    out += text[i++];
  }
  return out;
}

std::string SectionMarkerFilter::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace procpool
