// Durations as people type them, and back.
#include "common/duration.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace procpool {
namespace {

TEST(ParseDuration, AcceptedForms) {
  struct Case {
    std::string text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{
           {"30", 30'000},
           {"1.5s", 1'500},
           {"200ms", 200},
           {"2m", 120'000},
           {"1h", 3'600'000},
           {"0", 0},
           {"0s", 0},
           {"0.5", 500},
           {"1.5m", 90'000},
           {"0.25h", 900'000},
           {"10s", 10'000},
           {"1ms", 1},
       }) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << '"' << c.text << '"';
    EXPECT_EQ(d->count(), c.ms) << '"' << c.text << '"';
  }
}

TEST(ParseDuration, RejectedForms) {
  for (const std::string text :
       {"-1", "-1s",   "-0.5ms", "abc", "",     "5x",   " 5",  "5 ",    "5 s",  "1e400", "s",
        "ms", "5sec",  "5min",   "nan", "inf",  "infs", "--1", "5.5.5", "1m30", "1h30",  "1h 2m",
        "h1", "1h-2m", "1.2.3s", "+5",  "0x10", "1e3s", "5ss", "1d.",   "1hm"}) {
    auto d = parse_duration(text);
    EXPECT_FALSE(d.has_value()) << '"' << text << "\" parsed as " << (d ? d->count() : 0) << "ms";
  }
}

// GNU parallel's postfixes, as its man page and its --timeout check take them: numbers with
// d, h, m, s, combined in any order, any case.
TEST(ParseDuration, GnuParallelPostfixes) {
  struct Case {
    std::string text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{
           {"1d", 86'400'000},
           {"1h2m3s", 3'723'000},
           {"1d3.5h16.6m4s", 100'000'000},
           {"3.5h", 12'600'000},
           {"1h30m", 5'400'000},
           {"2m30s", 150'000},
           {"1H", 3'600'000},
           {"5S", 5'000},
           {"2D", 172'800'000},
           {"1s2s", 3'000},  // GNU adds them up
           {"30s1m", 90'000},
           {"1s500ms", 1'500},
           {"1m5ms", 60'005},
           {"0.5d", 43'200'000},
           {"200MS", 200},
       }) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << '"' << c.text << '"';
    EXPECT_EQ(d->count(), c.ms) << '"' << c.text << '"';
  }
}

TEST(ParseDuration, HugeValuesRejectedNotOverflowed) {
  EXPECT_FALSE(parse_duration("1e300").has_value());
  EXPECT_FALSE(parse_duration("1e20h").has_value());
  EXPECT_TRUE(parse_duration("1000000h").has_value());
  EXPECT_FALSE(parse_duration("99999999999d").has_value());
  EXPECT_FALSE(parse_duration(std::string(400, '9') + "s").has_value());
}

TEST(FormatDuration, ShortestSpelling) {
  EXPECT_EQ(format_duration(Millis(0)), "0s");
  EXPECT_EQ(format_duration(Millis(1)), "1ms");
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(Millis(999)), "999ms");
  EXPECT_EQ(format_duration(Millis(1'000)), "1s");
  EXPECT_EQ(format_duration(Millis(1'500)), "1.5s");
  EXPECT_EQ(format_duration(Millis(1'001)), "1.001s");
  EXPECT_EQ(format_duration(Millis(30'000)), "30s");
  EXPECT_EQ(format_duration(Millis(90'000)), "90s");
  EXPECT_EQ(format_duration(Millis(120'000)), "2m");
  EXPECT_EQ(format_duration(Millis(5'400'000)), "90m");
  EXPECT_EQ(format_duration(Millis(3'600'000)), "1h");
  EXPECT_EQ(format_duration(Millis(7'200'000)), "2h");
  EXPECT_EQ(format_duration(Millis(86'400'000)), "1d");
  EXPECT_EQ(format_duration(Millis(90'000'000)), "25h");
}

TEST(FormatDuration, IsExactForLongDurationsWithMilliseconds) {
  // "the shortest exact spelling": parsing the text must give back the same duration.
  EXPECT_EQ(format_duration(Millis(1'234'567)), "1234.567s");
  EXPECT_EQ(format_duration(Millis(1'000'001)), "1000.001s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t ms :
       {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{999}, int64_t{1'000}, int64_t{1'500},
        int64_t{12'345}, int64_t{59'999}, int64_t{60'000}, int64_t{61'000}, int64_t{123'456},
        int64_t{3'599'999}, int64_t{3'600'000}, int64_t{86'400'000}, int64_t{86'400'001}}) {
    std::string text = format_duration(Millis(ms));
    auto back = parse_duration(text);
    ASSERT_TRUE(back.has_value()) << ms << "ms formatted as \"" << text << '"';
    EXPECT_EQ(back->count(), ms) << ms << "ms formatted as \"" << text << '"';
  }
}

}  // namespace
}  // namespace procpool
