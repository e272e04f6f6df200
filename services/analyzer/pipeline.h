// The analyzer's background work: keeping insights.* in step with raw.reviews.
//
// - Stream: new and edited reviews are announced by the collector on the Redis stream `marketlens:reviews`
//   (fields review_id, product_id, version, queued_at, ...). The pipeline reads it through the consumer group
//   "analyzer" (so entries wait while the analyzer is down, and a crashed consumer's pending entries are
//   claimed by another after `claim_idle`), analyses the current version of each review from raw.reviews,
//   recomputes the touched products' insights and alerts, and only then acknowledges the entries
//   (at-least-once; every write is an idempotent upsert).
// - Catch-up: every `catchup_interval` (and at start) it also analyses whatever raw.reviews holds that is
//   missing or stale in insights.review_analysis: reviews stored while Redis was down, entries trimmed from
//   the stream, and everything after the model changed. Redis is an accelerator, never the source of truth.
// - Model: at start it loads the active weak-label model from insights.models; when there is none, or the
//   number of reviews grew by `retrain_growth` since the active model was trained, it retrains on the rated
//   reviews through the gate (engine/model_gate.h: class-balanced training, judged against rules alone on a
//   balanced held-out sample by balanced accuracy and macro-F1); only a model that passes is stored,
//   activated and used, and aspect terms are rediscovered. A rejected model is logged and counted
//   (analyzer_model_trainings_total{outcome="rejected"}, gate figures as gauges), the engine keeps what it
//   had, and the next attempt waits for the data to grow by `retrain_growth`. The new version makes every
//   earlier analysis stale, so the catch-up re-scores them in the background.
#ifndef MARKETLENS_SERVICES_ANALYZER_PIPELINE_H_
#define MARKETLENS_SERVICES_ANALYZER_PIPELINE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/redis/client.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/model_gate.h"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer {

inline constexpr char kReviewStream[] = "marketlens:reviews";

struct PipelineOptions {
  std::string stream = kReviewStream;
  std::string group = "analyzer";
  std::string consumer = "analyzer-1";  // unique per instance (main uses the host name and pid)
  int stream_batch = 500;
  absl::Duration stream_block = absl::Seconds(1);
  absl::Duration claim_idle = absl::Minutes(2);
  int catchup_batch = 2000;
  absl::Duration catchup_interval = absl::Seconds(30);
  // Training.
  bool train = true;
  int train_limit = 200000;     // newest rated reviews used
  double retrain_growth = 0.2;  // retrain when reviews grew by 20% since the active model
  absl::Duration retrain_check_interval = absl::Minutes(5);
  GateOptions gate;  // gate.train: the model's training options (cancel is set by the pipeline)
  int discovery_min_documents = 8;
  int discovery_max_per_category = 15;
  AggregateOptions aggregate;
  AlertOptions alerts;
  // The change tests (insights/change_detection.h). With eb_stars, the catalogue's star-levels prior is
  // fitted once per batch over every product's star counts and kept while it is unchanged (so is its
  // Monte Carlo null cache).
  ChangeOptions changes;
};

struct BatchResult {
  int reviews = 0;
  int products = 0;
  int alerts_raised = 0;
};

class Pipeline {
 public:
  Pipeline(InsightsStore* store, Engine* engine, redis::RedisClient* redis, PipelineOptions options,
           AnalyzerMetrics* metrics = &AnalyzerMetrics::Default());
  ~Pipeline();

  // Loads the active model and discovered terms (training one when there is none and enough data).
  absl::Status Init();
  // Starts the background loop: Init() (retried until it succeeds), then stream + catch-up + retraining.
  // Stop() joins it.
  void Start();
  void Stop();
  // Asks the loop to stop without waiting (safe from a signal listener thread).
  void RequestStop() { stop_ = true; }
  // Asks the loop to stop and waits up to `timeout` for it (then joins it and returns true). Everything the
  // loop does checks the stop flag often (a training run within ~1024 examples, catch-up per batch, the
  // recompute per product, a stream read blocks at most `stream_block`), so this normally returns true
  // well within a second. False only if it is still busy (e.g. a database call stuck until its timeout):
  // the caller may then exit without it, since stream entries are acknowledged only after their results
  // are stored.
  bool StopWithin(absl::Duration timeout);

  // One catch-up pass over everything stale; returns what it did. (The loop calls this; exposed for tests.)
  absl::StatusOr<BatchResult> CatchUp();
  // Analyses these reviews (current versions) and recomputes their products.
  absl::StatusOr<BatchResult> ProcessReviews(const std::vector<std::string>& review_ids,
                                             const std::string& source);
  // Reads one batch from the stream and processes it; returns the entries handled. (Exposed for tests.)
  absl::StatusOr<int> PollStreamOnce(absl::Duration block);
  // Trains a model now and, if it passes the gate, stores and activates it (and rediscovers aspect terms);
  // FAILED_PRECONDITION when there are not enough rated reviews or the gate rejects the model, CANCELLED
  // when a stop was requested meanwhile.
  absl::Status Retrain();
  // Retrains if there is no model or the data grew enough.
  absl::Status MaybeRetrain();

  // Called on the pipeline's thread with every batch of analyses once stored (the LLM review mode queues
  // its candidates here, llm_review/llm_reviewer.h). It must be quick and must not block. Set before
  // Start().
  using AnalysedObserver = std::function<void(const std::vector<std::pair<ReviewRow, Analysis>>&)>;
  void set_analysed_observer(AnalysedObserver observer) { analysed_observer_ = std::move(observer); }

 private:
  // Analyses and stores the rows; adds the products touched to `products`.
  absl::Status AnalyzeAndSave(const std::vector<ReviewRow>& rows, const std::string& source,
                              std::set<std::string>* products);
  // Recomputes the products' insights (with the data's clock).
  absl::Status Recompute(const std::set<std::string>& products, BatchResult* result);
  // The change options for this batch: with eb_stars, the prior fitted over the catalogue's star counts.
  absl::StatusOr<ChangeOptions> ChangeOptionsFor(absl::Time now);
  void Loop();

  InsightsStore* store_;
  Engine* engine_;
  redis::RedisClient* redis_;
  PipelineOptions options_;
  AnalyzerMetrics* metrics_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};  // the loop has returned
  std::thread thread_;
  // The empirical-Bayes star-levels model of the last batch (the pipeline's one thread recomputes).
  std::shared_ptr<StarLevelsEmpiricalBayes> stars_model_;
  absl::Mutex train_mu_;  // one training at a time
  bool group_ready_ = false;
  AnalysedObserver analysed_observer_;
  int64_t rejected_at_reviews_ = 0;  // training data size at the last gate rejection (0: none)
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_PIPELINE_H_
