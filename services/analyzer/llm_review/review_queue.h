// Which reviews the LLM review mode looks at, and in what order.
//
// Sampling (SamplePriority, on the pipeline's thread: a few comparisons, no I/O): a review is a candidate
// when it has a low star rating (1-2), or the local engine flagged it (an issue, or a rating that
// contradicts the text), or it falls in a `sample_rate` share of the rest (chosen by a hash of its id, so
// the same reviews on every instance and run). Reviews with nothing to analyse (empty, too short) never
// are. Priority: 2 for a low rating + 1 for a flag.
//
// ReviewQueue: the candidates waiting for the background pass, best first: higher priority, then newer
// (created_at), then id. Bounded: when full, the worst waiting candidate makes room (counted by the
// caller), so a burst or a full re-analysis of old reviews cannot crowd out new low-star ones. A review
// queued again replaces its older entry. Thread-safe.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_QUEUE_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_QUEUE_H_

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer::llm_review {

struct SamplingPolicy {
  double sample_rate = 0.05;  // share of reviews neither low-star nor flagged that are looked at too
};

struct ReviewCandidate {
  ReviewRow review;
  Analysis local;  // the local engine's analysis: the fallback
  int priority = 0;
};

// The candidate's priority (0..3), or -1 when the review is not sampled.
int SamplePriority(const ReviewRow& review, const Analysis& local, const SamplingPolicy& policy);

class ReviewQueue {
 public:
  explicit ReviewQueue(size_t capacity) : capacity_(capacity) {}
  // Adds the candidates; returns how many waiting candidates were dropped to stay within capacity (a new
  // candidate worse than every waiting one is itself dropped).
  int Push(std::vector<ReviewCandidate> candidates);
  // Removes and returns the best `n`.
  std::vector<ReviewCandidate> PopBest(size_t n);
  // Waits until a candidate is queued or `timeout` passed; whether one is.
  bool WaitNonEmpty(absl::Duration timeout);
  size_t size();

 private:
  // Ordered best first.
  using Key = std::tuple<int, int64_t, std::string>;  // (-priority, -created_at micros, id)
  static Key KeyOf(const ReviewCandidate& c);
  bool NonEmpty() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); }
  const size_t capacity_;
  absl::Mutex mu_;
  std::map<Key, ReviewCandidate> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Key> by_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_QUEUE_H_
