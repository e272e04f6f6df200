// The gateway's HTTP golden signals, on the process registry (so they are scraped from --metrics_port and
// from the HTTP port's /metrics):
//   http_requests_total{route,method,code}
//   http_request_duration_seconds{route,method,code}   (histogram)
//   http_requests_in_flight
//   gateway_cache_requests_total{route,result}          (result: hit, miss)
//   gateway_rejected_requests_total{reason}             (unauthenticated, forbidden, rate_limited, ...)
// `route` is the route template ("GET /api/v1/products/{product_id}"), "builtin:/healthz" etc. for the
// gateway's own endpoints, "static" for dashboard files and "unmatched" for anything else, so the label
// set stays small whatever clients send.
#ifndef MARKETLENS_SERVICES_GATEWAY_HTTP_METRICS_H_
#define MARKETLENS_SERVICES_GATEWAY_HTTP_METRICS_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace marketlens::gateway {

class HttpMetrics {
 public:
  explicit HttpMetrics(std::shared_ptr<prometheus::Registry> registry);

  void RequestStarted();
  void RequestFinished(absl::string_view route, absl::string_view method, int code, absl::Duration duration);
  void CacheLookup(absl::string_view route, bool hit);
  void Rejected(absl::string_view reason);

  // Prometheus text format of the whole registry (the /metrics body).
  std::string Scrape() const;

 private:
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& in_flight_;
  prometheus::Family<prometheus::Counter>& cache_;
  prometheus::Family<prometheus::Counter>& rejected_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Series> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_HTTP_METRICS_H_
