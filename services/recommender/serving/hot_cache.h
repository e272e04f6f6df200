// Hot candidate lists in Redis, shared by every replica: the popular-in-context lists of unknown shoppers
// (per model version, category, region and part of day) and SimilarItems lists. They are cached BEFORE
// business rules, so stock changes and do-not-show lists still apply to a cached list; keys carry the model
// version, so a promotion needs no invalidation. Redis trouble is a miss (redis::Cache), never an error.
// recommender_cache_requests_total{result="hit|miss"} gives the hit rate.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_HOT_CACHE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_HOT_CACHE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/redis/cache.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/recommender/serving/rules.h"

namespace marketlens::recommender {

// Candidates <-> a compact text form (one "id\tscore\tsource\treason" line each). Decoding fails on a
// source that is not one of kCandidateSources (not a list this version wrote); decoded reasons own their text.
std::string EncodeCandidates(const std::vector<Candidate>& candidates);
std::optional<std::vector<Candidate>> DecodeCandidates(const std::string& text);

class HotListCache {
 public:
  // `client` may be null (no Redis: every lookup computes).
  HotListCache(redis::RedisClient* client, absl::Duration ttl,
               std::shared_ptr<prometheus::Registry> registry);

  // The cached list for `key` of kind `list` ("popular", "similar"), or compute() stored for next time.
  std::vector<Candidate> GetOrCompute(const std::string& list, const std::string& key,
                                      const std::function<std::vector<Candidate>()>& compute);

  int64_t hits() const { return hits_->Value(); }
  int64_t misses() const { return misses_->Value(); }

 private:
  std::unique_ptr<redis::Cache> cache_;
  absl::Duration ttl_;
  std::shared_ptr<prometheus::Registry> registry_;  // keeps the counters alive
  prometheus::Family<prometheus::Counter>* family_;
  prometheus::Counter* hits_;
  prometheus::Counter* misses_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_HOT_CACHE_H_
