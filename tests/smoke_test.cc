#include <gtest/gtest.h>

#include "tests/support/e2e.h"

using namespace procpool::testing;

TEST(Smoke, RunsAJobFile) {
  auto r = run_procpool({"run", "-"}, R"([{"name": "hi", "cmd": "echo hello"}])");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
}
