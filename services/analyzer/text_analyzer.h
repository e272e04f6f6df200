// AnalyzeText through the LLM layer. Every answer comes from an llm::LlmBackend behind llm::StructuredLlm
// (schema validation, retries, breaker, cache, metrics), whichever backend is configured, so swapping
// backends is a configuration change (--llm_backend) and nothing here calls the engine for an answer:
//
//   - local (the default): the local engine's writer for the "analyze_review" prompt (RegisterAnalyzeWriter)
//     answers from the prompt's typed context (AnalyzeContext) with the engine's full analysis: sentiment,
//     label, aspects with polarity and quote, issues with their sentence, quality flags with theirs, the
//     rules' and the model's scores and the model version.
//   - openai: the remote model answers the same versioned prompt; its answer must match the schema and quote
//     only sentences the review contains. Otherwise (or on any failure: timeout, 429/5xx after retries, open
//     circuit, invalid JSON) the local backend answers through the same interface and the fallback is
//     counted (analyzer_llm_fallbacks_total{reason="error"|"ungrounded"}).
//
// Quality flags describe the input, not an opinion, so a remote answer gets the local engine's input checks
// (empty, too_short, truncated, invalid_utf8, shouting, contains_url, repetitive, each with its sentence);
// rating_mismatch follows the answering backend's own sentiment and quotes its most contradicting sentence.
#ifndef MARKETLENS_SERVICES_ANALYZER_TEXT_ANALYZER_H_
#define MARKETLENS_SERVICES_ANALYZER_TEXT_ANALYZER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/llm/local_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"

namespace marketlens::analyzer {

namespace v1 = ::marketlens::analyzer::v1;

// The typed context of the "analyze_review" prompt: what the rendered text carries, and the engine the
// local writer analyses it with.
struct AnalyzeContext : llm::PromptContext {
  const Engine* engine = nullptr;
  std::string title, text, category;
  int rating = 0;
};

// Registers the local engine's writer for "analyze_review" on `backend`.
void RegisterAnalyzeWriter(llm::LocalBackend* backend);

// Fills `out` from a schema-valid "analyze_review" answer (exposed for tests).
void AnalysisFromAnswer(const google::protobuf::Struct& answer, v1::TextAnalysis* out);

class TextAnalyzer {
 public:
  // `configured`: the service's backend (may be null: the local engine). `prompts` may be null: the embedded
  // templates. Neither is owned.
  TextAnalyzer(const Engine* engine, const llm::PromptLibrary* prompts, llm::StructuredLlm* configured,
               AnalyzerMetrics* metrics = &AnalyzerMetrics::Default());
  ~TextAnalyzer();

  // `req.backend()`: "" (the configured backend), "local" or "openai" (FAILED_PRECONDITION when no remote
  // backend is configured). Never fails because a remote backend did: the local one answers instead.
  absl::Status Analyze(const v1::AnalyzeTextRequest& req, absl::Time deadline, v1::TextAnalysis* out);

 private:
  const Engine* engine_;
  const llm::PromptLibrary* prompts_;
  std::unique_ptr<llm::PromptLibrary> own_prompts_;
  llm::StructuredLlm* configured_;
  AnalyzerMetrics* metrics_;
  std::unique_ptr<llm::StructuredLlm> local_;  // the local engine: the fallback, and "local" on request
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_TEXT_ANALYZER_H_
