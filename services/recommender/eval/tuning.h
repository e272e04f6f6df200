// Hyper-parameter search on a validation split carved from the TRAINING data only (the test side is never
// looked at while choosing): every candidate is fitted on train-minus-validation and scored by NDCG@K on
// the validation pairs; the best one is returned for a final fit on the whole training data.
//
// The search (Tune): `max_trials` candidates are drawn quasi-randomly (a scrambled Halton sequence, which
// covers the space more evenly than independent draws) from wide per-algorithm ranges (DefaultSpace: ALS
// factors 16-256, regularisation 1e-3..1e2 and alpha 0.1..100 on log scales, iterations 5-30; EASE lambda
// 1..1e4 on a log scale; kNN neighbours 10-1000 and shrink; ...). They are then raced by successive halving
// (Jamieson & Talwalkar 2016, eta = 3): every candidate first runs at a low fidelity (a third or a ninth of
// the validation users, and of the iterations/epochs for iterative models), the best third goes on to the
// next rung, and only the last rung runs at full fidelity. A wall-clock budget stops the race early (the best
// candidate of the highest rung reached wins). The old small grids (DefaultGrid) remain for callers that
// want an exhaustive sweep.
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

// One searched parameter. Log scales sample uniformly in log(value).
struct Dimension {
  enum Scale { kLinear, kLog };
  std::string name;
  double lo = 0;
  double hi = 1;
  Scale scale = kLinear;
  bool integer = false;
};

struct SearchSpace {
  std::vector<Dimension> dimensions;
  // The parameter that sets training effort (iterations / epochs), scaled down on cheap rungs; "" if none.
  std::string fidelity_param;
  int default_fidelity = 0;  // its value when not searched
};

// The search space per algorithm (empty dimensions: nothing to tune).
SearchSpace DefaultSpace(const std::string& algorithm);
// `n` quasi-random points of the space (scrambled Halton, `seed` picks the scramble), merged over `base`
// (a parameter given in `base` is fixed, not searched).
std::vector<Params> SampleSpace(const SearchSpace& space, int n, uint64_t seed, const Params& base = {});

struct TuningOptions {
  int max_trials = 27;               // candidates drawn (the first rung's size)
  double validation_fraction = 0.2;  // random per-user validation split of the training data
  uint64_t seed = 11;
  int eta = 3;                     // successive halving keeps 1/eta per rung
  int rungs = 3;                   // fidelity of rung r = eta^(r - rungs + 1)
  double time_budget_seconds = 0;  // 0: no limit
};

struct Trial {
  Params params;
  double ndcg = 0;
  int rung = 0;
  double fidelity = 1;
  double seconds = 0;
  absl::Status status;
};

struct TuningResult {
  Params best;
  double best_ndcg = -1;  // at the highest rung reached
  int best_rung = 0;
  bool budget_exhausted = false;
  double seconds = 0;
  std::vector<Trial> trials;
};

absl::StatusOr<TuningResult> Tune(const std::string& algorithm, const InteractionLog& train,
                                  const ItemCatalog* catalog, const Params& base, const EvalOptions& eval,
                                  const TuningOptions& options = {});
// The same on a validation split already prepared (e.g. shared by several algorithms' searches).
absl::StatusOr<TuningResult> TuneOn(const std::string& algorithm, const EvalData& validation,
                                    const Params& base, const EvalOptions& eval,
                                    const TuningOptions& options = {});

// "factors=64,regularization=0.1 (validation NDCG@10 0.1234 after 39 trials, rung 2)".
std::string DescribeTuning(const TuningResult& result, int k);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_TUNING_H_
