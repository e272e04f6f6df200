// The world both serving benchmarks (serve_bench, engine_bench) measure on: the same synthetic shop, the
// same short training settings and the same catalogue, so their per-call figures compare.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_BENCH_SERVING_BENCH_WORLD_H_
#define MARKETLENS_SERVICES_RECOMMENDER_BENCH_SERVING_BENCH_WORLD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/serving/catalog.h"
#include "services/recommender/serving/serving_model.h"

namespace marketlens::recommender {

// 1,000 items in 12 clusters, 30 events per user (shop events included).
SyntheticData GenerateServingBenchWorld(int users);

// Trains `algorithm` with few epochs (serving cost does not depend on how well a model is trained).
absl::StatusOr<std::shared_ptr<const ServingModel>> TrainServingBenchModel(const SyntheticData& world,
                                                                           const std::string& algorithm);

// The world's catalogue as served: 5% of the items out of stock, a fifth with a high margin.
std::vector<CatalogItem> ServingBenchCatalogItems(const SyntheticData& world);

// The 1-minute load average (other work on a shared machine), printed next to the figures; -1 if unknown.
double LoadAverage();

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_BENCH_SERVING_BENCH_WORLD_H_
