#include "services/recommender/serving/snapshot_memo.h"

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

std::function<std::vector<Candidate>()> Counting(int* calls, const std::string& id) {
  return [calls, id] {
    ++*calls;
    return std::vector<Candidate>{{.item_id = id, .score = 1}};
  };
}

TEST(SnapshotMemoTest, ComputesOncePerKeyAndSnapshotPair) {
  SnapshotMemo memo(16);
  int calls = 0;
  auto first = memo.GetOrCompute(1, 2, "k", Counting(&calls, "a"));
  auto again = memo.GetOrCompute(1, 2, "k", Counting(&calls, "b"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(first.get(), again.get());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].item_id, "a");
  EXPECT_EQ(memo.Lookup(1, 2, "k").get(), first.get());
  EXPECT_EQ(memo.Lookup(1, 2, "other"), nullptr);
}

TEST(SnapshotMemoTest, AnotherModelOrCatalogueMissesAndStartsOver) {
  SnapshotMemo memo(16);
  int calls = 0;
  auto old_list = memo.GetOrCompute(1, 2, "k", Counting(&calls, "a"));
  EXPECT_EQ(memo.Lookup(3, 2, "k"), nullptr);  // a new model
  EXPECT_EQ(memo.Lookup(1, 4, "k"), nullptr);  // a new catalogue snapshot
  auto new_list = memo.GetOrCompute(3, 2, "k", Counting(&calls, "b"));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*new_list)[0].item_id, "b");
  EXPECT_EQ(memo.Lookup(1, 2, "k"), nullptr);  // the old pair's lists are gone
  EXPECT_EQ((*old_list)[0].item_id, "a");      // a caller still holding one keeps it
  EXPECT_EQ(memo.size(), 1u);
}

TEST(SnapshotMemoTest, StaysWithinCapacity) {
  SnapshotMemo memo(4);
  int calls = 0;
  for (int k = 0; k < 10; ++k) memo.GetOrCompute(1, 1, std::to_string(k), Counting(&calls, "x"));
  EXPECT_EQ(calls, 10);
  EXPECT_LE(memo.size(), 4u);
}

}  // namespace
}  // namespace marketlens::recommender
