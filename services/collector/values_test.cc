#include "services/collector/values.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::IsOk;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST(NormalizeHeader, IgnoresCaseSpacesAndSeparators) {
  EXPECT_EQ(NormalizeHeader("campaignId"), "campaignid");
  EXPECT_EQ(NormalizeHeader("campaign_id"), "campaignid");
  EXPECT_EQ(NormalizeHeader("Campaign ID"), "campaignid");
  EXPECT_EQ(NormalizeHeader(" CAMPAIGN-ID "), "campaignid");
  EXPECT_EQ(NormalizeHeader("\xEF\xBB\xBFid"), "id");
}

TEST(TrimValue, StripsWhitespaceAndNoBreakSpaces) {
  EXPECT_EQ(TrimValue("  a b \t"), "a b");
  EXPECT_EQ(TrimValue("\xC2\xA0x\xC2\xA0"), "x");
  EXPECT_EQ(TrimValue("   "), "");
}

TEST(IsMissing, KnowsTheMarkers) {
  for (const char* m : {"", "  ", "N/A", "na", "#N/A", "NULL", "nil", "None", "NaN", "-", "--", "?"}) {
    EXPECT_TRUE(IsMissing(m)) << m;
  }
  for (const char* m : {"0", "n", "nothing", "a"}) EXPECT_FALSE(IsMissing(m)) << m;
}

TEST(IsValidUtf8, AcceptsUtf8RefusesBadBytesAndNul) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("caf\xE9"));               // Latin-1
  EXPECT_FALSE(IsValidUtf8(std::string("a\0b", 3)));  // NUL
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));              // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));          // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));              // truncated
}

TEST(SanitizeUtf8, ReplacesBadBytesAndCutsAtCharacterBoundaries) {
  EXPECT_EQ(SanitizeUtf8("caf\xE9!", 100), "caf\xEF\xBF\xBD!");
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3), 100),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeUtf8("\xC3\xA9\xC3\xA9", 3), "\xC3\xA9");  // never half a character
  EXPECT_EQ(SanitizeUtf8("plain", 3), "pla");
}

TEST(ParseCount, AcceptsSpreadsheetForms) {
  EXPECT_EQ(*ParseCount("42"), 42);
  EXPECT_EQ(*ParseCount(" +42 "), 42);
  EXPECT_EQ(*ParseCount("1,234"), 1234);
  EXPECT_EQ(*ParseCount("1 234 567"), 1234567);
  EXPECT_EQ(*ParseCount("1_000"), 1000);
  EXPECT_EQ(*ParseCount("12.0"), 12);
  EXPECT_EQ(*ParseCount("1.2K"), 1200);
  EXPECT_EQ(*ParseCount("3m"), 3000000);
  EXPECT_EQ(*ParseCount("2.5 M"), 2500000);
  EXPECT_EQ(*ParseCount("1e3"), 1000);
  EXPECT_EQ(*ParseCount("0"), 0);
  EXPECT_EQ(*ParseCount("007"), 7);
}

TEST(ParseCount, RefusesWithReasons) {
  EXPECT_NE(ParseCount("-5").status().message().find("negative"), std::string::npos);
  EXPECT_NE(ParseCount("2.5").status().message().find("whole"), std::string::npos);
  EXPECT_NE(ParseCount("abc").status().message().find("not a number"), std::string::npos);
  EXPECT_FALSE(ParseCount("12abc").ok());
  EXPECT_FALSE(ParseCount("1,,2").ok());
  EXPECT_FALSE(ParseCount(",12").ok());
  EXPECT_FALSE(ParseCount("").ok());
  EXPECT_FALSE(ParseCount("99999999999999999999").ok());
  EXPECT_FALSE(ParseCount("1e30").ok());
  EXPECT_FALSE(ParseCount("1.2.3").ok());
}

TEST(ParseDecimal, Forms) {
  EXPECT_DOUBLE_EQ(*ParseDecimal("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDecimal("-0.25"), -0.25);
  EXPECT_DOUBLE_EQ(*ParseDecimal(".5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDecimal("80%"), 0.8);
  EXPECT_DOUBLE_EQ(*ParseDecimal("0,5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDecimal("1,234.5"), 1234.5);
  EXPECT_FALSE(ParseDecimal("inf").ok());
  EXPECT_FALSE(ParseDecimal("nan").ok());
  EXPECT_FALSE(ParseDecimal("positive").ok());
  EXPECT_FALSE(ParseDecimal("0x10").ok());
}

TEST(ParseDateTime, IsoForms) {
  EXPECT_EQ(*ParseDateTime("2024-01-15"), Utc(2024, 1, 15));
  EXPECT_EQ(*ParseDateTime("2024-01-15T10:30:00"), Utc(2024, 1, 15, 10, 30));
  EXPECT_EQ(*ParseDateTime("2024-01-15 10:30"), Utc(2024, 1, 15, 10, 30));
  EXPECT_EQ(*ParseDateTime("2024-01-15T10:30:00Z"), Utc(2024, 1, 15, 10, 30));
  EXPECT_EQ(*ParseDateTime("2024-01-15T10:30:00.250Z"), Utc(2024, 1, 15, 10, 30) + absl::Milliseconds(250));
  EXPECT_EQ(*ParseDateTime("2024-01-15T10:30:00+02:00"), Utc(2024, 1, 15, 8, 30));
  EXPECT_EQ(*ParseDateTime("2024-01-15T10:30:00-0530"), Utc(2024, 1, 15, 16, 0));
  EXPECT_EQ(*ParseDateTime("2024-01-15 10:30:00+00"), Utc(2024, 1, 15, 10, 30));
  EXPECT_EQ(*ParseDateTime("2024-1-5"), Utc(2024, 1, 5));
}

TEST(ParseDateTime, OtherUnambiguousForms) {
  const absl::Time want = Utc(2024, 1, 15);
  for (const char* s : {"2024/01/15", "2024.01.15", "15 Jan 2024", "15-Jan-2024", "15 January 2024",
                        "15th Jan 2024", "15 Jan, 2024", "Jan 15 2024", "Jan 15, 2024", "January 15th, 2024",
                        "jan 15 2024", "Mon, 15 Jan 2024", "Monday January 15, 2024", "15/01/2024",
                        "01/15/2024", "15-01-2024", "15.01.2024", "  2024-01-15  "}) {
    auto t = ParseDateTime(s);
    ASSERT_THAT(t, IsOk()) << s << ": " << t.status();
    EXPECT_EQ(*t, want) << s;
  }
  EXPECT_EQ(*ParseDateTime("Jan 15, 2024 3:04 PM"), Utc(2024, 1, 15, 15, 4));
  EXPECT_EQ(*ParseDateTime("Jan 15, 2024, 12:00 am"), Utc(2024, 1, 15, 0, 0));
  EXPECT_EQ(*ParseDateTime("15/01/2024 09:15:30"), Utc(2024, 1, 15, 9, 15, 30));
  EXPECT_EQ(*ParseDateTime("2024/01/15 09:15 UTC"), Utc(2024, 1, 15, 9, 15));
  EXPECT_EQ(*ParseDateTime("05/05/2024"), Utc(2024, 5, 5));
}

TEST(ParseDateTime, RefusesAmbiguousAndImpossible) {
  EXPECT_NE(ParseDateTime("03/04/2024").status().message().find("ambiguous"), std::string::npos);
  EXPECT_NE(ParseDateTime("15/01/24").status().message().find("two-digit"), std::string::npos);
  EXPECT_NE(ParseDateTime("2024-02-30").status().message().find("impossible"), std::string::npos);
  EXPECT_NE(ParseDateTime("2023-02-29").status().message().find("impossible"), std::string::npos);
  EXPECT_THAT(ParseDateTime("2024-02-29"), IsOk());
  EXPECT_NE(ParseDateTime("2024-13-01").status().message().find("impossible"), std::string::npos);
  EXPECT_NE(ParseDateTime("31/31/2024").status().message().find("impossible"), std::string::npos);
  EXPECT_FALSE(ParseDateTime("2024-01-15 25:00").ok());
  EXPECT_FALSE(ParseDateTime("2024-01-15 10:61").ok());
  EXPECT_FALSE(ParseDateTime("2024-01-15 13:00 PM").ok());
  EXPECT_FALSE(ParseDateTime("31 Feb 2024").ok());
  EXPECT_FALSE(ParseDateTime("Foo 15 2024").ok());
  EXPECT_FALSE(ParseDateTime("yesterday").ok());
  EXPECT_FALSE(ParseDateTime("2024-01-15 nonsense").ok());
  EXPECT_FALSE(ParseDateTime("2024-01-15T10:00:00 EST").ok());
  EXPECT_FALSE(ParseDateTime("0001-01-01").ok());
  EXPECT_FALSE(ParseDateTime("20240115").ok());
  EXPECT_FALSE(ParseDateTime("").ok());
}

TEST(FormatTimestamp, PostgresInput) {
  EXPECT_EQ(FormatTimestamp(Utc(2024, 1, 15, 10, 30) + absl::Microseconds(250)),
            "2024-01-15 10:30:00.000250+00");
}

}  // namespace
}  // namespace marketlens::collector

namespace marketlens::collector {
namespace {

TEST(Hashtags, NormalizeLowerCasesAndStripsHashes) {
  EXPECT_EQ(NormalizeHashtag("#SummerVibes"), "summervibes");
  EXPECT_EQ(NormalizeHashtag("  ##ad, "), "ad");
  EXPECT_EQ(NormalizeHashtag("\xEF\xBC\x83"
                             "Fullwidth"),
            "fullwidth");
  EXPECT_EQ(NormalizeHashtag("snake_case2024"), "snake_case2024");
  EXPECT_EQ(NormalizeHashtag("Caf\xC3\xA9"),
            "caf\xC3\xA9");  // other scripts as written
  EXPECT_EQ(NormalizeHashtag("#"), "");
  EXPECT_EQ(NormalizeHashtag("#!"), "");
  EXPECT_EQ(NormalizeHashtag(std::string(300, 'a')).size(), kMaxHashtagBytes);
}

TEST(Hashtags, SplitAcceptsSpacesCommasAndHashes) {
  const std::vector<std::string> want = {"tutorial", "fyp", "voltix"};
  EXPECT_EQ(SplitHashtags("#tutorial #fyp #Voltix"), want);
  EXPECT_EQ(SplitHashtags("tutorial, fyp,voltix"), want);
  EXPECT_EQ(SplitHashtags("#tutorial#fyp#voltix"), want);
  EXPECT_EQ(SplitHashtags("tutorial; fyp | voltix #FYP"),
            want);  // repeats dropped
  EXPECT_TRUE(SplitHashtags("  , # ;").empty());
  EXPECT_EQ(HashtagsInText("Love it! #HonestReview #ad, see #honestreview"),
            (std::vector<std::string>{"honestreview", "ad"}));
  std::string array;
  FormatTextArrayTo({"a", "null"}, &array);
  EXPECT_EQ(array, "{\"a\",\"null\"}");
  FormatTextArrayTo({}, &array);
  EXPECT_EQ(array, "{}");
}

}  // namespace
}  // namespace marketlens::collector

namespace marketlens::collector {
namespace {

std::string Iso(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone()); }

TEST(SpreadsheetValues, DateSerialsIn1900And1904Systems) {
  EXPECT_EQ(Iso(*ExcelSerialToTime(43754, false)), "2019-10-16 00:00:00");
  EXPECT_EQ(Iso(*ExcelSerialToTime(43565.395833333336, false)), "2019-04-10 09:30:00");
  EXPECT_EQ(Iso(*ExcelSerialToTime(42292, true)), "2019-10-16 00:00:00");  // 1462 days fewer
  EXPECT_EQ(Iso(*ExcelSerialToTime(59, false)), "1900-02-28 00:00:00");
  EXPECT_FALSE(ExcelSerialToTime(60, false).has_value());  // 29 Feb 1900, which never was
  EXPECT_EQ(Iso(*ExcelSerialToTime(61, false)), "1900-03-01 00:00:00");
  EXPECT_FALSE(ExcelSerialToTime(0, false).has_value());
  EXPECT_EQ(Iso(*ParseDateTime("43754.5", {}, nullptr)), "2019-10-16 12:00:00");
  EXPECT_FALSE(ParseDateTime("2024", {}, nullptr).ok());  // four digits: not a serial
}

TEST(SpreadsheetValues, DayMonthOrderEvidenceAndStrictOrders) {
  DateParseInfo info;
  EXPECT_FALSE(ParseDateTime("04/10/2019 09:00", {}, &info).ok());
  EXPECT_TRUE(info.ambiguous);
  ASSERT_THAT(ParseDateTime("13/10/2019", {}, &info), IsOk());
  EXPECT_EQ(info.evidence, DayMonthOrder::kDayFirst);
  ASSERT_THAT(ParseDateTime("10/13/2019", {}, &info), IsOk());
  EXPECT_EQ(info.evidence, DayMonthOrder::kMonthFirst);
  ASSERT_THAT(ParseDateTime("15.01.2024", {}, &info), IsOk());
  EXPECT_EQ(info.evidence, DayMonthOrder::kUnknown);  // dotted dates say nothing about the others
  EXPECT_EQ(Iso(*ParseDateTime("04/10/2019 09:00", {.order = DayMonthOrder::kDayFirst}, nullptr)),
            "2019-10-04 09:00:00");
  EXPECT_EQ(Iso(*ParseDateTime("04/10/2019 09:00", {.order = DayMonthOrder::kMonthFirst}, nullptr)),
            "2019-04-10 09:00:00");
  EXPECT_FALSE(ParseDateTime("10/13/2019", {.order = DayMonthOrder::kDayFirst}, nullptr).ok());
  EXPECT_EQ(*ParseDayMonthOrder("DMY"), DayMonthOrder::kDayFirst);
  EXPECT_EQ(*ParseDayMonthOrder(""), DayMonthOrder::kUnknown);
  EXPECT_FALSE(ParseDayMonthOrder("ymd").ok());
}

TEST(SpreadsheetValues, MonthsAndSentimentWords) {
  for (const char* v : {"04-2019", "4/2019", "2019-04", "Apr 2019", "April-2019", "2019-04-17", "43570"}) {
    auto m = ParseMonth(v, {});
    ASSERT_THAT(m, IsOk()) << v << ": " << m.status();
    EXPECT_EQ(*m, absl::CivilMonth(2019, 4)) << v;
  }
  EXPECT_FALSE(ParseMonth("13-2019", {}).ok());
  EXPECT_FALSE(ParseMonth("soon", {}).ok());
  EXPECT_EQ(SentimentFromWord("Positive"), 1.0);
  EXPECT_EQ(SentimentFromWord("NEGATIVE"), -1.0);
  EXPECT_EQ(SentimentFromWord(" neutral "), 0.0);
  EXPECT_EQ(SentimentFromWord("great?"), std::nullopt);
}

}  // namespace
}  // namespace marketlens::collector
