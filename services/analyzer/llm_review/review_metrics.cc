#include "services/analyzer/llm_review/review_metrics.h"

#include "common/metrics/exposer.h"

namespace marketlens::analyzer::llm_review {

ReviewMetrics& ReviewMetrics::Default() {
  static auto* m = new ReviewMetrics(metrics::DefaultRegistry());
  return *m;
}

ReviewMetrics::ReviewMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  auto& r = *registry_;
  requests_ = &prometheus::BuildCounter()
                   .Name("analyzer_llm_review_requests_total")
                   .Help("LLM review mode: batch requests to the LLM, by outcome")
                   .Register(r);
  reviews_ = &prometheus::BuildCounter()
                  .Name("analyzer_llm_review_reviews_total")
                  .Help("LLM review mode: reviews stored, by the backend that answered and where from")
                  .Register(r);
  fallbacks_ = &prometheus::BuildCounter()
                    .Name("analyzer_llm_review_fallbacks_total")
                    .Help("LLM review mode: reviews answered by the local engine instead, by reason")
                    .Register(r);
  tokens_ = &prometheus::BuildCounter()
                 .Name("analyzer_llm_review_tokens_total")
                 .Help("LLM review mode: tokens charged to the daily budget")
                 .Register(r);
  exhausted_ = &prometheus::BuildCounter()
                    .Name("analyzer_llm_review_budget_exhausted_total")
                    .Help("LLM review mode: rounds that found the daily budget spent")
                    .Register(r);
  remaining_ = &prometheus::BuildGauge()
                    .Name("analyzer_llm_review_budget_remaining")
                    .Help("LLM review mode: budget left today")
                    .Register(r);
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("analyzer_llm_review_queue_depth")
                      .Help("LLM review mode: sampled reviews waiting")
                      .Register(r)
                      .Add({});
  sampled_ = &prometheus::BuildCounter()
                  .Name("analyzer_llm_review_sampled_total")
                  .Help("LLM review mode: reviews queued, by priority")
                  .Register(r);
  dropped_ = &prometheus::BuildCounter()
                  .Name("analyzer_llm_review_dropped_total")
                  .Help("LLM review mode: queued reviews dropped to stay within capacity")
                  .Register(r)
                  .Add({});
  skipped_ = &prometheus::BuildCounter()
                  .Name("analyzer_llm_review_skipped_total")
                  .Help("LLM review mode: queued reviews already analysed as they read now")
                  .Register(r)
                  .Add({});
}

}  // namespace marketlens::analyzer::llm_review
