#include "services/recommender/algo/model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
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

// Against the definition (sort everything that may be returned), on random scores with many ties, NaN,
// +-inf, exclusions, ascending and descending runs, and n below, at and above the number of items.
TEST(TopNTest, MatchesAFullSortOnRandomScores) {
  std::mt19937 rng(3);
  const float inf = std::numeric_limits<float>::infinity();
  for (int trial = 0; trial < 400; ++trial) {
    const int size = std::uniform_int_distribution<int>(0, 300)(rng);
    std::vector<float> s(size);
    for (int i = 0; i < size; ++i) {
      const int kind = std::uniform_int_distribution<int>(0, 19)(rng);
      s[i] = kind == 0   ? std::nanf("")
             : kind == 1 ? -inf
             : kind == 2 ? inf
             : kind < 8  ? static_cast<float>(rng() % 5)  // ties
                         : std::uniform_real_distribution<float>(-1, 1)(rng);
    }
    if (trial % 4 == 1) std::sort(s.begin(), s.end(), [](float a, float b) { return a < b; });
    if (trial % 4 == 2) std::sort(s.begin(), s.end(), [](float a, float b) { return a > b; });
    std::vector<int32_t> exclude;
    for (int i = 0; i < size; ++i) {
      if (rng() % 4 == 0) exclude.push_back(i);
    }
    const int n = std::uniform_int_distribution<int>(0, size + 5)(rng);
    std::vector<ScoredItem> expected;
    for (int i = 0; i < size; ++i) {
      if (std::isnan(s[i]) || s[i] == -inf || std::binary_search(exclude.begin(), exclude.end(), i)) continue;
      expected.push_back({i, s[i]});
    }
    std::sort(expected.begin(), expected.end(), [](const ScoredItem& a, const ScoredItem& b) {
      return a.score != b.score ? a.score > b.score : a.item < b.item;
    });
    if (static_cast<int>(expected.size()) > n) expected.resize(n);
    const std::vector<ScoredItem> top = TopN(s, n, exclude);
    ASSERT_EQ(top.size(), expected.size()) << "trial " << trial;
    for (size_t k = 0; k < top.size(); ++k) {
      EXPECT_EQ(top[k].item, expected[k].item) << "trial " << trial << " rank " << k;
      EXPECT_EQ(top[k].score, expected[k].score) << "trial " << trial << " rank " << k;
    }
  }
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
