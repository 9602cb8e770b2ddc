#include "cli/ci_annotations.h"

#include <algorithm>

#include <fmt/format.h>

#include "cli/ci_style.h"
#include "cli/report.h"
#include "common/visible_text.h"

namespace procpool {

namespace {

bool worse(const auto& a, const auto& b) {
  return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
}

}  // namespace

void Annotations::add(const Job& job, const Result& r, const std::string& header) {
  int rank = badness_rank(r.status);
  if (rank < 0) return;
  ++seen_;
  Entry e{rank, seen_, github_escape(visible(job.name), true),
          github_escape(visible(header), false)};
  if (kept_.size() == kShown && !worse(e, kept_.back())) return;
  kept_.insert(std::upper_bound(kept_.begin(), kept_.end(), e, worse<Entry, Entry>), std::move(e));
  if (kept_.size() > kShown) kept_.pop_back();
}

std::string Annotations::lines(const std::string& where_listed) const {
  std::string out;
  for (const auto& e : kept_) out += fmt::format("::error title={}::{}\n", e.title, e.message);
  if (seen_ > kept_.size()) {
    uint64_t more = seen_ - kept_.size();
    out += fmt::format("::error title=procpool::{} more job{} did not succeed; see {}\n", more,
                       more == 1 ? "" : "s", github_escape(where_listed, false));
  }
  return out;
}

}  // namespace procpool
