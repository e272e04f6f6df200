// The analyzer's Prometheus metrics (on metrics::DefaultRegistry(), served on /metrics):
//
//   analyzer_reviews_analyzed_total{source}          reviews analysed ("stream", "catchup", "request")
//   analyzer_products_recomputed_total               product insight recomputations
//   analyzer_alerts_raised_total{kind}               new alerts
//   analyzer_stream_entries_total                    stream entries read (acknowledged after processing)
//   analyzer_pipeline_errors_total{stage}            failures (stage: read, analyze, save, recompute, train)
//   analyzer_model_trainings_total{outcome}          weak-label model trainings ("ok", "rejected" by the
//                                                    gate, "skipped", "cancelled", "error")
//   analyzer_model_gate_balanced_accuracy{engine}    the last gate's figures on its balanced held-out
//   analyzer_model_gate_macro_f1{engine}             sample: engine "rules" (alone) and "combined"
//   analyzer_model_examples                          reviews the active model was trained on
//   analyzer_pending_reviews                         reviews found stale at the last catch-up pass
//   analyzer_insights_lag_seconds                    wall time from a review's announcement (queued_at)
//                                                    to its product's insights being updated, last batch
//   analyzer_llm_calls_total{backend,outcome}        LLM calls: ok, invalid_output, truncated, error,
//                                                    circuit_open, cached
//   analyzer_llm_fallbacks_total{reason}             answers given by the local engine instead (error,
//                                                    ungrounded)
//   analyzer_llm_tokens_total{backend,kind}          prompt / completion tokens reported by the backend
//   analyzer_llm_latency_seconds{backend}            LLM call latency (histogram)
//   analyzer_retrieval_documents{source}             documents in the retrieval index (review, contact)
//   analyzer_retrieval_index_bytes                   its approximate memory
//   analyzer_retrieval_syncs_total{kind,outcome}     index loads: full, refresh, scope; ok / error
#ifndef MARKETLENS_SERVICES_ANALYZER_ANALYZER_METRICS_H_
#define MARKETLENS_SERVICES_ANALYZER_ANALYZER_METRICS_H_

#include <memory>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace marketlens::analyzer {

class AnalyzerMetrics {
 public:
  static AnalyzerMetrics& Default();
  explicit AnalyzerMetrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Counter& analyzed(const std::string& source) { return analyzed_->Add({{"source", source}}); }
  prometheus::Counter& products_recomputed() { return *products_recomputed_; }
  prometheus::Counter& alerts_raised(const std::string& kind) { return alerts_->Add({{"kind", kind}}); }
  prometheus::Counter& stream_entries() { return *stream_entries_; }
  prometheus::Counter& errors(const std::string& stage) { return errors_->Add({{"stage", stage}}); }
  prometheus::Counter& trainings(const std::string& outcome) {
    return trainings_->Add({{"outcome", outcome}});
  }
  prometheus::Gauge& model_examples() { return *model_examples_; }
  prometheus::Gauge& gate_balanced_accuracy(const std::string& engine) {
    return gate_bacc_->Add({{"engine", engine}});
  }
  prometheus::Gauge& gate_macro_f1(const std::string& engine) { return gate_f1_->Add({{"engine", engine}}); }
  prometheus::Gauge& pending_reviews() { return *pending_; }
  prometheus::Gauge& insights_lag_seconds() { return *lag_; }
  prometheus::Counter& llm_calls(const std::string& backend, const std::string& outcome) {
    return llm_calls_->Add({{"backend", backend}, {"outcome", outcome}});
  }
  prometheus::Counter& llm_fallbacks(const std::string& reason) {
    return llm_fallbacks_->Add({{"reason", reason}});
  }
  prometheus::Counter& llm_tokens(const std::string& backend, const std::string& kind) {
    return llm_tokens_->Add({{"backend", backend}, {"kind", kind}});
  }
  prometheus::Histogram& llm_latency(const std::string& backend);
  prometheus::Gauge& retrieval_documents(const std::string& source) {
    return retrieval_documents_->Add({{"source", source}});
  }
  prometheus::Gauge& retrieval_index_bytes() { return *retrieval_bytes_; }
  prometheus::Counter& retrieval_syncs(const std::string& kind, const std::string& outcome) {
    return retrieval_syncs_->Add({{"kind", kind}, {"outcome", outcome}});
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* analyzed_;
  prometheus::Counter* products_recomputed_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Counter* stream_entries_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Counter>* trainings_;
  prometheus::Gauge* model_examples_;
  prometheus::Family<prometheus::Gauge>* gate_bacc_;
  prometheus::Family<prometheus::Gauge>* gate_f1_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* lag_;
  prometheus::Family<prometheus::Counter>* llm_calls_;
  prometheus::Family<prometheus::Counter>* llm_fallbacks_;
  prometheus::Family<prometheus::Counter>* llm_tokens_;
  prometheus::Family<prometheus::Histogram>* llm_latency_;
  prometheus::Family<prometheus::Gauge>* retrieval_documents_;
  prometheus::Gauge* retrieval_bytes_;
  prometheus::Family<prometheus::Counter>* retrieval_syncs_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ANALYZER_METRICS_H_
