// The LLM review mode (--llm_review with --llm_backend=openai): reviews analysed through the LLM as well,
// in the background, after and apart from the local per-review pipeline.
//
//   pipeline thread: local analysis stored -> Offer(): sampled reviews queued (review_queue.h; a few
//                    comparisons and a copy per sampled review, no I/O: the stream is never held up)
//   reviewer thread, queue empty: the backlog (low-star and flagged reviews without a result: stored before
//                    the mode was on, or queued when the process stopped) every backfill_interval
//   reviewer thread: the best queued reviews, a batch at a time ->
//     already analysed as they read now (same content hash and prompt in insights.review_llm_analysis)
//                                                    -> skipped
//     Redis cache hit (key: prompt, model, content hash) -> stored as the model's answer (cached)
//     daily budget (budget.h) cannot fit one more    -> left queued until it can (the next UTC day)
//     one request for the batch ("review_batch" prompt, response_format json_schema when the server
//     supports it; StructuredLlm's retries, Retry-After, breaker, deadline) ->
//       answer cut at max_tokens                     -> the batch split in halves and asked again; a
//                                                       single review cut: the local engine answers
//       failed (error, deadline, breaker open, schema miss after a retry) -> the local engine answers
//       per review: item missing, not matching ReviewItemSchema, or quoting what the review does not say
//                                                    -> the local engine answers that review
//                                                    -> otherwise the model's answer, cached
//     stored with the backend that answered ("openai" / "local" with the reason).
// A local answer for a review is final for that content and prompt version: an edited review (another
// content hash) or a new prompt version is looked at again.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_LLM_REVIEWER_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_LLM_REVIEWER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/cache.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm/backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"
#include "services/analyzer/llm_review/budget.h"
#include "services/analyzer/llm_review/review_metrics.h"
#include "services/analyzer/llm_review/review_queue.h"
#include "services/analyzer/llm_review/review_store.h"

namespace marketlens::analyzer::llm_review {

struct ReviewerOptions {
  int batch_size = 8;
  int64_t reviews_per_day = 2000;
  int64_t tokens_per_day = 2000000;
  SamplingPolicy sampling;
  size_t queue_capacity = 10000;
  absl::Duration call_timeout = absl::Seconds(60);  // one batch request, retries included
  // Token estimates for the budget: per review its bytes / 4 plus this much answer; per request the
  // instructions.
  int answer_tokens_per_review = 250;
  int prompt_overhead_tokens = 450;
  size_t max_review_bytes = 6000;  // longer texts are cut in the prompt
  absl::Duration cache_ttl = absl::Hours(24 * 30);
  absl::Duration idle_wait = absl::Milliseconds(500);
  // With the queue empty, the backlog (ReviewInsightStore::Backlog) is read at most this often, a few
  // batches at a time; zero: never.
  absl::Duration backfill_interval = absl::Minutes(5);
  // With the budget spent, look again after this long (or at the next UTC day, whichever is first).
  absl::Duration budget_recheck = absl::Minutes(5);
  // The budget's clock (UTC days); deadlines use the real clock.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

class LlmReviewer {
 public:
  // Makes the remote backend; `cancel` becomes true when the reviewer stops (OpenAiOptions::cancel).
  using BackendFactory = std::function<std::unique_ptr<llm::LlmBackend>(const std::atomic<bool>* cancel)>;

  // NOT_FOUND when `prompts` has no "review_batch" template. `cache` may be null. Not owned: prompts, store,
  // cache, engine, metrics.
  static absl::StatusOr<std::unique_ptr<LlmReviewer>> Create(
      const BackendFactory& backend, llm::StructuredLlmOptions llm_options, const llm::PromptLibrary* prompts,
      ReviewInsightStore* store, redis::Cache* cache, const Engine* engine, ReviewerOptions options,
      ReviewMetrics* metrics = &ReviewMetrics::Default(),
      AnalyzerMetrics* llm_metrics = &AnalyzerMetrics::Default());
  ~LlmReviewer();

  // The pipeline's observer: queues the sampled reviews of a stored batch. Quick; never blocks on I/O.
  void Offer(const std::vector<std::pair<ReviewRow, Analysis>>& analysed);
  // One round (the background thread's step; exposed for tests): the best queued reviews, at most a batch,
  // analysed and stored. Returns how many were stored. An error (Postgres) leaves them queued.
  absl::StatusOr<int> RunOnce();
  // Queues up to four batches from the backlog, analysed again by the local engine (for the fallback);
  // returns how many. (The thread calls it when the queue is empty; exposed for tests.)
  absl::StatusOr<int> Backfill();
  void Start();
  void Stop();

  DailyBudget& budget() { return budget_; }
  ReviewQueue& queue() { return queue_; }
  const std::string& prompt_id() const { return prompt_id_; }
  // SHA-256 of what is analysed (category, rating, title, text).
  static std::string ContentHash(const ReviewRow& review);
  std::string CacheKey(const std::string& content_hash) const;

 private:
  struct Pending {
    ReviewCandidate candidate;
    std::string hash;
  };
  class MeteredBackend;
  LlmReviewer(const llm::PromptLibrary* prompts, ReviewInsightStore* store, redis::Cache* cache,
              const Engine* engine, ReviewerOptions options, ReviewMetrics* metrics);

  int64_t Estimate(const ReviewRow& review) const;
  // Asks the model about `batch` (its estimate fitted the budget) and adds a record per review to
  // `records` (or puts reviews back in the queue when stopping or the budget ran out).
  void AnalyseBatch(std::vector<Pending> batch, std::vector<ReviewInsightRecord>* records);
  // Fits the budget: the reviews that fit stay in `batch`, the rest go back to the queue. False (and the
  // pause is set) when none fits.
  bool FitBudget(std::vector<Pending>* batch);
  llm::RenderedPrompt Render(const std::vector<Pending>& batch) const;
  ReviewInsightRecord Fallback(const Pending& p, const std::string& reason) const;
  ReviewInsightRecord FromModel(const Pending& p, ReviewInsight insight, const std::string& model,
                                bool cached) const;
  void Requeue(std::vector<Pending> items);
  void UpdateGauges();
  void Loop();

  const llm::PromptLibrary* prompts_;
  const llm::PromptTemplate* template_ = nullptr;
  std::string prompt_id_;
  ReviewInsightStore* store_;
  redis::Cache* cache_;
  const Engine* engine_;
  ReviewerOptions options_;
  ReviewMetrics* metrics_;
  std::atomic<bool> stop_{false};
  MeteredBackend* meter_ = nullptr;  // owned by llm_
  std::string model_;
  std::unique_ptr<llm::StructuredLlm> llm_;
  DailyBudget budget_;
  ReviewQueue queue_;
  absl::Time paused_until_ = absl::InfinitePast();  // the reviewer thread's (or RunOnce's caller's)
  absl::Time next_backfill_ = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_LLM_REVIEWER_H_
