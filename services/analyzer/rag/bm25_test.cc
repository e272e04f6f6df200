#include "services/analyzer/rag/bm25.h"

#include "gtest/gtest.h"

namespace marketlens::analyzer::rag {
namespace {

TEST(Bm25Test, RanksByTermRarityAndFrequency) {
  Bm25Index index({{"1", "contact", "Parcel arrived late, courier lost the parcel twice"},
                   {"2", "contact", "Asked about the warranty for the speaker"},
                   {"3", "review", "Great speaker, the battery lasts for days"},
                   {"4", "review", "The battery died. Battery replacement under warranty?"}});
  auto hits = index.Search("battery", 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(index.docs()[hits[0].doc].id, "4");  // two mentions
  EXPECT_EQ(index.docs()[hits[1].doc].id, "3");
  auto parcels = index.Search("late parcels", 1);  // plural folds onto "parcel"
  ASSERT_EQ(parcels.size(), 1u);
  EXPECT_EQ(index.docs()[parcels[0].doc].id, "1");
  EXPECT_TRUE(index.Search("the and of", 5).empty());  // stopwords only
  EXPECT_TRUE(index.Search("zebra", 5).empty());
  EXPECT_TRUE(Bm25Index({}).Search("battery", 3).empty());
}

TEST(Bm25Test, RareTermsOutweighCommonOnes) {
  Bm25Index index(
      {{"a", "r", "speaker speaker speaker"}, {"b", "r", "speaker hinge"}, {"c", "r", "speaker"}});
  auto hits = index.Search("speaker hinge", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(index.docs()[hits[0].doc].id, "b");
}

}  // namespace
}  // namespace marketlens::analyzer::rag
