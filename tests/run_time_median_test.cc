// The median run time that --timeout N% is relative to: GNU parallel's lower median, within
// half a percent, in bounded memory.
#include "common/run_time_median.h"

#include <gtest/gtest.h>

#include <vector>

namespace procpool {
namespace {

void expect_near_percent(std::optional<double> got, double want) {
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(*got, want, want * 0.005 + 1e-9) << "want " << want;
}

TEST(RunTimeMedian, NoneBeforeTheFirst) {
  RunTimeMedian m;
  EXPECT_FALSE(m.median().has_value());
  EXPECT_EQ(m.count(), 0u);
}

TEST(RunTimeMedian, TheMiddleOneOrTheLowerOfTheTwo) {
  RunTimeMedian m;
  m.add(0.1);
  expect_near_percent(m.median(), 0.1);
  m.add(10);
  expect_near_percent(m.median(), 0.1);  // lower of two, as GNU parallel takes it
  m.add(2);
  expect_near_percent(m.median(), 2);
  m.add(3);
  expect_near_percent(m.median(), 2);
  m.add(0.5);
  expect_near_percent(m.median(), 2);
  EXPECT_EQ(m.count(), 5u);
}

// GNU parallel sorts run times as text, so its median of 9, 10 and 100 is 100; this is 10.
TEST(RunTimeMedian, OrdersByValueNotByText) {
  RunTimeMedian m;
  for (double s : {9.0, 10.0, 100.0}) m.add(s);
  expect_near_percent(m.median(), 10);
}

TEST(RunTimeMedian, ExtremesStayInRange) {
  RunTimeMedian m;
  m.add(0);
  ASSERT_TRUE(m.median().has_value());
  EXPECT_GT(*m.median(), 0);
  EXPECT_LT(*m.median(), 1e-5);
  RunTimeMedian big;
  big.add(1e12);  // past the last bucket: counted there, not lost
  ASSERT_TRUE(big.median().has_value());
  EXPECT_GT(*big.median(), 1e6);
}

TEST(RunTimeMedian, AMillionRunTimesInFixedMemory) {
  RunTimeMedian m;
  for (int i = 1; i <= 1'000'000; ++i) m.add(i * 1e-3);  // 1 ms .. 1000 s
  expect_near_percent(m.median(), 500.0);
  static_assert(sizeof(RunTimeMedian) < 32 * 1024);
}

}  // namespace
}  // namespace procpool
