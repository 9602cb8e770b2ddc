// Columns of `procpool map` inputs: the hand-written CSV parser (RFC 4180), --colsep's Perl
// split semantics and --trim.
#include "cli/columns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace procpool {
namespace {

using Fields = std::vector<std::string>;

TEST(MapCsv, PlainAndQuotedFields) {
  EXPECT_EQ(parse_csv_record("a,b,c", ','), (Fields{"a", "b", "c"}));
  EXPECT_EQ(parse_csv_record(R"("1 big, 2 small","2""x4"" plank",12.34)", ','),
            (Fields{"1 big, 2 small", "2\"x4\" plank", "12.34"}));
  EXPECT_EQ(parse_csv_record(R"("")", ','), (Fields{""}));
  EXPECT_EQ(parse_csv_record(R"("""")", ','), (Fields{"\""}));
  EXPECT_EQ(parse_csv_record(R"(a,"",b)", ','), (Fields{"a", "", "b"}));
}

TEST(MapCsv, EmptyFieldsAndRecords) {
  EXPECT_EQ(parse_csv_record("", ','), (Fields{""}));
  EXPECT_EQ(parse_csv_record(",", ','), (Fields{"", ""}));
  EXPECT_EQ(parse_csv_record("a,,b,", ','), (Fields{"a", "", "b", ""}));
  EXPECT_EQ(parse_csv_record(",x", ','), (Fields{"", "x"}));
}

TEST(MapCsv, LineBreaksAndSeparatorsInsideQuotes) {
  EXPECT_EQ(parse_csv_record("\"Start\nLine 2\";value 2", ';'),
            (Fields{"Start\nLine 2", "value 2"}));
  EXPECT_EQ(parse_csv_record("\"a\r\nb\",c", ','), (Fields{"a\r\nb", "c"}));
  EXPECT_EQ(parse_csv_record("\"a;b\";\"c,d\"", ';'), (Fields{"a;b", "c,d"}));
  EXPECT_EQ(parse_csv_record("a\tb c\t\"d\te\"", '\t'), (Fields{"a", "b c", "d\te"}));
}

TEST(MapCsv, CrlfLineEndIsDroppedSpacesAreKept) {
  EXPECT_EQ(parse_csv_record("a,b\r", ','), (Fields{"a", "b"}));
  EXPECT_EQ(parse_csv_record("a,\"b\"\r", ','), (Fields{"a", "b"}));
  EXPECT_EQ(parse_csv_record(" a , b ", ','), (Fields{" a ", " b "}));
  // Bytes are bytes: invalid UTF-8, shell syntax, NUL.
  EXPECT_EQ(parse_csv_record(std::string("\xff,$(x),`y`,\0", 12), ','),
            (Fields{"\xff", "$(x)", "`y`", std::string(1, '\0')}));
}

TEST(MapCsv, MalformedRecordsNameTheFieldAndTheProblem) {
  struct Case {
    std::string record;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"a,\"b", "field 2: the quoted field is not closed"},
           {"a,\"b\"c,d", "field 2: 'c' after the closing quote"},
           {"a,b\"c\",d", "field 2: a '\"' inside a field"},
           {" \"b\"", "field 1: a '\"' inside a field"},
       }) {
    try {
      parse_csv_record(c.record, ',');
      ADD_FAILURE() << c.record << " was taken";
    } catch (const CsvError& e) {
      EXPECT_NE(std::string(e.what()).find(c.mentions), std::string::npos) << e.what();
    }
  }
}

TEST(MapCsv, InsideQuotesIsTheParityOfQuotes) {
  EXPECT_FALSE(csv_inside_quotes("a,b"));
  EXPECT_TRUE(csv_inside_quotes("a,\"b"));
  EXPECT_FALSE(csv_inside_quotes("a,\"b\"\"c\""));
  EXPECT_TRUE(csv_inside_quotes("\"Start of field 1 with newline"));
}

TEST(MapColsep, PlainTextSeparator) {
  ColumnSplitter comma(",");
  EXPECT_EQ(comma.split("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(comma.split("a,,b,"), (Fields{"a", "", "b", ""}));
  EXPECT_EQ(comma.split(",x"), (Fields{"", "x"}));
  EXPECT_EQ(comma.split(""), (Fields{""}));  // GNU parallel: one empty column
  EXPECT_EQ(comma.split("no separator"), (Fields{"no separator"}));
  EXPECT_EQ(ColumnSplitter("::").split("a::b:c"), (Fields{"a", "b:c"}));
  EXPECT_EQ(ColumnSplitter("\t").split("a\tb"), (Fields{"a", "b"}));
}

TEST(MapColsep, RegexSplitsAsPerl) {
  EXPECT_EQ(ColumnSplitter("\\s+").split("a  b\tc"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(ColumnSplitter("\\t").split("a\tb"), (Fields{"a", "b"}));
  EXPECT_EQ(ColumnSplitter("[,;]").split("a,b;c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(ColumnSplitter("-").split("A-B"), (Fields{"A", "B"}));
  // An empty match splits between characters, never before the first: Perl's split /|/.
  EXPECT_EQ(ColumnSplitter("|").split("a|b"), (Fields{"a", "|", "b"}));
  EXPECT_EQ(ColumnSplitter("x*").split("axxb"), (Fields{"a", "b"}));
  // Every character matches: empty columns (GNU parallel's --colsep . gives '' '').
  EXPECT_EQ(ColumnSplitter(".").split("a.b"), (Fields{"", "", "", ""}));
  EXPECT_EQ(ColumnSplitter("^a").split("aab"), (Fields{"", "ab"}));
}

TEST(MapColsep, InvalidRegexIsRefused) {
  EXPECT_THROW(ColumnSplitter("("), std::invalid_argument);
  EXPECT_THROW(ColumnSplitter("[a"), std::invalid_argument);
}

TEST(MapTrim, EachSideAsAsked) {
  auto trimmed = [](std::string s, Trim how) {
    trim(s, how);
    return s;
  };
  EXPECT_EQ(trimmed(" a bc ", Trim::kNone), " a bc ");
  EXPECT_EQ(trimmed(" a bc ", Trim::kLeft), "a bc ");
  EXPECT_EQ(trimmed(" a bc ", Trim::kRight), " a bc");
  EXPECT_EQ(trimmed(" \t\r\n\f\va bc \t", Trim::kBoth), "a bc");
  EXPECT_EQ(trimmed("   ", Trim::kBoth), "");
  EXPECT_EQ(parse_trim("rl"), Trim::kBoth);
  EXPECT_THROW(parse_trim("x"), std::invalid_argument);
}

}  // namespace
}  // namespace procpool
