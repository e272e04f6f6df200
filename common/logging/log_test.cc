#include "common/logging/log.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace marketlens::logging {
namespace {

using ::marketlens::testing::IsOk;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetServiceName("unit");
    SetMinLevel(Level::kInfo);
    SetSinkForTesting([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override { SetSinkForTesting(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithFields) {
  Info("page stored", {{"resource", "reviews"}, {"page", 12}, {"ok", true}, {"ratio", 0.5}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.substr(line.size() - 2), "}\n");
  EXPECT_NE(line.find("\"level\":\"info\""), std::string::npos);
  EXPECT_NE(line.find("\"service\":\"unit\""), std::string::npos);
  EXPECT_NE(line.find("\"msg\":\"page stored\""), std::string::npos);
  EXPECT_NE(line.find("\"resource\":\"reviews\",\"page\":12,\"ok\":true,\"ratio\":0.5"), std::string::npos);
  EXPECT_NE(line.find("\"ts\":\"20"), std::string::npos);
}

TEST_F(LogTest, EscapesStringsSoEveryLineStaysValidJson) {
  Warn("quote \" backslash \\ newline \n tab \t bell \x07", {{"k\"ey", "v\nal"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find(R"(quote \" backslash \\ newline \n tab \t bell \u0007)"), std::string::npos);
  EXPECT_NE(lines_[0].find(R"("k\"ey":"v\nal")"), std::string::npos);
  // Exactly one raw newline: the terminator.
  EXPECT_EQ(std::count(lines_[0].begin(), lines_[0].end(), '\n'), 1);
}

// The bytes a string field gets in its line (between `"v":` and the closing brace), after checking that the
// whole line parses as JSON.
std::string QuotedInLine(absl::string_view text) {
  const std::string line = FormatLine(Level::kInfo, "m", {{"v", text}});
  EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  const size_t start = line.find("\"v\":") + 4;
  return line.substr(start, line.size() - 2 - start);
}

TEST(QuotingTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";  // U+FFFD, written raw (not as \ufffd)
  // Valid multi-byte text passes through untouched.
  EXPECT_EQ(QuotedInLine("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // A stray byte, an overlong '/', a surrogate: each bad byte becomes U+FFFD.
  EXPECT_EQ(QuotedInLine("a\xE9"
                         "b"),
            "\"a" + fffd + "b\"");
  EXPECT_EQ(QuotedInLine("\xC0\xAF"), "\"" + fffd + fffd + "\"");
  EXPECT_EQ(QuotedInLine("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");
  // A sequence cut short by the end of the string becomes one U+FFFD (the Unicode "maximal subpart" rule).
  EXPECT_EQ(QuotedInLine("x\xE2\x82"), "\"x" + fffd + "\"");
  // Parsed back, a line says U+FFFD where the bad bytes were.
  const std::string line = FormatLine(Level::kInfo, "m",
                                      {{"v",
                                        "a\xE9"
                                        "b"}});
  EXPECT_EQ(nlohmann::json::parse(line)["v"], "a" + fffd + "b");
}

TEST_F(LogTest, NonFiniteNumbersBecomeNull) {
  Info("nan", {{"x", std::nan("")}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"x\":null"), std::string::npos);
}

TEST_F(LogTest, LevelsBelowTheMinimumAreDropped) {
  Debug("hidden");
  SetMinLevel(Level::kError);
  Warn("hidden too");
  Error("shown");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"level\":\"error\""), std::string::npos);
}

TEST_F(LogTest, LevelFromStringRejectsUnknownNames) {
  EXPECT_THAT(SetMinLevelFromString("DEBUG"), IsOk());
  EXPECT_TRUE(Enabled(Level::kDebug));
  absl::Status bad = SetMinLevelFromString("verbose");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("verbose"), std::string::npos);
}

TEST_F(LogTest, RequestIdIsScopedToTheThread) {
  EXPECT_EQ(CurrentRequestId(), "");
  {
    ScopedRequestId outer("outer-id");
    {
      ScopedRequestId inner("inner-id");
      Info("inner");
    }
    Info("outer");
    std::thread other([] { EXPECT_EQ(CurrentRequestId(), ""); });
    other.join();
  }
  Info("none");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_NE(lines_[0].find("\"request_id\":\"inner-id\""), std::string::npos);
  EXPECT_NE(lines_[1].find("\"request_id\":\"outer-id\""), std::string::npos);
  EXPECT_EQ(lines_[2].find("request_id"), std::string::npos);
}

TEST(RequestIdTest, NewIdsAreDistinctHex) {
  std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace marketlens::logging
