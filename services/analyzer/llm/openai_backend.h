// A backend for any OpenAI-compatible chat completions endpoint (POST <base_url>/chat/completions), over
// libcurl: the model, base URL and API key are configuration (--llm_base_url, --llm_model, the key from
// MARKETLENS_LLM_API_KEY or --llm_api_key_file). JSON mode is requested (response_format json_object) and
// temperature 0, so answers are as repeatable as the server allows. With `json_schema`, a prompt that
// carries a JSON Schema (RenderedPrompt::response_schema) is sent with response_format json_schema
// (OpenAI, vLLM, llama.cpp's server and Ollama constrain the output to it); a server that rejects that
// (HTTP 400 naming response_format or json_schema) is asked again at once with json_object, and from then
// on (json_schema_rejected()). One call = one HTTP request bounded
// by the caller's deadline and the configured timeout; retries are StructuredLlm's business.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_OPENAI_BACKEND_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_OPENAI_BACKEND_H_

#include <atomic>
#include <string>

#include "absl/time/time.h"
#include "services/analyzer/llm/backend.h"

namespace marketlens::analyzer::llm {

struct OpenAiOptions {
  std::string base_url = "https://api.openai.com/v1";  // ".../v1"; "/chat/completions" is appended
  std::string model = "gpt-4o-mini";
  std::string api_key;  // empty: no Authorization header (local servers)
  absl::Duration timeout = absl::Seconds(20);
  absl::Duration connect_timeout = absl::Seconds(3);
  double temperature = 0;
  bool json_mode = true;     // response_format json_object
  bool json_schema = false;  // response_format json_schema when the prompt carries a schema
  int max_tokens = 1200;
  // When set and true, a request in flight is abandoned (CANCELLED): background work shutting down.
  const std::atomic<bool>* cancel = nullptr;
};

class OpenAiBackend : public LlmBackend {
 public:
  explicit OpenAiBackend(OpenAiOptions options);
  std::string name() const override { return "openai"; }
  std::string model() const override { return options_.model; }
  absl::StatusOr<LlmResponse> Complete(const RenderedPrompt& prompt, absl::Time deadline) override;

  // The request body sent for a prompt (exposed for tests).
  std::string RequestBody(const RenderedPrompt& prompt) const;
  // The server refused response_format json_schema once; json_object is asked for since.
  bool json_schema_rejected() const { return json_schema_rejected_.load(); }

 private:
  std::string Body(const RenderedPrompt& prompt, bool with_schema) const;
  absl::StatusOr<LlmResponse> Post(const std::string& body, absl::Time deadline);
  OpenAiOptions options_;
  std::atomic<bool> json_schema_rejected_{false};
};

// Parses an OpenAI chat completion response body (exposed for tests).
absl::StatusOr<LlmResponse> ParseChatCompletion(const std::string& body);

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_OPENAI_BACKEND_H_
