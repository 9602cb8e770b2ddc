#include "cli/ci_outputs.h"

#include <filesystem>

#include <fmt/format.h>

#include "cli/flags.h"
#include "cli/joblog.h"
#include "cli/junit.h"
#include "cli/results_dir.h"

namespace procpool {

namespace {

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  auto pa = std::filesystem::weakly_canonical(std::filesystem::absolute(a, ea), ea);
  auto pb = std::filesystem::weakly_canonical(std::filesystem::absolute(b, eb), eb);
  return !ea && !eb && pa == pb;
}

// Two reports written to one file would interleave into garbage: refuse before running.
void check_distinct(const RunOptions& o) {
  std::vector<std::pair<const char*, std::string>> files;
  if (!o.junit.empty()) files.emplace_back("--junit", o.junit);
  if (!o.joblog.empty()) {
    files.emplace_back("--joblog", o.joblog[0] == '+' ? o.joblog.substr(1) : o.joblog);
  }
  if (!o.journal.empty()) files.emplace_back("--journal", o.journal);
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t j = i + 1; j < files.size(); ++j) {
      if (same_file(files[i].second, files[j].second)) {
        throw UsageError(fmt::format("{} and {} both name {}: give each its own file",
                                     files[i].first, files[j].first, files[i].second));
      }
    }
  }
}

}  // namespace

std::string batch_name(const RunOptions& o) {
  bool named = o.input != RunOptions::Input::kMap && o.file != "-" && !o.file.empty();
  // The stem: a classname (which is this name too) with a dot reads as package.Class in
  // Jenkins, so `jobs.json` would show as class `json` of package `jobs`.
  return named ? std::filesystem::path(o.file).stem().string() : "procpool";
}

void add_ci_recorders(const RunOptions& o, std::vector<std::unique_ptr<Recorder>>& out,
                      AlreadyDone& already_done) {
  const char* resume_flag = o.resume ? "--resume" : o.resume_failed ? "--resume-failed" : nullptr;
  if (resume_flag && o.journal.empty()) {
    throw UsageError(fmt::format(
        "{} needs --journal FILE: the journal an earlier run wrote is where procpool finds "
        "which jobs already succeeded",
        resume_flag));
  }
  check_distinct(o);
  // The journal first: it is what a rerun depends on.
  if (!o.journal.empty()) {
    auto journal = std::make_unique<JournalRecorder>(o.journal);
    if (resume_flag) already_done = journal->already_succeeded();
    out.push_back(std::move(journal));
  }
  if (!o.joblog.empty()) out.push_back(std::make_unique<JoblogRecorder>(o.joblog));
  if (!o.results_dir.empty()) out.push_back(std::make_unique<ResultsDirRecorder>(o.results_dir));
  if (!o.junit.empty()) {
    // Each testcase's classname is the suite's name: dorny/test-reporter makes a level of
    // every classname that differs from its suite's name, and GitLab shows the classname as
    // the test's suite, so this shows one level per batch in both.
    out.push_back(std::make_unique<JunitRecorder>(o.junit, batch_name(o), batch_name(o)));
  }
}

}  // namespace procpool
