// StructuredLlm: the one way the analyzer asks an LLM for structured output.
//
//   cache (Redis, key = SHA-256 of prompt id + model + rendered prompt)  -> hit: done
//   circuit breaker open?                                              -> UNAVAILABLE at once
//   backend call, bounded by the caller's deadline
//     429 / 5xx / timeout / connection error -> retried with full-jitter backoff (at least the server's
//                                               Retry-After), while the deadline allows
//     answer not JSON, or not matching the schema -> asked again (invalid_output_retries), then
//                                               INVALID_ARGUMENT
//     ... and cut at max_tokens (finish_reason "length") -> OUT_OF_RANGE at once (the same question
//                                               would be cut again; ask for less)
//   valid answer -> cached (cache_ttl) and returned
// Any error tells the caller to answer with the local engine instead (which it counts as a fallback).
// Metrics: analyzer_llm_calls_total{backend,outcome} (ok, invalid_output, truncated, error, circuit_open,
// cached), analyzer_llm_tokens_total,
// analyzer_llm_latency_seconds.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_STRUCTURED_LLM_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_STRUCTURED_LLM_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis/cache.h"
#include "common/retry/backoff.h"
#include "google/protobuf/struct.pb.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/llm/backend.h"
#include "services/analyzer/llm/circuit_breaker.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/llm/prompts.h"

namespace marketlens::analyzer::llm {

struct StructuredLlmOptions {
  retry::BackoffPolicy backoff = {absl::Milliseconds(200), absl::Seconds(5), 2.0, 4};
  int invalid_output_retries = 1;
  absl::Duration cache_ttl = absl::Hours(24);
  int breaker_threshold = 5;
  absl::Duration breaker_open_for = absl::Seconds(30);
  // Longest wait honoured for a Retry-After.
  absl::Duration max_retry_after = absl::Seconds(30);
  // When set and true, a call stops waiting to retry and returns CANCELLED (background work shutting down).
  const std::atomic<bool>* cancel = nullptr;
};

struct StructuredResult {
  google::protobuf::Struct value;
  std::string backend;
  std::string model;
  std::string prompt_id;
  bool cached = false;
  int attempts = 0;
};

class StructuredLlm {
 public:
  // `cache` may be null (no caching).
  StructuredLlm(std::unique_ptr<LlmBackend> backend, redis::Cache* cache, StructuredLlmOptions options = {},
                AnalyzerMetrics* metrics = &AnalyzerMetrics::Default());

  absl::StatusOr<StructuredResult> Call(const RenderedPrompt& prompt, const Schema& schema,
                                        absl::Time deadline);

  std::string backend_name() const { return backend_->name(); }
  CircuitBreaker& breaker() { return breaker_; }
  // The cache key of a prompt (exposed for tests).
  std::string CacheKey(const RenderedPrompt& prompt) const;
  // Removes the cached answers of prompts with this cache_scope; how many (0 without a cache).
  int64_t InvalidateScope(const std::string& scope) {
    return cache_ != nullptr ? cache_->InvalidatePrefix(scope) : 0;
  }

 private:
  std::unique_ptr<LlmBackend> backend_;
  redis::Cache* cache_;
  StructuredLlmOptions options_;
  AnalyzerMetrics* metrics_;
  CircuitBreaker breaker_;
};

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_STRUCTURED_LLM_H_
