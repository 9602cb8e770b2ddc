#include "cli/ci_style.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "cli/flags.h"
#include "common/fd.h"
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
    if (n < 0) break;  // no getrandom (an old seccomp profile): the device, below
    got += static_cast<size_t>(n);
  }
  if (got < sizeof bytes) {
    Fd urandom(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
    got = 0;
    while (urandom && got < sizeof bytes) {
      ssize_t n = ::read(urandom.get(), bytes + got, sizeof bytes - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
  }
  if (got < sizeof bytes) {
    // Neither: the clock and this process, mixed. Weaker, but no job reads our output, so
    // the token still cannot be known to one; a batch is never stopped for want of it.
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    static uint64_t counter = 0;
    uint64_t mix[2] = {static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 30),
                       (static_cast<uint64_t>(::getpid()) << 32) ^ ++counter};
    for (auto& m : mix) m = (m ^ (m >> 31)) * 0x9e3779b97f4a7c15ull;
    std::memcpy(bytes, mix, sizeof bytes);
  }
  std::string token;
  for (unsigned char b : bytes) token += fmt::format("{:02x}", b);
  return token;
}

std::string JobMarkerFilter::feed(std::string_view bytes) {
  if (style_ == CiStyle::kPlain) return std::string(bytes);
  struct Rule {
    std::string_view marker, replacement;
    bool at_line_start;
  };
  static constexpr Rule kGitlab[] = {{"section_start:", "section_start[job]:", false},
                                     {"section_end:", "section_end[job]:", false}};
  static constexpr Rule kGithub[] = {{"##[", "#[job]#[", true}};
  std::span<const Rule> rules(style_ == CiStyle::kGitlab ? std::span<const Rule>(kGitlab)
                                                         : std::span<const Rule>(kGithub));
  // Bytes worth a look: where a marker may start, and line ends (for the anchored ones).
  std::string_view interesting = style_ == CiStyle::kGitlab ? "s" : "#\n";
  std::string text = std::move(held_);
  held_.clear();
  text.append(bytes);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t next = text.find_first_of(interesting, i);
    if (next == std::string::npos) next = text.size();
    if (next > i) {
      out.append(text, i, next - i);
      line_start_ = text[next - 1] == '\n';
      i = next;
      if (i == text.size()) break;
    }
    std::string_view rest(text.data() + i, text.size() - i);
    bool matched = false, may_match = false;
    for (const Rule& r : rules) {
      if (r.at_line_start && !line_start_) continue;
      if (rest.substr(0, r.marker.size()) == r.marker) {
        out.append(r.replacement);
        i += r.marker.size();
        line_start_ = false;
        matched = true;
        break;
      }
      may_match =
          may_match || (rest.size() < r.marker.size() && r.marker.substr(0, rest.size()) == rest);
    }
    if (matched) continue;
    if (may_match) {
      held_.assign(rest);  // a later piece may complete it into a marker
      break;
    }
    line_start_ = text[i] == '\n';
    out += text[i++];
  }
  return out;
}

std::string JobMarkerFilter::flush() {
  std::string out;
  out.swap(held_);
  if (!out.empty()) line_start_ = out.back() == '\n';
  return out;
}

}  // namespace procpool
