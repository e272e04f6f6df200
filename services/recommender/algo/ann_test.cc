#include "services/recommender/algo/ann.h"

#include <random>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(AnnTest, HnswFindsTheLargestInnerProducts) {
  ASSERT_TRUE(HnswAvailable()) << "libhnswlib-dev is not installed (deploy/local/install_deps.sh)";
  const int n = 4000, dim = 16;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> rows(n * dim);
  for (float& v : rows) v = normal(rng);
  for (int i = 0; i < n; ++i) {  // varied norms: inner product != cosine
    const float scale = 0.5f + (i % 7) * 0.25f;
    for (int d = 0; d < dim; ++d) rows[i * dim + d] *= scale;
  }
  auto exact = MipsIndex::Build(rows.data(), n, dim, {.exact = true});
  auto approx = MipsIndex::Build(rows.data(), n, dim, {.ef_search = 400});
  ASSERT_THAT(exact, IsOk());
  ASSERT_THAT(approx, IsOk());
  EXPECT_FALSE((*exact)->approximate());
  EXPECT_TRUE((*approx)->approximate());
  int found = 0, total = 0;
  for (int q = 0; q < 50; ++q) {
    std::vector<float> query(dim);
    for (float& v : query) v = normal(rng);
    auto truth = (*exact)->Search(query.data(), 10);
    auto got = (*approx)->Search(query.data(), 10);
    ASSERT_EQ(got.size(), 10u);
    for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].score, got[i].score);
    for (const ScoredItem& t : truth) {
      for (const ScoredItem& g : got) found += g.item == t.item;
    }
    total += 10;
  }
  EXPECT_GT(static_cast<double>(found) / total, 0.9);
}

TEST(AnnTest, ExactOnTinyInput) {
  std::vector<float> rows = {1, 0, 0, 1, 0.5f, 0.5f};
  auto index = MipsIndex::Build(rows.data(), 3, 2, {.exact = true});
  ASSERT_THAT(index, IsOk());
  float q[2] = {1, 0.2f};
  auto r = (*index)->Search(q, 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].item, 0);
  EXPECT_EQ(r[1].item, 2);
  EXPECT_FALSE(MipsIndex::Build(rows.data(), 3, 0).ok());
}

}  // namespace
}  // namespace marketlens::recommender
