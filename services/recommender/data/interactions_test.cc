#include "services/recommender/data/interactions.h"

#include <cstdlib>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;

TEST(InteractionsTest, ParsesUData) {
  auto log =
      ParseInteractions("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n", "u.data");
  ASSERT_THAT(log, IsOk());
  ASSERT_EQ(log->events.size(), 3u);
  EXPECT_EQ(log->users.size(), 2);
  EXPECT_EQ(log->items.size(), 2);
  EXPECT_EQ(log->users.Name(log->events[2].user), "196");
  EXPECT_EQ(log->items.Name(log->events[2].item), "302");
  EXPECT_EQ(log->events[2].value, 5);
  EXPECT_EQ(log->events[2].timestamp, 881250950);
  EXPECT_EQ(log->events[2].type, EventType::kRating);
  EXPECT_EQ(log->TimeRange(), std::make_pair(int64_t{881250949}, int64_t{891717742}));
}

TEST(InteractionsTest, ParsesCsvWithHeaderSpacesAndEventTypes) {
  auto csv = ParseInteractions("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n", "ratings.csv");
  ASSERT_THAT(csv, IsOk());
  ASSERT_EQ(csv->events.size(), 1u);
  EXPECT_FLOAT_EQ(csv->events[0].value, 2.5f);

  auto spaces = ParseInteractions("u1 i1 1 10 purchase\nu1 i2 1 11 view\nu2  i1  4\n", "events");
  ASSERT_THAT(spaces, IsOk());
  ASSERT_EQ(spaces->events.size(), 3u);
  EXPECT_EQ(spaces->events[0].type, EventType::kPurchase);
  EXPECT_EQ(spaces->events[1].type, EventType::kView);
  EXPECT_EQ(spaces->events[2].timestamp, 0);
}

TEST(InteractionsTest, MinRatingDropsLowRatings) {
  auto log = ParseInteractions("1\t1\t5\t1\n1\t2\t2\t2\n", "f", {.min_rating = 4});
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->events.size(), 1u);
}

TEST(InteractionsTest, MalformedLinesNameFileAndLine) {
  auto few = ParseInteractions("1\t1\t5\t1\n1\t2\n", "u.data");
  EXPECT_EQ(few.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(few.status().message(), HasSubstr("u.data:2:"));
  auto rating = ParseInteractions("1\t1\t5\t1\n1\t2\tfive\t3\n", "u.data");
  EXPECT_THAT(rating.status().message(), HasSubstr("u.data:2: rating `five`"));
  auto ts = ParseInteractions("1\t1\t5\tyesterday\n", "u.data");
  EXPECT_THAT(ts.status().message(), HasSubstr("timestamp"));
  auto type = ParseInteractions("1 1 5 1 teleport\n", "x");
  EXPECT_THAT(type.status().message(), HasSubstr("unknown event type `teleport`"));
}

TEST(InteractionsTest, FormatRoundTripsThroughAFile) {
  InteractionLog log;
  log.Add("a", "x", EventType::kRating, 4, 100);
  log.Add("b", "y", EventType::kAddToCart, 1, 200);
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/u.data";
  ASSERT_THAT(WriteUDataFile(path, log), IsOk());
  auto back = ReadInteractionsFile(path);
  ASSERT_THAT(back, IsOk());
  ASSERT_EQ(back->events.size(), 2u);
  EXPECT_EQ(back->events[1].type, EventType::kAddToCart);
  EXPECT_EQ(back->items.Name(back->events[1].item), "y");
  EXPECT_EQ(ReadInteractionsFile("/nonexistent/u.data").status().code(), absl::StatusCode::kNotFound);
}

TEST(InteractionsTest, EventTypeNames) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    auto type = static_cast<EventType>(i);
    EXPECT_EQ(ParseEventType(EventTypeName(type)), type);
  }
  EXPECT_FALSE(ParseEventType("nope").has_value());
}

TEST(ItemsTest, ParsesMovieLensUItem) {
  auto items = ParseItems("1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n",
                          "u.item");
  ASSERT_THAT(items, IsOk());
  const ItemInfo& info = items->at("1");
  EXPECT_EQ(info.title, "Toy Story (1995)");
  EXPECT_EQ(info.category, "Animation");
  EXPECT_EQ(info.description, "Animation Children's Comedy");
  EXPECT_THAT(ParseItems("1|x|y\n", "u.item").status().message(), HasSubstr("u.item:1: u.item lines"));
}

TEST(ItemsTest, ParsesTsv) {
  auto items =
      ParseItems("P1\tKitchen\tChef knife\tSharp steel\tcolor=red;size=L\nP2\tGarden\tHose\n", "items");
  ASSERT_THAT(items, IsOk());
  EXPECT_EQ(items->at("P1").category, "Kitchen");
  ASSERT_EQ(items->at("P1").attributes.size(), 2u);
  EXPECT_EQ(items->at("P1").attributes[1].second, "L");
  EXPECT_EQ(items->at("P2").title, "Hose");
  EXPECT_EQ(ParseItems("P1\n", "items").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::recommender
