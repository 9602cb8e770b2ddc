// CI log folding: each job's block becomes a collapsible section in the CI's web log, and
// failures become annotations. `--ci auto` picks the style from the environment the CI sets.
#pragma once

#include <string>
#include <string_view>

#include <procpool/job.h>

namespace procpool {

enum class CiStyle { kPlain, kGithub, kGitlab };

// "auto" | "github" | "gitlab" | "plain"; auto: GITHUB_ACTIONS=true -> github,
// GITLAB_CI=true -> gitlab, else plain. Throws UsageError for other values.
CiStyle parse_ci_style(const std::string& text);

// The marker lines around a job's block (each ends with a newline, or is empty for plain).
// `header` is procpool's header line for the job, which becomes the section's title. GitLab's
// markers carry the job's own start and end times, so each section shows how long it ran.
std::string ci_block_start(CiStyle style, const Job& job, const Result& r,
                           const std::string& header);
std::string ci_block_end(CiStyle style, const Job& job, const Result& r);

// GitHub's escaping of a workflow command's message (`property`: of a property's value).
// `s` is already visible() text.
std::string github_escape(const std::string& s, bool property);

// A fresh, unguessable token for `::stop-commands::TOKEN` ... `::TOKEN::`: 128 bits from the
// kernel's random source, as 32 hex digits. One per job's block: the token is written only
// after its job has ended, so not even that job can have read it.
std::string stop_commands_token();

// Rewrites, visibly, what in a job's output the CI would take for procpool's own markers:
// - GitLab: `section_start:` and `section_end:` anywhere become `section_start[job]:` and
//   `section_end[job]:`, which no longer match GitLab's marker syntax, so a job can neither
//   open nor close a section;
// - GitHub: a line that starts with `##[` (the runner's own log syntax, which the web log folds
//   and colours on: `##[group]`, `##[endgroup]`, `##[error]`) starts with `#[job]#[` instead.
//   Workflow commands (`::...::`) are stopped by ::stop-commands:: instead, and kept as they are.
// Fed the bytes written to one descriptor, in order; a marker split across pieces is still found.
class JobMarkerFilter {
 public:
  explicit JobMarkerFilter(CiStyle style) : style_(style) {}
  // What to write for `bytes`: everything but a tail that may be the start of a marker.
  std::string feed(std::string_view bytes);
  // The held-back tail, at the end of a job's output.
  std::string flush();

 private:
  CiStyle style_;
  std::string held_;
  bool line_start_ = true;  // the next byte starts a line
};

}  // namespace procpool
