// The LLM review mode's Prometheus metrics (on metrics::DefaultRegistry(), served on /metrics), besides the
// LLM layer's own analyzer_llm_calls_total / _tokens_total / _latency_seconds (backend="openai"):
//
//   analyzer_llm_review_requests_total{outcome}        batch requests: ok, truncated, invalid_output,
//                                                      error, circuit_open, cancelled
//   analyzer_llm_review_reviews_total{backend,source}  reviews stored: backend openai (source llm or cache)
//                                                      or local (source fallback)
//   analyzer_llm_review_fallbacks_total{reason}        reviews the local engine answered instead: error,
//                                                      truncated, invalid_output, missing, invalid,
//                                                      ungrounded, circuit_open
//   analyzer_llm_review_tokens_total{kind}             prompt / completion tokens charged to the budget
//   analyzer_llm_review_budget_exhausted_total{budget} rounds that found the daily budget spent (reviews,
//                                                      tokens)
//   analyzer_llm_review_budget_remaining{budget}       what is left today (reviews, tokens)
//   analyzer_llm_review_queue_depth                    sampled reviews waiting
//   analyzer_llm_review_sampled_total{priority}        reviews queued (3: low star + flagged, 2: low star,
//                                                      1: flagged, 0: the random share)
//   analyzer_llm_review_dropped_total                  queued reviews dropped to stay within the queue's
//                                                      capacity (the lowest ranked)
//   analyzer_llm_review_skipped_total                  queued reviews already analysed as they read now
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_METRICS_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_METRICS_H_

#include <memory>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace marketlens::analyzer::llm_review {

class ReviewMetrics {
 public:
  static ReviewMetrics& Default();
  explicit ReviewMetrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Counter& requests(const std::string& outcome) { return requests_->Add({{"outcome", outcome}}); }
  prometheus::Counter& reviews(const std::string& backend, const std::string& source) {
    return reviews_->Add({{"backend", backend}, {"source", source}});
  }
  prometheus::Counter& fallbacks(const std::string& reason) { return fallbacks_->Add({{"reason", reason}}); }
  prometheus::Counter& tokens(const std::string& kind) { return tokens_->Add({{"kind", kind}}); }
  prometheus::Counter& budget_exhausted(const std::string& budget) {
    return exhausted_->Add({{"budget", budget}});
  }
  prometheus::Gauge& budget_remaining(const std::string& budget) {
    return remaining_->Add({{"budget", budget}});
  }
  prometheus::Gauge& queue_depth() { return *queue_depth_; }
  prometheus::Counter& sampled(int priority) {
    return sampled_->Add({{"priority", std::to_string(priority)}});
  }
  prometheus::Counter& dropped() { return *dropped_; }
  prometheus::Counter& skipped() { return *skipped_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* reviews_;
  prometheus::Family<prometheus::Counter>* fallbacks_;
  prometheus::Family<prometheus::Counter>* tokens_;
  prometheus::Family<prometheus::Counter>* exhausted_;
  prometheus::Family<prometheus::Gauge>* remaining_;
  prometheus::Gauge* queue_depth_;
  prometheus::Family<prometheus::Counter>* sampled_;
  prometheus::Counter* dropped_;
  prometheus::Counter* skipped_;
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_METRICS_H_
