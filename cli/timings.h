// How long jobs took in earlier runs, for --shard (to split a batch into shards of equal time)
// and longest-first ordering (so the long jobs do not start last and stretch the batch's end).
// The figures come from procpool's own journal (--journal) or from a JUnit XML report, procpool's
// or any other tool's, so a CI that already keeps test reports can split by them.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <procpool/job.h>

namespace procpool {

class Timings {
 public:
  // --timings FILE: a procpool journal (JSON lines) or a JUnit XML report, told apart by content
  // (its first non-space byte '<' means XML). UsageError naming the file and what is wrong when
  // it is missing, unreadable, neither format, or holds a journal line that is not a record (a
  // record cut short by a killed run is only skipped). Each call adds a file; for a job both know,
  // the later file's figure replaces the earlier one's.
  void load_file(const std::string& path);
  // --journal FILE: the records it holds from earlier runs, when it exists. Lines that are not
  // records, or a file that cannot be read, are skipped silently: the journal recorder, which
  // reads the same file, says what is wrong with it.
  void load_journal_if_present(const std::string& path);
  // How long `job` took, in seconds, as the latest loaded file that knows it says; nullopt when
  // none does.
  std::optional<double> seconds(const Job& job) const;
  // No file loaded gave a single figure.
  bool empty() const;

 private:
  // What one file says. A journal fills by_identity and by_name; a JUnit report fills the others.
  struct Source {
    std::unordered_map<std::string, double> by_identity;   // job_identity(job) -> seconds
    std::unordered_map<std::string, double> by_name;       // job or testcase name -> seconds
    std::unordered_map<std::string, double> by_qualified;  // "classname.name" -> seconds
    std::unordered_map<std::string, double> by_file;       // file attribute -> summed seconds
    std::unordered_map<std::string, double> by_class;      // classname -> summed seconds
    bool empty() const;
    // `identity` is job_identity(job), worked out once for all sources.
    std::optional<double> find(const Job& job, const std::string& identity) const;
  };
  friend struct TimingsParser;  // fills a Source from a file (timings.cc)
  void add(Source source);

  std::vector<Source> sources_;  // in load order: the last that knows a job wins
};

}  // namespace procpool
