#include "services/gateway/http_metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace marketlens::gateway {
namespace {

const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *b;
}

}  // namespace

HttpMetrics::HttpMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      requests_(prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("HTTP requests answered by the gateway, by route template, method and status code")
                    .Register(*registry_)),
      duration_(
          prometheus::BuildHistogram()
              .Name("http_request_duration_seconds")
              .Help("Time from a request's first byte to its response, by route, method and status code")
              .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("http_requests_in_flight")
                     .Help("HTTP requests being handled")
                     .Register(*registry_)
                     .Add({})),
      cache_(prometheus::BuildCounter()
                 .Name("gateway_cache_requests_total")
                 .Help("Lookups of cacheable GETs in the Redis response cache, by route and result")
                 .Register(*registry_)),
      rejected_(prometheus::BuildCounter()
                    .Name("gateway_rejected_requests_total")
                    .Help("Requests refused before reaching a backend, by reason")
                    .Register(*registry_)) {}

void HttpMetrics::RequestStarted() { in_flight_.Increment(); }

void HttpMetrics::RequestFinished(absl::string_view route, absl::string_view method, int code,
                                  absl::Duration duration) {
  in_flight_.Decrement();
  const std::string key = absl::StrCat(route, "\n", method, "\n", code);
  Series s;
  {
    absl::MutexLock lock(&mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      const std::map<std::string, std::string> labels = {
          {"route", std::string(route)}, {"method", std::string(method)}, {"code", absl::StrCat(code)}};
      it = series_.emplace(key, Series{&requests_.Add(labels), &duration_.Add(labels, Buckets())}).first;
    }
    s = it->second;
  }
  s.requests->Increment();
  s.duration->Observe(absl::ToDoubleSeconds(duration));
}

void HttpMetrics::CacheLookup(absl::string_view route, bool hit) {
  cache_.Add({{"route", std::string(route)}, {"result", hit ? "hit" : "miss"}}).Increment();
}

void HttpMetrics::Rejected(absl::string_view reason) {
  rejected_.Add({{"reason", std::string(reason)}}).Increment();
}

std::string HttpMetrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace marketlens::gateway
