// Content grounded in retrieved data (RAG): SummarizeInteractions, GenerateContent (a personalised email)
// and GenerateBrief (an influencer brief), for the analyzer's ContentService.
//
// Every answer is built from rows read for the request: the customer's contacts, reviews and shop
// interactions, the product's reviews and insights, campaign posts, buyer segments, and (when configured)
// the recommender's picks. Relevant rows are found with BM25 (bm25.h). Each row carries its id, and every
// generated text lists the rows it used as citations.
//
// Backends: the local engine writes fluent text from templates filled only with retrieved facts (it never
// states a fact it did not retrieve). With an LLM configured, the same facts (each tagged with its id) go
// into a versioned prompt; the JSON answer must match the schema and may only cite ids that were given,
// otherwise (or on any LLM failure) the local engine answers and the fallback is counted.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/analyzer_service.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"

namespace marketlens::analyzer::rag {

struct Recommendation {
  std::string product_id;
  std::string reason;
};
// Asks the recommender for a customer's picks (may fail: the email is then written without them).
using RecommendFn = std::function<absl::StatusOr<std::vector<Recommendation>>(const std::string& customer_id,
                                                                              int n, absl::Time deadline)>;

class GroundedContent : public ContentService {
 public:
  // `llm` and `recommend` may be null / empty.
  GroundedContent(postgres::PgPool* pool, const Engine* engine, llm::StructuredLlm* llm,
                  const llm::PromptLibrary* prompts, RecommendFn recommend = nullptr,
                  AnalyzerMetrics* metrics = &AnalyzerMetrics::Default());

  absl::Status GenerateContent(const v1::GenerateContentRequest& req, absl::Time deadline,
                               v1::GenerateContentResponse* out) override;
  absl::Status SummarizeInteractions(const v1::SummarizeInteractionsRequest& req, absl::Time deadline,
                                     v1::SummarizeInteractionsResponse* out) override;
  absl::Status GenerateBrief(const v1::GenerateBriefRequest& req, absl::Time deadline,
                             v1::GenerateBriefResponse* out) override;

 private:
  postgres::PgPool* pool_;
  const Engine* engine_;
  llm::StructuredLlm* llm_;
  const llm::PromptLibrary* prompts_;
  RecommendFn recommend_;
  AnalyzerMetrics* metrics_;
};

// "Voltix Bluetooth Speaker, 360 Degree Sound - Black" -> "Voltix Bluetooth Speaker" (exposed for tests).
std::string ShortTitle(absl::string_view title);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_
