// The hand-built JSON procpool writes (JSON lines, journal, trace, meta.json, report data): every
// text it makes must parse back to the same values with a real parser.
#include "cli/json_writer.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using procpool::json_number;
using procpool::json_quote;
using procpool::JsonArray;
using procpool::JsonObject;

TEST(JsonWriter, ObjectKeepsOrderAndTypes) {
  JsonObject o;
  o.add("b", 1).add("a", "x").add("t", true).add("n", nullptr).add("d", 0.25);
  EXPECT_EQ(o.text(), R"({"b":1,"a":"x","t":true,"n":null,"d":0.25})");
  auto back = nlohmann::json::parse(o.text());
  EXPECT_EQ(back["b"], 1);
  EXPECT_EQ(back["a"], "x");
  EXPECT_TRUE(back["n"].is_null());
}

TEST(JsonWriter, OptionalsAreNullWhenEmpty) {
  std::optional<int> none, three = 3;
  std::optional<std::string> name = std::string("w");
  EXPECT_EQ(JsonObject().add("x", none).add("y", three).add("z", name).text(),
            R"({"x":null,"y":3,"z":"w"})");
}

TEST(JsonWriter, NumbersReadBackExactlyAndStayDoubles) {
  for (double v : {0.0, 1.0, 2.5, 0.1, 1e-7, 123456789.123, 1e300, -0.31}) {
    std::string text = json_number(v);
    auto back = nlohmann::json::parse(text);
    EXPECT_TRUE(back.is_number_float()) << text;
    EXPECT_EQ(back.get<double>(), v) << text;
  }
  EXPECT_EQ(json_number(2.0), "2.0");
  EXPECT_EQ(json_number(std::nan("")), "null");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(JsonObject().add("big", int64_t{1} << 62).text(), R"({"big":4611686018427387904})");
}

TEST(JsonWriter, StringsAreEscapedAndInvalidUtf8Replaced) {
  std::string nasty = "q\"b\\n\nt\tesc\x1b nul";
  nasty += '\0';
  nasty += "bad\xff end \xc3\xa9";
  std::string text = JsonObject().add(nasty, nasty).text();
  auto back = nlohmann::json::parse(text);  // throws if the text is not valid JSON
  std::string expected = nasty;
  expected.replace(expected.find("\xff"), 1, "\xEF\xBF\xBD");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.begin().key(), expected);
  EXPECT_EQ(back.begin().value(), expected);
  EXPECT_EQ(json_quote("\x1b"), "\"\\u001b\"");
}

TEST(JsonWriter, NestingArraysAndPretty) {
  JsonArray bars;
  bars.add(JsonArray().add(1).add("a").add(0.5)).add(JsonObject().add("k", "v"));
  JsonObject o;
  o.add("cmd", std::vector<std::string>{"echo", "hi"}).add("bars", bars).add("empty", JsonArray());
  o.remove("missing");
  EXPECT_EQ(o.text(), R"({"cmd":["echo","hi"],"bars":[[1,"a",0.5],{"k":"v"}],"empty":[]})");
  std::string pretty = o.pretty();
  EXPECT_EQ(nlohmann::json::parse(pretty), nlohmann::json::parse(o.text()));
  EXPECT_NE(pretty.find("\n  \"bars\": "), std::string::npos) << pretty;
  o.remove("bars");
  EXPECT_EQ(o.text(), R"({"cmd":["echo","hi"],"empty":[]})");
  EXPECT_EQ(JsonObject().pretty(), "{}");
}
