// Next-item evaluation for session models over time-ordered data (the GRU4Rec / session-kNN protocol):
// events are grouped into sequences (per session id, or per user: a short-history shopper's stream), each
// ordered by time with repeats removed; the sequences that END in the last `test_fraction` of the time range
// are test sequences, the rest train the models. For every test sequence and every position t >= 1, the
// model sees items [0, t) and must rank item t: HR@K = share of predictions with the target in the top K,
// MRR@K = mean of 1/rank (0 beyond K). Items of the prefix are never recommended; targets unknown to
// training still count (as misses).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_SESSION_EVAL_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_SESSION_EVAL_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "services/recommender/algo/session_knn.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct SessionEvalOptions {
  bool by_session = false;     // group by session id (else by user)
  double test_fraction = 0.2;  // by the sequences' end time
  int k = 10;
  int max_prefix = 0;  // 0: whole prefix; else only the last max_prefix items are shown
};

struct SessionSplitData {
  std::vector<SessionSequence> train;
  std::vector<SessionSequence> test;
  int32_t num_items = 0;
};

SessionSplitData SplitSessions(const InteractionLog& log, const SessionEvalOptions& options);

struct NextItemMetrics {
  double hit_rate = 0;  // HR@K
  double mrr = 0;       // MRR@K
  int64_t predictions = 0;
};

// scorer(prefix, hour, out): writes one score per item.
using SessionScorer = std::function<void(absl::Span<const int32_t>, int, absl::Span<float>)>;
NextItemMetrics EvaluateNextItem(const SessionSplitData& data, const SessionScorer& scorer,
                                 const SessionEvalOptions& options);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_SESSION_EVAL_H_
