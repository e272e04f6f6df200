#include "services/recommender/algo/model.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

TEST(TopNTest, OrdersExcludesAndBreaksTiesByIndex) {
  std::vector<float> s = {0.5f, 0.9f, 0.9f, -1.0f, 0.7f, -std::numeric_limits<float>::infinity()};
  auto top = TopN(s, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].item, 1);
  EXPECT_EQ(top[1].item, 2);
  EXPECT_EQ(top[2].item, 4);
  std::vector<int32_t> exclude = {1, 4};
  top = TopN(s, 10, exclude);
  ASSERT_EQ(top.size(), 3u);  // 2, 0, 3 (the -inf item is never returned)
  EXPECT_EQ(top[0].item, 2);
  EXPECT_EQ(top[1].item, 0);
  EXPECT_EQ(top[2].item, 3);
  top = TopN(s, 2, {}, [](int32_t i) { return i % 2 == 0; });
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].item, 2);
  EXPECT_EQ(top[1].item, 4);
  EXPECT_TRUE(TopN(s, 0).empty());
}

TEST(NormalizeTest, MaxAbs) {
  std::vector<float> s = {2, -4, 1};
  NormalizeMaxAbs(absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[0], 0.5f);
  EXPECT_FLOAT_EQ(s[1], -1.0f);
  std::vector<float> zero = {0, 0};
  NormalizeMaxAbs(absl::MakeSpan(zero));
  EXPECT_EQ(zero[0], 0);
}

TEST(OwnedHistoryTest, KeepsSortedAndDistinct) {
  OwnedHistory h;
  h.Add(5, 1);
  h.Add(2, 1);
  h.Add(5, 2);
  h.Add(9, 1);
  EXPECT_EQ(h.items, (std::vector<int32_t>{2, 5, 9}));
  EXPECT_EQ(h.weights, (std::vector<float>{1, 3, 1}));
  h.Remove(5);
  h.Remove(7);
  EXPECT_EQ(h.items, (std::vector<int32_t>{2, 9}));
  EXPECT_EQ(h.view().size(), 2u);
}

}  // namespace
}  // namespace marketlens::recommender
