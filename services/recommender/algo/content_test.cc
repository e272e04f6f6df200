#include "services/recommender/algo/content.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

TEST(TokenizeTest, LowercasesDropsStopWordsAndShortNumbers) {
  EXPECT_EQ(Tokenize("The Chef's KNIFE, 8-inch (1995) a 42"),
            (std::vector<std::string>{"chef", "knife", "inch", "1995"}));
}

TEST(ContentTest, SimilarItemsShareClusterAndNewItemsAreFound) {
  SyntheticData s = GenerateSynthetic({.users = 50, .items = 100, .clusters = 5, .events_per_user = 5});
  TrainingData d = BuildTrainingData(s.log, {}, &s.catalog);
  ContentModel m({.neighbors = 10, .threads = 1});
  ASSERT_THAT(m.Fit(d), IsOk());
  int same = 0, total = 0;
  for (int32_t i = 0; i < d.num_items(); ++i) {
    for (int32_t j : m.neighbors().RowIndices(i)) {
      same += SyntheticItemCluster(d.items.Name(j), 5) == SyntheticItemCluster(d.items.Name(i), 5);
      ++total;
    }
  }
  EXPECT_GT(static_cast<double>(same) / total, 0.95);

  // A new item (never in training) described like cluster 3 finds cluster-3 items.
  ItemInfo fresh = s.catalog.at("i3");
  fresh.title += " deluxe";
  auto similar = m.index().Similar(m.index().Vectorize(fresh), 5);
  ASSERT_EQ(similar.size(), 5u);
  for (const ScoredItem& r : similar) EXPECT_EQ(SyntheticItemCluster(d.items.Name(r.item), 5), 3);
  EXPECT_NEAR(m.index().Cosine(0, 0), 1.0, 1e-5);
}

TEST(ContentTest, NeedsMetadata) {
  SyntheticData s = GenerateSynthetic({.users = 10, .items = 10, .clusters = 2, .events_per_user = 3});
  TrainingData d = BuildTrainingData(s.log);
  EXPECT_EQ(ContentModel().Fit(d).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace marketlens::recommender
