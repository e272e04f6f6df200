// The collector's Prometheus metrics (served on /metrics with everything else in the registry):
//
//   collector_crawl_pages_total{resource}               pages stored
//   collector_crawl_items_total{resource}               items stored
//   collector_crawl_page_failures_total{resource}       pages given up on after the bounded tries
//   collector_marketplace_requests_total{method,code}   every request sent to the marketplace, by outcome
//   collector_crawl_retries_total{code}                 retried requests, by the code that caused the retry
//   collector_crawl_rate_limited_total                  RESOURCE_EXHAUSTED answers (should stay 0)
//   collector_crawl_rate_limit_waits_total              requests that had to wait for the client-side limiter
//   collector_crawl_rate_limit_wait_seconds_total       time spent waiting for it
//   collector_crawl_lag_seconds{resource}               seconds since the newest complete walk of the
//   resource
//                                                       finished (how stale raw.* may be); -1 before the
//                                                       first
//   collector_crawls_running                            crawls this instance is running
//   collector_crawl_eta_seconds                         ETA of the running crawl (-1 unknown)
//   collector_stream_published_total                    review announcements added to the Redis stream
//   collector_stream_publish_errors_total               failed publish attempts (entries stay in the outbox)
//   collector_stream_outbox_pending                     announcements waiting in ops.review_outbox
//   collector_ingest_rows_total{kind,outcome}           ingested CSV rows: accepted, rejected, duplicate
//   collector_ingest_files_total{kind,status}           ingested files: succeeded, failed
#ifndef MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_METRICS_H_
#define MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_METRICS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace marketlens::collector {

class CollectorMetrics {
 public:
  // The process-wide instance on metrics::DefaultRegistry().
  static CollectorMetrics& Default();
  explicit CollectorMetrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Counter& pages(absl::string_view resource) {
    return pages_->Add({{"resource", std::string(resource)}});
  }
  prometheus::Counter& items(absl::string_view resource) {
    return items_->Add({{"resource", std::string(resource)}});
  }
  prometheus::Counter& page_failures(absl::string_view resource) {
    return page_failures_->Add({{"resource", std::string(resource)}});
  }
  prometheus::Counter& requests(absl::string_view method, absl::string_view code) {
    return requests_->Add({{"method", std::string(method)}, {"code", std::string(code)}});
  }
  prometheus::Counter& retries(absl::string_view code) {
    return retries_->Add({{"code", std::string(code)}});
  }
  prometheus::Gauge& lag(absl::string_view resource) {
    return lag_->Add({{"resource", std::string(resource)}});
  }
  prometheus::Counter& ingest_rows(absl::string_view kind, absl::string_view outcome) {
    return ingest_rows_->Add({{"kind", std::string(kind)}, {"outcome", std::string(outcome)}});
  }
  prometheus::Counter& ingest_files(absl::string_view kind, absl::string_view status) {
    return ingest_files_->Add({{"kind", std::string(kind)}, {"status", std::string(status)}});
  }

  prometheus::Counter& rate_limited;
  prometheus::Counter& rate_limit_waits;
  prometheus::Counter& rate_limit_wait_seconds;
  prometheus::Gauge& crawls_running;
  prometheus::Gauge& crawl_eta_seconds;
  prometheus::Counter& stream_published;
  prometheus::Counter& stream_publish_errors;
  prometheus::Gauge& outbox_pending;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* pages_;
  prometheus::Family<prometheus::Counter>* items_;
  prometheus::Family<prometheus::Counter>* page_failures_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Family<prometheus::Gauge>* lag_;
  prometheus::Family<prometheus::Counter>* ingest_rows_;
  prometheus::Family<prometheus::Counter>* ingest_files_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_METRICS_H_
