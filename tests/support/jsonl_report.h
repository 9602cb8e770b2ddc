// procpool's --format jsonl output, read back: the job records by name and the summary.
// Header-only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process_checks.h"

namespace procpool::testing {

struct Report {
  std::map<std::string, nlohmann::json> jobs;  // by job name
  nlohmann::json summary;                      // the {"type":"summary"} record (null if none)
  size_t job_records = 0;                      // job lines seen (a duplicate would show here)
};

// Fails the test (and returns what parsed) when a line is not JSON.
inline Report parse_report(const std::string& out) {
  Report r;
  std::vector<nlohmann::json> records;
  EXPECT_NO_THROW(records = parse_json_lines(out)) << out.substr(0, 2000);
  for (const auto& rec : records) {
    if (rec.value("type", "") == "summary") {
      r.summary = rec;
    } else {
      ++r.job_records;
      r.jobs[rec.at("name").get<std::string>()] = rec;
    }
  }
  return r;
}

}  // namespace procpool::testing
