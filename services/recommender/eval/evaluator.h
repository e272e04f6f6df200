// Offline evaluation: fit each algorithm on the training side, recommend K unseen items to every test
// user, and score the lists against the items the user actually interacted with in the test side
// (metrics.h). Hygiene (minimum counts, duplicates, bots) runs on the training side only; the test side
// is taken as it is, because that is what the shoppers did.
// Test users unknown to training are counted (cold_test_users) but not evaluated (collaborative models
// cannot rank for them; the serving path handles them with popularity in context). Test items unknown to
// training stay relevant, so a model is not rewarded for a catalogue that hides them; items the user
// already had in training are not relevant (they are never recommended).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_EVALUATOR_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_EVALUATOR_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/recommender/algo/model.h"
#include "services/recommender/data/dataset.h"
#include "services/recommender/data/hygiene.h"
#include "services/recommender/eval/metrics.h"

namespace marketlens::recommender {

struct EvalOptions {
  int k = 10;
  HygieneOptions hygiene;
  BuildOptions build;
  // Test ratings below this are not relevant (e.g. 4 with MovieLens: "items the user liked").
  float relevance_min_rating = 0;
  int threads = 0;
  int max_users = 0;  // evaluate at most this many users (a deterministic spread), 0: all
};

struct EvalData {
  TrainingData train;
  std::vector<std::vector<int32_t>> relevant;  // per training user, sorted; empty: not evaluated
  std::vector<int32_t> eval_users;
  std::vector<int32_t> item_users;  // training users per item (for novelty)
  HygieneReport hygiene;
  int64_t test_users = 0;
  int64_t cold_test_users = 0;
  int64_t test_pairs = 0;          // relevant (user, item) pairs of evaluated users
  int64_t unknown_item_pairs = 0;  // of which the item is unknown to training
};

absl::StatusOr<EvalData> PrepareEvaluation(const InteractionLog& train, const InteractionLog& test,
                                           const ItemCatalog* catalog, const EvalOptions& options);

// Scores every evaluated user's top-K (training items excluded), on options.threads threads.
EvalMetrics EvaluateModel(const Model& model, const EvalData& data, const EvalOptions& options);
// The same over `users` only (a subset of data.eval_users; the tuner's cheap early rungs).
EvalMetrics EvaluateModel(const Model& model, const EvalData& data, const EvalOptions& options,
                          absl::Span<const int32_t> users);

struct AlgorithmResult {
  std::string name;
  Params params;
  EvalMetrics metrics;
  double fit_seconds = 0;
  double eval_seconds = 0;
  absl::Status status;  // not OK: the algorithm could not run on this data (metrics empty)
  // Set when the parameters were chosen by hyper-parameter search (tuning.h).
  int tuning_trials = 0;
  double validation_ndcg = 0;
};

// Builds (factory.h), fits and evaluates each algorithm in turn.
std::vector<AlgorithmResult> EvaluateAlgorithms(const EvalData& data,
                                                const std::vector<std::pair<std::string, Params>>& algorithms,
                                                const EvalOptions& options);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_EVALUATOR_H_
