#include "services/recommender/serving/serving_fixture.h"

#include "absl/strings/str_cat.h"
#include "services/recommender/bundle/trainer.h"

namespace marketlens::recommender::testing {

std::shared_ptr<const CatalogSnapshot> TestWorld::MakeCatalog(std::vector<Promotion> promotions) const {
  return std::make_shared<CatalogSnapshot>(items, std::move(promotions), absl::Now());
}

int TestWorld::Cluster(const std::string& item_id) const {
  if (item_id == "new1") return 2;
  return SyntheticItemCluster(item_id, 5);
}

std::string TestWorld::UserInCluster(int c) const {
  for (int32_t u = 0; u < model->bundle().num_users(); ++u) {
    const std::string& id = model->bundle().users.Name(u);
    if (data.user_cluster[data.log.users.Find(id)] == c) return id;
  }
  return "";
}

std::unique_ptr<TestWorld> MakeWorld(const std::string& version) {
  auto w = std::make_unique<TestWorld>();
  w->data = GenerateSynthetic({.users = 400,
                               .items = 100,
                               .clusters = 5,
                               .events_per_user = 16,
                               .in_cluster = 0.9,
                               .seed = 9,
                               .shop_events = true});
  absl::flat_hash_map<std::string, std::string> regions;
  for (int u = 0; u < 400; ++u) regions[absl::StrCat("u", u)] = u % 2 == 0 ? "DE" : "US";
  TrainConfig config;
  config.params = {{"als.factors", "16"}, {"als.iterations", "8"}};
  config.hygiene.min_user_interactions = 3;
  config.hygiene.min_item_interactions = 3;
  config.evaluate = false;
  config.version = version;
  config.threads = 2;
  auto trained =
      TrainBundle({.log = &w->data.log, .catalog = &w->data.catalog, .user_region = &regions}, config);
  if (!trained.ok()) return nullptr;
  auto model = ServingModel::Create(std::move(trained->bundle));
  if (!model.ok()) return nullptr;
  w->model = *model;
  for (int i = 0; i < 100; ++i) {
    CatalogItem item;
    item.id = absl::StrCat("i", i);
    item.info = w->data.catalog.at(item.id);
    item.stock = 5;
    item.margin = 0.2;
    w->items.push_back(std::move(item));
  }
  CatalogItem fresh;
  fresh.id = "new1";
  fresh.info = w->data.catalog.at("i2");
  fresh.info.title = "brand new " + fresh.info.title;
  fresh.stock = 5;
  w->items.push_back(std::move(fresh));
  return w;
}

const TestWorld& World() {
  static const TestWorld* world = MakeWorld().release();
  return *world;
}

}  // namespace marketlens::recommender::testing
