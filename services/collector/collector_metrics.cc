#include "services/collector/collector_metrics.h"

#include "common/metrics/exposer.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace marketlens::collector {
namespace {

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& r, const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& r, const std::string& name,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

}  // namespace

CollectorMetrics& CollectorMetrics::Default() {
  static auto* metrics = new CollectorMetrics(metrics::DefaultRegistry());  // leaked: used by late threads
  return *metrics;
}

CollectorMetrics::CollectorMetrics(std::shared_ptr<prometheus::Registry> registry)
    : rate_limited(CounterFamily(*registry, "collector_crawl_rate_limited_total",
                                 "RESOURCE_EXHAUSTED answers received from the marketplace")
                       .Add({})),
      rate_limit_waits(CounterFamily(*registry, "collector_crawl_rate_limit_waits_total",
                                     "Marketplace requests that waited for the client-side rate limiter")
                           .Add({})),
      rate_limit_wait_seconds(CounterFamily(*registry, "collector_crawl_rate_limit_wait_seconds_total",
                                            "Time spent waiting for the client-side rate limiter")
                                  .Add({})),
      crawls_running(
          GaugeFamily(*registry, "collector_crawls_running", "Crawls run by this instance").Add({})),
      crawl_eta_seconds(
          GaugeFamily(*registry, "collector_crawl_eta_seconds", "ETA of the running crawl (-1: unknown)")
              .Add({})),
      stream_published(CounterFamily(*registry, "collector_stream_published_total",
                                     "Review announcements added to the Redis stream")
                           .Add({})),
      stream_publish_errors(CounterFamily(*registry, "collector_stream_publish_errors_total",
                                          "Failed attempts to publish review announcements")
                                .Add({})),
      outbox_pending(GaugeFamily(*registry, "collector_stream_outbox_pending",
                                 "Review announcements waiting in ops.review_outbox")
                         .Add({})),
      registry_(registry),
      pages_(&CounterFamily(*registry, "collector_crawl_pages_total", "Crawled pages stored")),
      items_(&CounterFamily(*registry, "collector_crawl_items_total", "Crawled items stored")),
      page_failures_(&CounterFamily(*registry, "collector_crawl_page_failures_total",
                                    "Pages given up on after the bounded number of tries")),
      requests_(&CounterFamily(*registry, "collector_marketplace_requests_total",
                               "Requests sent to the marketplace, by method and gRPC code")),
      retries_(&CounterFamily(*registry, "collector_crawl_retries_total",
                              "Retried marketplace requests, by the code that caused the retry")),
      lag_(&GaugeFamily(*registry, "collector_crawl_lag_seconds",
                        "Seconds since the newest complete walk of a resource finished (-1: never)")),
      ingest_rows_(&CounterFamily(*registry, "collector_ingest_rows_total", "Ingested CSV rows by outcome")),
      ingest_files_(
          &CounterFamily(*registry, "collector_ingest_files_total", "Ingested CSV files by status")) {
  outbox_pending.Set(0);
  crawl_eta_seconds.Set(-1);
}

}  // namespace marketlens::collector
