#include "services/recommender/bench/serving_bench_world.h"

#include <cstdio>
#include <functional>
#include <utility>

#include "services/recommender/bundle/trainer.h"

namespace marketlens::recommender {

SyntheticData GenerateServingBenchWorld(int users) {
  return GenerateSynthetic({.users = users,
                            .items = 1000,
                            .clusters = 12,
                            .events_per_user = 30,
                            .in_cluster = 0.8,
                            .shop_events = true});
}

absl::StatusOr<std::shared_ptr<const ServingModel>> TrainServingBenchModel(const SyntheticData& world,
                                                                           const std::string& algorithm) {
  TrainConfig config;
  config.evaluate = false;
  config.algorithm = algorithm;
  config.hygiene.min_user_interactions = 1;
  config.hygiene.min_item_interactions = 1;
  config.params = {{"als.factors", "32"}, {"als.iterations", "10"}};
  if (algorithm == "two_tower") config.params["two_tower.epochs"] = "3";
  if (algorithm == "ncf") config.params["ncf.epochs"] = "3";
  auto trained = TrainBundle({.log = &world.log, .catalog = &world.catalog}, config);
  if (!trained.ok()) return trained.status();
  auto model = ServingModel::Create(std::move(trained->bundle));
  if (!model.ok()) return model.status();
  return std::shared_ptr<const ServingModel>(*std::move(model));
}

std::vector<CatalogItem> ServingBenchCatalogItems(const SyntheticData& world) {
  std::vector<CatalogItem> items;
  items.reserve(world.catalog.size());
  for (const auto& [id, info] : world.catalog) {
    CatalogItem item;
    item.id = id;
    item.info = info;
    item.stock = (std::hash<std::string>()(id) % 20 == 0) ? 0 : 10;
    item.margin = (std::hash<std::string>()(id) % 5 == 0) ? 0.5 : 0.2;
    items.push_back(std::move(item));
  }
  return items;
}

double LoadAverage() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

}  // namespace marketlens::recommender
