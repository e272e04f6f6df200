// The serving logic on a trained planted-cluster world: personal, session and cold-start paths with their
// reasons, feedback changing the next answer, business rules in place, and clear errors.
#include "services/recommender/serving/engine.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/serving/serving_fixture.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using ::testing::HasSubstr;
using testing::World;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = World().MakeCatalog();
    engine_ = std::make_unique<Engine>(EngineOptions{.rules = {.max_per_category = 0}}, &online_, nullptr);
  }
  absl::StatusOr<RecommendOutcome> Recommend(RecommendQuery q) {
    return engine_->Recommend(World().model.get(), catalog_.get(), q);
  }
  int InCluster(const std::vector<Candidate>& items, int cluster) {
    int n = 0;
    for (const auto& c : items) n += World().Cluster(c.item_id) == cluster;
    return n;
  }
  OnlineState online_;
  std::shared_ptr<const CatalogSnapshot> catalog_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, KnownUserGetsTheirClusterWithReasons) {
  for (int cluster = 0; cluster < 5; ++cluster) {
    const std::string user = World().UserInCluster(cluster);
    auto r = Recommend({.user_id = user, .n = 10});
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->path, "personal");
    ASSERT_EQ(r->items.size(), 10u);
    EXPECT_GE(InCluster(r->items, cluster), 8) << user;
    int reasons = 0;
    for (const Candidate& c : r->items) {
      EXPECT_FALSE(c.reason.empty());
      reasons += absl::StartsWith(c.reason.str(), "because you ");
      // Never something the model says they already interacted with.
      const auto& b = World().model->bundle();
      EXPECT_EQ(b.user_items.At(b.users.Find(user), b.items.Find(c.item_id)), 0) << c.item_id;
    }
    EXPECT_GE(reasons, 5);
  }
}

// Explain names the history item with the largest weight x similarity in the recommended item's
// neighbour list; its scan stops early on sorted rows, which must not change the item it names: checked
// against a full scan of every row.
TEST_F(EngineTest, ReasonNamesTheStrongestHistoryNeighbour) {
  const ModelBundle& b = World().model->bundle();
  ASSERT_TRUE(World().model->neighbor_rows_sorted());
  int checked = 0;
  for (int cluster = 0; cluster < 5; ++cluster) {
    const std::string user = World().UserInCluster(cluster);
    const int32_t u = b.users.Find(user);
    auto r = Recommend({.user_id = user, .n = 30});
    ASSERT_THAT(r, IsOk());
    for (const Candidate& c : r->items) {
      if (c.source != "item_knn") continue;
      const int32_t i = b.items.Find(c.item_id);
      ASSERT_GE(i, 0);
      int32_t best = -1;
      float best_strength = 0;
      auto idx = b.item_neighbors.RowIndices(i);
      auto sim = b.item_neighbors.RowValues(i);
      for (size_t m = 0; m < idx.size(); ++m) {
        const float strength = b.user_items.At(u, idx[m]) * sim[m];
        if (strength > best_strength) {
          best_strength = strength;
          best = idx[m];
        }
      }
      ASSERT_GE(best, 0) << c.item_id;
      EXPECT_TRUE(absl::EndsWith(c.reason.str(), " " + catalog_->DisplayName(b.items.Name(best))))
          << c.item_id << ": " << c.reason;
      ++checked;
    }
  }
  EXPECT_GE(checked, 50);
}

// A returning shopper's pool and its explanations are memoised together (their history is the training
// row): asked again, with a smaller and a larger n, the answers (items, scores, reasons, sources) are those
// of an engine without the memo.
TEST_F(EngineTest, MemoisedExplanationsEqualFreshOnes) {
  Engine fresh(EngineOptions{.rules = {.max_per_category = 0}, .personal_memo_users = 0}, &online_, nullptr);
  int explained = 0;
  for (int cluster = 0; cluster < 5; ++cluster) {
    const std::string user = World().UserInCluster(cluster);
    for (int n : {10, 5, 30, 10}) {
      const RecommendQuery q{.user_id = user, .n = n};
      auto memoised = Recommend(q);
      auto expected = fresh.Recommend(World().model.get(), catalog_.get(), q);
      ASSERT_THAT(memoised, IsOk());
      ASSERT_THAT(expected, IsOk());
      ASSERT_EQ(memoised->items.size(), expected->items.size()) << user << " n " << n;
      for (size_t k = 0; k < expected->items.size(); ++k) {
        const Candidate &a = memoised->items[k], &e = expected->items[k];
        EXPECT_EQ(a.item_id, e.item_id) << user << " n " << n << " #" << k;
        EXPECT_EQ(a.score, e.score) << a.item_id;
        EXPECT_EQ(a.reason, e.reason) << a.item_id;
        EXPECT_EQ(a.source, e.source) << a.item_id;
        explained += absl::StartsWith(a.reason.str(), "because you ");
      }
    }
  }
  EXPECT_GE(explained, 50);
}

TEST_F(EngineTest, SessionItemsDriveAnonymousRecommendations) {
  auto r = Recommend({.n = 8, .session_items = {"i3", "i8"}});  // cluster 3
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->path, "session");
  EXPECT_GE(InCluster(r->items, 3), 7);
  EXPECT_THAT(r->items[0].reason, HasSubstr("because you're looking at "));
  EXPECT_EQ(r->items[0].source, "session");
  for (const Candidate& c : r->items) EXPECT_NE(c.item_id, "i3");  // not the session items themselves
}

// A two-tower model is served through the same path as ALS: known shoppers by their user-tower vector,
// shoppers with fresh feedback by the mean of their items' vectors (fold_in=mean).
TEST_F(EngineTest, TwoTowerModelServesKnownAndFoldedInShoppers) {
  TrainConfig config;
  config.algorithm = "two_tower";
  config.params = {{"two_tower.factors", "16"}, {"two_tower.epochs", "10"}};
  config.hygiene.min_user_interactions = 3;
  config.hygiene.min_item_interactions = 3;
  config.evaluate = false;
  config.threads = 2;
  auto trained = TrainBundle({.log = &World().data.log, .catalog = &World().data.catalog}, config);
  ASSERT_THAT(trained, IsOk());
  auto model = ServingModel::Create(std::move(trained->bundle));
  ASSERT_THAT(model, IsOk());
  ASSERT_NE((*model)->als(), nullptr);
  EXPECT_TRUE((*model)->als()->options().mean_fold_in);
  int in_cluster = 0, total = 0;
  for (int cluster = 0; cluster < 5; ++cluster) {
    const std::string user = World().UserInCluster(cluster);
    auto r = engine_->Recommend(model->get(), catalog_.get(), {.user_id = user, .n = 10});
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->path, "personal");
    in_cluster += InCluster(r->items, cluster);
    total += static_cast<int>(r->items.size());
  }
  EXPECT_GE(in_cluster, total * 7 / 10);
  // Folded in: a vector for an unknown history is the mean of its items' vectors, scoring its cluster first.
  OwnedHistory h;  // keeps items sorted, as TopN's exclusion list needs
  h.Add((*model)->bundle().items.Find("i3"), 1);
  h.Add((*model)->bundle().items.Find("i8"), 1);
  std::vector<float> scores((*model)->bundle().num_items());
  (*model)->als()->ScoreVector((*model)->als()->FoldIn(h.view()), absl::MakeSpan(scores));
  int hits = 0;
  for (const ScoredItem& s : TopN(scores, 10, h.items))
    hits += World().Cluster((*model)->bundle().items.Name(s.item)) == 3;
  EXPECT_GE(hits, 7);
}

TEST_F(EngineTest, UnknownUserGetsPopularInContext) {
  auto plain = Recommend({.user_id = "stranger", .n = 5});
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->path, "popular");
  EXPECT_EQ(plain->items.size(), 5u);
  for (const Candidate& c : plain->items) EXPECT_THAT(c.reason, HasSubstr("popular"));

  auto kitchen = Recommend({.user_id = "stranger", .n = 5, .category = "CAT2"});  // case-insensitive
  ASSERT_THAT(kitchen, IsOk());
  EXPECT_EQ(InCluster(kitchen->items, 2), 5);
  EXPECT_THAT(kitchen->items[0].reason, HasSubstr("popular in cat2"));

  auto de = Recommend({.n = 5, .region = "DE"});
  ASSERT_THAT(de, IsOk());
  EXPECT_EQ(de->items[0].reason, "popular in DE");
}

TEST_F(EngineTest, FeedbackChangesTheNextAnswer) {
  const std::string user = World().UserInCluster(0);
  auto before = Recommend({.user_id = user, .n = 10});
  ASSERT_THAT(before, IsOk());
  ASSERT_GE(InCluster(before->items, 0), 8);
  // They buy a run of cluster-4 items: their next list moves towards cluster 4.
  for (const char* item : {"i4", "i9", "i14", "i19", "i24", "i29"}) {
    online_.Record(user, item, EventType::kPurchase, 2000000000);
  }
  auto after = Recommend({.user_id = user, .n = 10});
  ASSERT_THAT(after, IsOk());
  EXPECT_GT(InCluster(after->items, 4), InCluster(before->items, 4) + 2);
  for (const Candidate& c : after->items) EXPECT_NE(c.item_id, "i4");  // bought: not recommended again
  // "Do not show" removes the top item at once.
  const std::string top = after->items[0].item_id;
  online_.Record(user, top, EventType::kDoNotShow, 2000000001);
  auto hidden = Recommend({.user_id = user, .n = 10});
  for (const Candidate& c : hidden->items) EXPECT_NE(c.item_id, top);
}

TEST_F(EngineTest, ForgottenUsersAreStrangers) {
  const std::string user = World().UserInCluster(1);
  online_.Forget(user);
  auto r = Recommend({.user_id = user, .n = 5});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->path, "popular");
}

TEST_F(EngineTest, BusinessRulesApply) {
  testing::TestWorld world = World();  // copy, to edit the catalogue
  const std::string user = World().UserInCluster(2);
  auto base = engine_->Recommend(world.model.get(), world.MakeCatalog().get(), {.user_id = user, .n = 5});
  ASSERT_THAT(base, IsOk());
  const std::string first = base->items[0].item_id;
  for (auto& item : world.items) {
    if (item.id == first) item.stock = 0;
  }
  auto out_of_stock =
      engine_->Recommend(world.model.get(), world.MakeCatalog().get(), {.user_id = user, .n = 5});
  for (const Candidate& c : out_of_stock->items) EXPECT_NE(c.item_id, first);
  // Diversity cap: 2 per category -> at most 2 of cluster 2 in 5 (enough others to fill).
  Engine capped(EngineOptions{.rules = {.max_per_category = 2}}, &online_, nullptr);
  auto diverse = capped.Recommend(world.model.get(), world.MakeCatalog().get(), {.user_id = user, .n = 5});
  ASSERT_THAT(diverse, IsOk());
  EXPECT_EQ(diverse->items.size(), 5u);
  EXPECT_LE(InCluster(diverse->items, 2), 2);
}

TEST_F(EngineTest, NewItemsAreFoundByContent) {
  auto similar = engine_->SimilarItems(World().model.get(), catalog_.get(), "new1", 5);
  ASSERT_THAT(similar, IsOk());
  ASSERT_EQ(similar->size(), 5u);
  EXPECT_EQ(InCluster(*similar, 2), 5);
  EXPECT_THAT((*similar)[0].reason, HasSubstr("similar to brand new"));
  // A shopper looking at cluster-2 items is offered the new one.
  auto r = Recommend({.n = 30, .session_items = {"i2", "i7"}});
  ASSERT_THAT(r, IsOk());
  bool found = false;
  for (const Candidate& c : r->items) {
    if (c.item_id == "new1") {
      found = true;
      EXPECT_EQ(c.source, "content");
      EXPECT_THAT(c.reason, HasSubstr("new, similar to"));
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(EngineTest, SimilarItemsAndFrequentlyBoughtTogether) {
  auto similar = engine_->SimilarItems(World().model.get(), catalog_.get(), "i1", 5);
  ASSERT_THAT(similar, IsOk());
  EXPECT_GE(InCluster(*similar, 1), 4);
  for (const Candidate& c : *similar) EXPECT_NE(c.item_id, "i1");
  auto fbt = engine_->FrequentlyBoughtTogether(World().model.get(), catalog_.get(), {"i1", "i6"}, 5);
  ASSERT_THAT(fbt, IsOk());
  ASSERT_FALSE(fbt->empty());
  EXPECT_THAT((*fbt)[0].reason, HasSubstr("bought together with"));
  for (const Candidate& c : *fbt) EXPECT_TRUE(c.item_id != "i1" && c.item_id != "i6");
}

TEST_F(EngineTest, RerankPutsTheShoppersTasteFirst) {
  const std::string user = World().UserInCluster(3);
  std::vector<std::string> results = {"i0", "i1", "i2", "unknown-x", "i3", "i4", "i8"};
  auto r = engine_->Rerank(World().model.get(), catalog_.get(), user, results);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->size(), results.size());  // nothing dropped
  EXPECT_EQ(World().Cluster((*r)[0].item_id), 3);
  EXPECT_EQ(World().Cluster((*r)[1].item_id), 3);
  EXPECT_EQ(r->back().item_id, "unknown-x");  // unknown to the model: last
}

TEST_F(EngineTest, ClearErrors) {
  EXPECT_EQ(Recommend({.n = -1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Recommend({.n = 101}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Recommend({.n = 0})->items.size(), 10u);  // 0 = default
  auto* m = World().model.get();
  EXPECT_EQ(engine_->SimilarItems(m, catalog_.get(), "nope", 5).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->SimilarItems(m, catalog_.get(), "", 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->FrequentlyBoughtTogether(m, catalog_.get(), {}, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto unknown = engine_->FrequentlyBoughtTogether(m, catalog_.get(), {"i1", "nope"}, 5);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("`nope`"));
  EXPECT_EQ(engine_->Rerank(m, catalog_.get(), "u1", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, WithoutAModelTheCatalogueAnswers) {
  auto r = engine_->Recommend(nullptr, catalog_.get(), {.user_id = "u1", .n = 3, .category = "cat4"});
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->items.size(), 3u);
  EXPECT_EQ(InCluster(r->items, 4), 3);
  EXPECT_THAT(r->items[0].reason, HasSubstr("new in cat4"));
}

}  // namespace
}  // namespace marketlens::recommender
