// One interface for every text generator the analyzer can use. A backend turns a rendered prompt into the
// model's raw answer; everything around it (caching, retries, the circuit breaker, schema validation, the
// fallback to the local engine, metrics) is in StructuredLlm, so backends stay small and swapping them is
// a configuration change (--llm_backend).
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_BACKEND_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_BACKEND_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/analyzer/llm/prompts.h"

namespace marketlens::analyzer::llm {

struct LlmResponse {
  std::string content;  // the model's answer (expected: a JSON object)
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::string model;
  // Why the model stopped, as the server said ("stop"; "length": cut at max_tokens, the JSON is likely
  // incomplete); empty when the server did not say.
  std::string finish_reason;
};

// Status payload key carrying a server's Retry-After (in milliseconds, as text) on RESOURCE_EXHAUSTED.
inline constexpr char kRetryAfterPayload[] = "type.marketlens/llm.retry_after_ms";

class LlmBackend {
 public:
  virtual ~LlmBackend() = default;
  virtual std::string name() const = 0;   // "openai"
  virtual std::string model() const = 0;  // part of the cache key
  // One attempt, bounded by `deadline`. Errors: DEADLINE_EXCEEDED (timeout), UNAVAILABLE (connection, 5xx),
  // RESOURCE_EXHAUSTED (429, with kRetryAfterPayload when the server said), UNAUTHENTICATED /
  // PERMISSION_DENIED (401/403), INVALID_ARGUMENT (other 4xx), INTERNAL (an answer that is not the API's
  // shape).
  virtual absl::StatusOr<LlmResponse> Complete(const RenderedPrompt& prompt, absl::Time deadline) = 0;
};

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_BACKEND_H_
