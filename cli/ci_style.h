// CI log folding: each job's block becomes a collapsible section in the CI's web log, and
// failures become annotations. `--ci auto` picks the style from the environment the CI sets.
#pragma once

#include <string>

#include <procpool/job.h>

namespace procpool {

enum class CiStyle { kPlain, kGithub, kGitlab };

// "auto" | "github" | "gitlab" | "plain"; auto: GITHUB_ACTIONS=true -> github,
// GITLAB_CI=true -> gitlab, else plain. Throws UsageError for other values.
CiStyle parse_ci_style(const std::string& text);

// The marker lines around a job's block (each ends with a newline, or is empty for plain).
// `header` is procpool's header line for the job, which becomes the section's title.
std::string ci_block_start(CiStyle style, const Job& job, const std::string& header);
std::string ci_block_end(CiStyle style, const Job& job, const Result& r, const std::string& header);

}  // namespace procpool
