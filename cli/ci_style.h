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

// GitLab: rewrites a job's own `section_start:` and `section_end:` to `section_start[job]:`
// and `section_end[job]:`, so they show in the log as written but no longer match GitLab's
// marker syntax and cannot open or close a section. Fed the bytes written to one descriptor,
// in order; a keyword split across two pieces is still found.
class SectionMarkerFilter {
 public:
  // What to write for `bytes`: everything but a tail that may be the start of a keyword.
  std::string feed(std::string_view bytes);
  // The held-back tail, at the end of a job's output.
  std::string flush();

 private:
  std::string held_;
};

}  // namespace procpool
