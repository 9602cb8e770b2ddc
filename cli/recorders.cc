#include "cli/recorders.h"

#include "common/log.h"

namespace procpool {

Recorders::Recorders(std::vector<std::unique_ptr<Recorder>> recorders) {
  for (auto& r : recorders) files_.push_back(File{std::move(r)});
}

void Recorders::failure(File& file, const std::exception& e) {
  if (!file.failed) log::error("{}; procpool will exit with status 1", e.what());
  file.failed = true;
}

void Recorders::job(const Future& f) {
  for (File& file : files_) {
    ++file.jobs;
    try {
      file.recorder->job(f);
    } catch (const std::exception& e) {
      ++file.missing;
      failure(file, e);
    }
  }
}

void Recorders::finish(const Summary& s) {
  for (File& file : files_) {
    std::string end_error;  // what finishing the file ran into, after earlier failures
    try {
      file.recorder->finish(s);
    } catch (const std::exception& e) {
      if (file.failed) end_error = e.what();
      failure(file, e);
    }
    // One closing line at most: how much is missing, and what became of the file in the end.
    if (!end_error.empty() && file.missing > 0) {
      log::error("{} ({} of {} jobs could not be recorded in it)", end_error, file.missing,
                 file.jobs);
    } else if (!end_error.empty()) {
      log::error("{}", end_error);
    } else if (file.missing > 1) {
      log::error("{}: {} of {} jobs could not be recorded in it (the first failure is above)",
                 file.recorder->label(), file.missing, file.jobs);
    }
  }
}

bool Recorders::failed() const {
  for (const File& file : files_) {
    if (file.failed) return true;
  }
  return false;
}

}  // namespace procpool
