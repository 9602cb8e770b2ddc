// What the job-file parser says about bad input, for the tests of its messages.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/job_file.h"

namespace procpool::testing {

// Passes when `needle` occurs in `message`; on failure shows both.
inline ::testing::AssertionResult contains(const std::string& message, const std::string& needle) {
  if (message.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << message << "\" does not contain \"" << needle << '"';
}

// The InputError message for `text`, or a test failure when it parses.
inline std::string error_of(std::string_view text, const std::string& source = "jobs.json") {
  try {
    auto jobs = parse_job_file(text, source);
    ADD_FAILURE() << "expected InputError for:\n" << text << "\nparsed " << jobs.size() << " jobs";
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
  }
  return "";
}

}  // namespace procpool::testing
