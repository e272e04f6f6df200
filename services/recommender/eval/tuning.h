// Hyper-parameter search on a validation split carved from the TRAINING data only (the test side is never
// looked at while choosing): every candidate is fitted on train-minus-validation and scored by NDCG@K on
// the validation pairs; the best candidate is returned for a final fit on the whole training data.
// Candidates come from a small per-algorithm grid (DefaultGrid); when the grid is larger than max_trials,
// a seeded random sample of it is tried (random search).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_TUNING_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_TUNING_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/recommender/eval/evaluator.h"

namespace marketlens::recommender {

// Parameter name -> values to try.
using Grid = std::map<std::string, std::vector<std::string>>;

// A small grid per algorithm (empty for algorithms without tunable parameters).
Grid DefaultGrid(const std::string& algorithm);
// Every combination of the grid, merged over `base`.
std::vector<Params> ExpandGrid(const Grid& grid, const Params& base = {});

struct TuningOptions {
  int max_trials = 8;
  double validation_fraction = 0.2;  // random per-user validation split of the training data
  uint64_t seed = 11;
};

struct Trial {
  Params params;
  double ndcg = 0;
  absl::Status status;
};

struct TuningResult {
  Params best;
  double best_ndcg = -1;
  std::vector<Trial> trials;
};

absl::StatusOr<TuningResult> Tune(const std::string& algorithm, const InteractionLog& train,
                                  const ItemCatalog* catalog, const Params& base, const EvalOptions& eval,
                                  const TuningOptions& options = {});

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_TUNING_H_
