// Offline ranking metrics, per user and averaged over users (definitions as in most of the literature;
// each is checked against hand-computed cases in metrics_test.cc):
//   Precision@K = hits in the top K / K
//   Recall@K    = hits in the top K / |relevant|
//   NDCG@K      = DCG / IDCG with binary gains: DCG = sum over hits at rank r (1-based) of 1 / log2(r + 1),
//                 IDCG = the DCG of min(|relevant|, K) hits at the top
//   AP@K        = sum over hits at rank r of Precision@r / min(|relevant|, K); MAP@K is its mean
// and list properties over every user's list:
//   coverage    = distinct items recommended to anyone / items in the catalogue
//   diversity   = intra-list diversity: mean over lists of the mean over item pairs of (1 - cosine
//                 similarity of the two items' training user vectors), so 1 = nothing in common
//   novelty     = mean over recommended items of -log2(share of training users who have the item) (items
//                 nobody has count as 1 / users): recommending bestsellers scores low.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_METRICS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_METRICS_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "services/recommender/data/dataset.h"

namespace marketlens::recommender {

struct RankingMetrics {
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
};

// The metrics of one ranked list against the user's relevant items (sorted ascending).
RankingMetrics UserRankingMetrics(absl::Span<const int32_t> ranked, absl::Span<const int32_t> relevant,
                                  int k);

struct EvalMetrics {
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
  double coverage = 0;
  double diversity = 0;
  double novelty = 0;
  int64_t users = 0;  // users evaluated
};

// Cosine similarity between items' binary user vectors in `data` (sorted-list intersection).
class ItemCooccurrenceSimilarity {
 public:
  explicit ItemCooccurrenceSimilarity(const TrainingData& data) : item_users_(&data.item_users) {}
  float operator()(int32_t a, int32_t b) const;

 private:
  const CsrMatrix* item_users_;
};

// Accumulates users' lists; not thread-safe (use one per thread and Merge).
class MetricsAccumulator {
 public:
  // item_users[i] = how many training users have item i; num_users = training users.
  MetricsAccumulator(int k, int32_t num_items, const std::vector<int32_t>* item_users, int32_t num_users,
                     std::function<float(int32_t, int32_t)> similarity);
  void Add(absl::Span<const int32_t> ranked, absl::Span<const int32_t> relevant);
  void Merge(const MetricsAccumulator& other);
  EvalMetrics Finish() const;

 private:
  int k_;
  int32_t num_items_;
  const std::vector<int32_t>* item_users_;
  int32_t num_users_;
  std::function<float(int32_t, int32_t)> similarity_;
  RankingMetrics sum_;
  double diversity_sum_ = 0;
  int64_t diversity_lists_ = 0;
  double novelty_sum_ = 0;
  int64_t novelty_items_ = 0;
  int64_t users_ = 0;
  absl::flat_hash_set<int32_t> recommended_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_METRICS_H_
