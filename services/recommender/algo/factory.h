// Algorithms by name, with hyper-parameters given as strings (from the CLI, the tuner and the registry):
//   popularity, popularity_window (window_days), popularity_category, item_knn / item_knn_bm25 (neighbors,
//   shrink, bm25_k1, bm25_b), ease (lambda, max_items), als (factors, regularization, alpha, iterations,
//   cg_steps), copurchase (min_support, shrink, neighbors, basket), content (neighbors, category_weight,
//   description_weight), ncf (factors, hidden, learning_rate, regularization, epochs, seed), two_tower
//   (factors, learning_rate, regularization, epochs, id_dropout, history_cap, seed), hybrid (w_als,
//   w_item_knn, w_content, w_popularity, and the members' own parameters prefixed with their name:
//   als.factors=64).
// An unknown name or parameter, or a value that does not parse, is INVALID_ARGUMENT.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_FACTORY_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/recommender/algo/model.h"

namespace marketlens::recommender {

// Every name MakeModel accepts, in report order (popularity first: the baseline).
const std::vector<std::string>& AlgorithmNames();

absl::StatusOr<std::unique_ptr<Model>> MakeModel(absl::string_view name, const Params& params = {},
                                                 int threads = 0);

// "k=v,k=v" -> Params (INVALID_ARGUMENT on a malformed pair).
absl::StatusOr<Params> ParseParams(absl::string_view text);
std::string FormatParams(const Params& params);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_FACTORY_H_
