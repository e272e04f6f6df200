#include "services/analyzer/analyzer_metrics.h"

#include "common/metrics/exposer.h"

namespace marketlens::analyzer {

AnalyzerMetrics& AnalyzerMetrics::Default() {
  static auto* m = new AnalyzerMetrics(metrics::DefaultRegistry());
  return *m;
}

AnalyzerMetrics::AnalyzerMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  auto& r = *registry_;
  analyzed_ = &prometheus::BuildCounter()
                   .Name("analyzer_reviews_analyzed_total")
                   .Help("Reviews analysed")
                   .Register(r);
  products_recomputed_ = &prometheus::BuildCounter()
                              .Name("analyzer_products_recomputed_total")
                              .Help("Product insight recomputations")
                              .Register(r)
                              .Add({});
  alerts_ = &prometheus::BuildCounter().Name("analyzer_alerts_raised_total").Help("New alerts").Register(r);
  stream_entries_ = &prometheus::BuildCounter()
                         .Name("analyzer_stream_entries_total")
                         .Help("Review stream entries read")
                         .Register(r)
                         .Add({});
  errors_ = &prometheus::BuildCounter()
                 .Name("analyzer_pipeline_errors_total")
                 .Help("Pipeline failures")
                 .Register(r);
  trainings_ =
      &prometheus::BuildCounter().Name("analyzer_model_trainings_total").Help("Model trainings").Register(r);
  model_examples_ = &prometheus::BuildGauge()
                         .Name("analyzer_model_examples")
                         .Help("Reviews the active weak-label model was trained on")
                         .Register(r)
                         .Add({});
  gate_bacc_ = &prometheus::BuildGauge()
                    .Name("analyzer_model_gate_balanced_accuracy")
                    .Help("Balanced accuracy on the last model gate's balanced held-out sample, by engine")
                    .Register(r);
  gate_f1_ = &prometheus::BuildGauge()
                  .Name("analyzer_model_gate_macro_f1")
                  .Help("Macro-F1 on the last model gate's balanced held-out sample, by engine")
                  .Register(r);
  pending_ = &prometheus::BuildGauge()
                  .Name("analyzer_pending_reviews")
                  .Help("Reviews found stale at the last catch-up pass")
                  .Register(r)
                  .Add({});
  lag_ = &prometheus::BuildGauge()
              .Name("analyzer_insights_lag_seconds")
              .Help("Seconds from a review's announcement to its product's insights update (last batch)")
              .Register(r)
              .Add({});
  llm_calls_ =
      &prometheus::BuildCounter().Name("analyzer_llm_calls_total").Help("LLM calls by outcome").Register(r);
  llm_fallbacks_ = &prometheus::BuildCounter()
                        .Name("analyzer_llm_fallbacks_total")
                        .Help("Answers given by the local engine instead of the configured LLM")
                        .Register(r);
  llm_tokens_ = &prometheus::BuildCounter().Name("analyzer_llm_tokens_total").Help("LLM tokens").Register(r);
  llm_latency_ =
      &prometheus::BuildHistogram().Name("analyzer_llm_latency_seconds").Help("LLM call latency").Register(r);
  retrieval_documents_ = &prometheus::BuildGauge()
                              .Name("analyzer_retrieval_documents")
                              .Help("Documents in the retrieval index, by source")
                              .Register(r);
  retrieval_bytes_ = &prometheus::BuildGauge()
                          .Name("analyzer_retrieval_index_bytes")
                          .Help("Approximate memory of the retrieval index")
                          .Register(r)
                          .Add({});
  retrieval_syncs_ = &prometheus::BuildCounter()
                          .Name("analyzer_retrieval_syncs_total")
                          .Help("Retrieval index loads (full), refreshes and on-demand scope loads")
                          .Register(r);
}

prometheus::Histogram& AnalyzerMetrics::llm_latency(const std::string& backend) {
  return llm_latency_->Add({{"backend", backend}}, prometheus::Histogram::BucketBoundaries{
                                                       0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
}

}  // namespace marketlens::analyzer
