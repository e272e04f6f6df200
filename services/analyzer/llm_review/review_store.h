// The LLM review mode's Postgres side: insights.review_llm_analysis (migration 0048).
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_STORE_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_STORE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/postgres/pool.h"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm_review/review_schema.h"

namespace marketlens::analyzer::llm_review {

struct ReviewInsightRecord {
  std::string review_id, product_id;
  int review_version = 1;
  std::string content_hash;
  std::string backend;  // "openai" or "local"
  std::string model, prompt_id;
  std::string fallback_reason;  // "" when the model answered
  bool cached = false;
  ReviewInsight insight;
};

class ReviewInsightStore {
 public:
  explicit ReviewInsightStore(postgres::PgPool* pool) : pool_(pool) {}
  // For the reviews among `ids` already analysed with `prompt_id`: review id -> content hash.
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> StoredHashes(
      const std::vector<std::string>& ids, const std::string& prompt_id);
  // The backlog: reviews analysed by the local engine that the sampling policy would pick for their own
  // sake (1-2 stars, an issue or rating_mismatch; not empty or too short) and that have no result for
  // `prompt_id` yet; low stars first, then the newest. (Reviews stored before the mode was turned on, or
  // queued when the process stopped.)
  absl::StatusOr<std::vector<ReviewRow>> Backlog(const std::string& prompt_id, int limit);
  // Upserts (one statement; an older review version never replaces a newer one).
  absl::Status Save(const std::vector<ReviewInsightRecord>& records);

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_STORE_H_
