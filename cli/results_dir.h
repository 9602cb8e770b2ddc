// --results DIR: every job's stdout, stderr and record in a folder of its own, byte for byte,
// for CI artifacts and for looking at one job's output without the others'. Safe in a folder
// other users can write to (/tmp, a shared CI cache): everything is created relative to DIR's
// descriptor with O_NOFOLLOW, so nothing planted there in advance is ever written through.
#pragma once

#include <sys/types.h>

#include <string>

#include "cli/report.h"
#include "common/fd.h"

namespace procpool {

class ResultsDirRecorder : public Recorder {
 public:
  // Opens `dir`, creating it and its missing parents (0755, or 0700 inside a folder others can
  // write to, masked by the umask), and keeps its descriptor. A symlink among the components
  // of `dir` is followed only when it belongs to procpool's user or to the owner of the folder
  // it sits in. UsageError when it cannot be opened, is not a folder or cannot be written to.
  explicit ResultsDirRecorder(std::string dir);
  // Writes DIR/<folder>/stdout, stderr, then meta.json last (whole, renamed into place): a
  // folder holding meta.json is complete. An earlier run's folder of procpool's user is reused,
  // its files replaced (unlinked and created anew, never opened, so a link in their place is
  // never written through). A symlink, a non-folder or a folder of another user in the job
  // folder's place is refused: runtime_error naming it, nothing written. A write that fails (a
  // full disk) keeps what was written, renames the folder NNNN-name.incomplete (replacing an
  // older mark) and throws runtime_error naming the folder and the error; the next job is
  // tried as usual. Jobs skipped by --resume keep the folder of the run that succeeded.
  void job(const Future& f) override;
  void finish(const Summary&) override {}
  std::string label() const override { return "--results " + dir_; }

 private:
  // DIR/name, made if missing, opened with O_NOFOLLOW; refused unless a folder of our user.
  Fd open_job_folder(const std::string& name) const;

  std::string dir_;         // as given, for messages
  Fd dirfd_;                // DIR, opened once
  mode_t folder_mode_ = 0;  // for job folders: 0755, or 0700 when others can write in DIR
  mode_t file_mode_ = 0;    // for their files: 0644, or 0600 likewise
};

// A job's folder name: its id, zero-padded to 4 digits so folders sort in input order, a dash,
// then its name made safe: bytes that are not letters, digits, one of "+,-.=@_" or part of a
// valid UTF-8 character (slashes, NUL, controls, spaces, quotes, ...) become "_" (runs of them
// one "_"), cut to at most 100 bytes on a character boundary. The id keeps names unique
// (duplicate map inputs, names equal once made safe) and the folder never `.`, `..` or empty.
std::string results_folder_name(uint64_t id, const std::string& name);

}  // namespace procpool
