// Recommend's hand-written response bytes equal the generated serialiser's for the same items: engine
// answers on every path, items the model or the catalogue lacks, prices, negative and zero scores.
#include "services/recommender/serving/response_encoding.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/serving/engine.h"
#include "services/recommender/serving/serving_fixture.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;
using testing::World;

std::string Reference(const std::vector<Candidate>& items, const ServingModel* model,
                      const CatalogSnapshot* catalog, const std::string& experiment) {
  v1::RecommendResponse resp;
  AddRecommendedItems(items, model, catalog, resp.mutable_items());
  resp.set_model_version(model != nullptr ? model->version() : "");
  resp.set_experiment_id(experiment);
  resp.set_variant(experiment.empty() ? "" : "b");
  return resp.SerializeAsString();
}

std::string Written(const std::vector<Candidate>& items, const ServingModel* model,
                    const CatalogSnapshot* catalog, const std::string& experiment, ItemFieldCaches& caches) {
  std::string out;
  ResponseWriter writer(&out);
  std::shared_ptr<const ItemFieldCache> fields = caches.For(model, catalog);
  for (const Candidate& c : items) writer.AddItem(c, fields.get(), model, catalog);
  writer.SetTrailer(model != nullptr ? model->version() : "", experiment, experiment.empty() ? "" : "b");
  return out;
}

class ResponseEncodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<CatalogItem> items = World().items;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i % 3 == 0) items[i].price = 12.5 + i;  // some with a price, some without
    }
    // An item the model does not know, and the model's items minus one the catalogue no longer sells.
    CatalogItem fresh;
    fresh.id = "launched-today";
    fresh.info.title = "Launched today";
    fresh.info.category = "cat2";
    fresh.price = 3;
    items.push_back(fresh);
    removed_ = items[1].id;
    items.erase(items.begin() + 1);
    catalog_ = std::make_shared<CatalogSnapshot>(std::move(items), std::vector<Promotion>{}, absl::Now());
  }
  std::shared_ptr<const CatalogSnapshot> catalog_;
  std::string removed_;
  ItemFieldCaches caches_;
};

TEST_F(ResponseEncodingTest, EngineAnswersOnEveryPathEncodeLikeTheGeneratedSerialiser) {
  OnlineState online;
  Engine engine(EngineOptions{}, &online, nullptr);
  const ServingModel* model = World().model.get();
  std::vector<RecommendQuery> queries = {
      {.user_id = World().UserInCluster(1), .n = 10},
      {.user_id = "visitor", .n = 7, .category = "cat3"},
      {.n = 5, .session_items = {World().model->bundle().items.Name(4)}},
  };
  for (const RecommendQuery& q : queries) {
    auto outcome = engine.Recommend(model, catalog_.get(), q);
    ASSERT_THAT(outcome, IsOk());
    ASSERT_FALSE(outcome->items.empty());
    EXPECT_EQ(Written(outcome->items, model, catalog_.get(), "", caches_),
              Reference(outcome->items, model, catalog_.get(), ""));
    EXPECT_EQ(Written(outcome->items, model, catalog_.get(), "exp", caches_),
              Reference(outcome->items, model, catalog_.get(), "exp"));
  }
}

TEST_F(ResponseEncodingTest, HandMadeItemsEncodeLikeTheGeneratedSerialiser) {
  const ServingModel* model = World().model.get();
  const std::string known = model->bundle().items.Name(0);
  ASSERT_GE(model->bundle().items.Find(removed_), 0);
  std::vector<Candidate> items = {
      {.item_id = known, .score = 2.5, .reason = "because", .source = "als", .model_index = 0},
      {.item_id = known, .score = -1.25, .reason = "", .source = "popular"},  // not resolved: by id
      {.item_id = removed_,
       .score = 0.0,
       .reason = "r",
       .source = "s",
       .model_index = model->bundle().items.Find(removed_)},  // the model has it, the catalogue not
      {.item_id = "launched-today", .score = -0.0, .reason = "new", .source = "content"},
      {.item_id = "unknown-to-all", .score = 1e300, .reason = std::string(300, 'x'), .source = "promotion"},
  };
  EXPECT_EQ(Written(items, model, catalog_.get(), "e", caches_),
            Reference(items, model, catalog_.get(), "e"));
  // Without a catalogue, and without a model.
  EXPECT_EQ(Written(items, model, nullptr, "", caches_), Reference(items, model, nullptr, ""));
  EXPECT_EQ(Written(items, nullptr, catalog_.get(), "", caches_),
            Reference(items, nullptr, catalog_.get(), ""));
  v1::RecommendResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Written(items, model, catalog_.get(), "", caches_)));
  ASSERT_EQ(parsed.items_size(), 5);
  EXPECT_EQ(parsed.items(3).title(), "Launched today");
  EXPECT_DOUBLE_EQ(parsed.items(3).price(), 3);
  EXPECT_EQ(parsed.items(4).reason().size(), 300u);
}

TEST_F(ResponseEncodingTest, OneCachePerSnapshotPair) {
  const ServingModel* model = World().model.get();
  auto a = caches_.For(model, catalog_.get());
  EXPECT_EQ(a.get(), caches_.For(model, catalog_.get()).get());
  auto other = World().MakeCatalog();
  EXPECT_NE(a.get(), caches_.For(model, other.get()).get());
  EXPECT_EQ(caches_.For(nullptr, catalog_.get()), nullptr);
}

}  // namespace
}  // namespace marketlens::recommender
