// The training job behind `cli train` and the service's bootstrap: interactions (+ catalogue, + shopper
// regions) in, one ModelBundle out, with the hygiene report and offline metrics of the very blend being
// shipped (temporal leave-last-n holdout, next to the popularity baseline) for the registry row.
// The final fit uses all the (clean) data; the holdout fit only measures.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_TRAINER_H_
#define MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_TRAINER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/recommender/algo/model.h"
#include "services/recommender/bundle/bundle.h"
#include "services/recommender/data/dataset.h"
#include "services/recommender/data/hygiene.h"
#include "services/recommender/eval/evaluator.h"

namespace marketlens::recommender {

struct TrainConfig {
  // What the personal score blends: "hybrid" (ALS + item-kNN + popularity), "als", "item_knn",
  // "popularity". Item-kNN, co-purchase and the popularity tables are always built: SimilarItems,
  // FrequentlyBoughtTogether, reasons and cold start need them whatever the blend.
  std::string algorithm = "hybrid";
  // w_als, w_item_knn, w_popularity, and the components' parameters prefixed: als.factors=64,
  // item_knn.neighbors=50, copurchase.min_support=2 (see algo/factory.h). Unknown keys are refused.
  Params params;
  HygieneOptions hygiene;
  EventWeights weights;
  int64_t recent_window_seconds = 7 * 86400;
  bool evaluate = true;
  int eval_k = 10;
  int eval_leave_last = 1;
  int threads = 0;
  std::string version;     // empty: "v<UTC yyyymmddThhmmss>-<algorithm>"
  int64_t trained_at = 0;  // 0: now
};

struct TrainInput {
  const InteractionLog* log = nullptr;
  const ItemCatalog* catalog = nullptr;                                        // optional
  const absl::flat_hash_map<std::string, std::string>* user_region = nullptr;  // optional
};

struct TrainResult {
  ModelBundle bundle;
  HygieneReport hygiene;
  std::vector<AlgorithmResult> evaluation;  // [popularity, the shipped blend] when evaluated
  double seconds = 0;
};

absl::StatusOr<TrainResult> TrainBundle(const TrainInput& input, const TrainConfig& config);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_TRAINER_H_
