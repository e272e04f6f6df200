#include "services/recommender/eval/tuning.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {

Grid DefaultGrid(const std::string& algorithm) {
  if (algorithm == "als") {
    return {{"factors", {"16", "32", "64"}},
            {"regularization", {"0.01", "0.1", "1"}},
            {"alpha", {"1", "4", "16"}}};
  }
  if (algorithm == "item_knn" || algorithm == "item_knn_bm25") {
    return {{"neighbors", {"20", "50", "200"}}, {"shrink", {"0", "10", "50"}}};
  }
  if (algorithm == "ease") return {{"lambda", {"50", "200", "500", "1000"}}};
  if (algorithm == "copurchase") return {{"min_support", {"1", "2", "5"}}, {"shrink", {"0", "5", "20"}}};
  if (algorithm == "content")
    return {{"category_weight", {"1", "2", "4"}}, {"description_weight", {"0.25", "0.5", "1"}}};
  if (algorithm == "popularity_window") return {{"window_days", {"7", "30", "90"}}};
  if (algorithm == "hybrid") {
    return {{"w_item_knn", {"0", "0.25", "0.5", "1"}},
            {"w_popularity", {"0", "0.1", "0.3"}},
            {"w_content", {"0", "0.2"}}};
  }
  return {};
}

std::vector<Params> ExpandGrid(const Grid& grid, const Params& base) {
  std::vector<Params> out = {base};
  for (const auto& [key, values] : grid) {
    std::vector<Params> next;
    for (const Params& p : out) {
      for (const std::string& v : values) {
        Params q = p;
        q[key] = v;
        next.push_back(std::move(q));
      }
    }
    out = std::move(next);
  }
  return out;
}

absl::StatusOr<TuningResult> Tune(const std::string& algorithm, const InteractionLog& train,
                                  const ItemCatalog* catalog, const Params& base, const EvalOptions& eval,
                                  const TuningOptions& options) {
  std::vector<Params> candidates = ExpandGrid(DefaultGrid(algorithm), base);
  if (static_cast<int>(candidates.size()) > options.max_trials) {
    std::mt19937_64 rng(options.seed);
    std::shuffle(candidates.begin(), candidates.end(), rng);
    candidates.resize(std::max(1, options.max_trials));
  }
  TuningResult result;
  if (candidates.size() == 1) {  // nothing to choose
    result.best = candidates[0];
    return result;
  }
  Split split = RandomPerUser(train, options.validation_fraction, options.seed);
  absl::StatusOr<EvalData> data = PrepareEvaluation(split.train, split.test, catalog, eval);
  if (!data.ok()) {
    return absl::Status(data.status().code(), absl::StrCat("validation split: ", data.status().message()));
  }
  for (const Params& p : candidates) {
    Trial t;
    t.params = p;
    auto results = EvaluateAlgorithms(*data, {{algorithm, p}}, eval);
    t.status = results[0].status;
    t.ndcg = results[0].metrics.ndcg;
    if (t.status.ok() && t.ndcg > result.best_ndcg) {
      result.best_ndcg = t.ndcg;
      result.best = p;
    }
    result.trials.push_back(std::move(t));
  }
  if (result.best_ndcg < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(algorithm, ": no candidate could be fitted: ", result.trials[0].status.ToString()));
  }
  return result;
}

}  // namespace marketlens::recommender
