// A learned hybrid: every model is a candidate source, and their blend weights are fitted to maximise NDCG@K
// on a validation split carved from the training data (never the test side).
//
// How: each member is fitted on train-minus-validation; for every validation user the union of the members'
// top-`pool` items (training items excluded) is the candidate pool, each member's scores there are scaled by
// its largest absolute score for that user (as HybridModel does when serving), and coordinate ascent over the
// weights (a grid per weight, a few sweeps, starting from the best single member alone) keeps any change that
// raises validation NDCG. Starting from the best member means the blend is never worse than it on
// validation; whether it beats it on the test side is what the evaluation measures.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_BLEND_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_BLEND_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/recommender/algo/model.h"
#include "services/recommender/eval/evaluator.h"

namespace marketlens::recommender {

struct BlendOptions {
  int pool = 100;  // candidates per member per user
  int sweeps = 3;  // coordinate-ascent passes over the members
  std::vector<float> grid = {0, 0.05f, 0.1f, 0.2f, 0.35f, 0.5f, 0.75f, 1, 1.5f, 2, 3, 5};
};

struct BlendFit {
  std::vector<float> weights;       // per member
  std::vector<double> member_ndcg;  // each member alone on validation
  double ndcg = 0;                  // the blend on validation
  int best_member = 0;
};

// Learns weights for `members`, which must already be fitted on validation.train.
BlendFit LearnBlendWeights(const std::vector<const Model*>& members, const EvalData& validation,
                           const EvalOptions& eval, const BlendOptions& options = {});

struct LearnedHybridResult {
  AlgorithmResult result;  // name "hybrid": the blend fitted on the full training side, evaluated on test
  BlendFit fit;            // the weights as learned on validation
  std::vector<std::string> members;
};

// The whole procedure for `cli evaluate`: members (name, params) are fitted on validation.train, weights
// learned there, then every member is refitted on test.train and the blend evaluated on `test`. Members that
// cannot run on the data (FAILED_PRECONDITION) are left out.
absl::StatusOr<LearnedHybridResult> EvaluateLearnedHybrid(
    const std::vector<std::pair<std::string, Params>>& members, const EvalData& validation,
    const EvalData& test, const EvalOptions& eval, const BlendOptions& options = {});

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_BLEND_H_
