// The local engine as an LLM backend: offline, deterministic, no network. It answers a prompt with the JSON
// object its writer for that prompt builds from the prompt's typed context (RenderedPrompt::context, the same
// retrieved facts the rendered text carries), so it goes through StructuredLlm like any other backend: its
// answer is checked against the prompt's schema and its citations against the facts given.
//
// `--llm_backend=local` uses it alone; with `--llm_backend=openai` it is the fallback that answers whenever
// the remote model fails or answers outside the rules. Writers are registered per prompt name by the code
// that owns the prompt (rag::RegisterLocalWriters for the content prompts, RegisterAnalyzeWriter in
// text_analyzer.h for AnalyzeText's analyze_review).
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_LOCAL_BACKEND_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_LOCAL_BACKEND_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "services/analyzer/llm/backend.h"

namespace marketlens::analyzer::llm {

// Builds the answer to one prompt from its context (never from anything else).
using LocalWriter = std::function<absl::StatusOr<google::protobuf::Struct>(const RenderedPrompt& prompt)>;

class LocalBackend : public LlmBackend {
 public:
  // `model` names the engine version in cache keys and responses.
  explicit LocalBackend(std::string model = "local-engine") : model_(std::move(model)) {}

  std::string name() const override { return "local"; }
  std::string model() const override { return model_; }
  // UNIMPLEMENTED when no writer is registered for the prompt's name, INVALID_ARGUMENT when the prompt has no
  // context. Never retryable errors: the local engine does no I/O, so it has nothing to retry.
  absl::StatusOr<LlmResponse> Complete(const RenderedPrompt& prompt, absl::Time deadline) override;

  // Registers (or replaces) the writer of prompt `name` ("generate_brief"). Not thread-safe: register before
  // serving.
  void Register(const std::string& name, LocalWriter writer) { writers_[name] = std::move(writer); }
  bool Has(const std::string& name) const { return writers_.contains(name); }

 private:
  std::string model_;
  std::map<std::string, LocalWriter> writers_;
};

// Helpers for writers building their answer.
void SetString(google::protobuf::Struct* s, const std::string& name, const std::string& value);
void SetNumber(google::protobuf::Struct* s, const std::string& name, double value);
void SetStrings(google::protobuf::Struct* s, const std::string& name, const std::vector<std::string>& values);

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_LOCAL_BACKEND_H_
