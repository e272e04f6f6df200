// Content grounded in retrieved data (RAG): SummarizeInteractions, GenerateContent (a personalised email)
// and GenerateBrief (an influencer brief), for the analyzer's ContentService.
//
// Every answer is built from rows read for the request: the customer's contacts, reviews and shop
// interactions, the product's reviews and insights, campaign posts, buyer segments, and (when configured)
// the recommender's picks. Relevant reviews and contacts are found in the process-wide BM25 index
// (corpus_index.h, kept current by corpus_sync.h): the customer's rows about their recurring topics, the
// product's good reviews that praise what its insights say reviewers praise. Each row carries its id, and
// every generated text lists the rows it used as citations.
//
// GenerateBrief's tools read what performs on the requested platform in our campaign posts (hashtags and
// caption angles, engagement-weighted against each creator's usual engagement, with minimum support:
// brief_tools.h) and what reviewers praise about the product (insights + BM25 over its good reviews).
//
// The pieces: content_store.h reads the rows (its SQL beside it), grounded_ask.h asks the configured backend
// and falls back to the local engine, content_writers.h is the local engine's writers, content_text.h the
// small text helpers; this file is the three RPCs.
//
// Backends, all behind llm::LlmBackend: every answer is asked for with a versioned prompt whose text holds
// the retrieved facts (each tagged with its id) and whose typed context holds the same facts. The local
// engine (llm::LocalBackend with the writers registered here; the default, --llm_backend=local) writes
// fluent text from the context only (it never states a fact it did not retrieve) and cites the rows it
// used. A remote backend (--llm_backend=openai) is asked first; its JSON answer must match the schema and
// may only cite ids that were given, otherwise (or on any LLM failure) the local engine answers through the
// same interface and the fallback is counted.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/analyzer_service.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/llm/local_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"
#include "services/analyzer/rag/content_store.h"
#include "services/analyzer/rag/content_text.h"
#include "services/analyzer/rag/content_writers.h"
#include "services/analyzer/rag/corpus_index.h"
#include "services/analyzer/rag/corpus_sync.h"

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
  // `llm` is the configured backend (local or remote); null means the local engine. `recommend` may be
  // empty. `corpus` is the process-wide retrieval index and its sync (not owned); null: a private one that
  // loads each product and customer on first use and refreshes on use.
  GroundedContent(postgres::PgPool* pool, const Engine* engine, llm::StructuredLlm* llm,
                  const llm::PromptLibrary* prompts, RecommendFn recommend = nullptr,
                  AnalyzerMetrics* metrics = &AnalyzerMetrics::Default(), CorpusSync* corpus = nullptr);
  ~GroundedContent() override;

  absl::Status GenerateContent(const v1::GenerateContentRequest& req, absl::Time deadline,
                               v1::GenerateContentResponse* out) override;
  absl::Status SummarizeInteractions(const v1::SummarizeInteractionsRequest& req, absl::Time deadline,
                                     v1::SummarizeInteractionsResponse* out) override;
  absl::Status GenerateBrief(const v1::GenerateBriefRequest& req, absl::Time deadline,
                             v1::GenerateBriefResponse* out) override;
  // The customer's retrieval-index entries and cached LLM answers (content_privacy.cc).
  absl::Status ForgetCustomer(const std::string& customer_id, privacy::v1::EraseUserResponse* out) override;
  absl::Status ExportCustomer(const std::string& customer_id, privacy::v1::ExportUserResponse* out) override;

 private:
  postgres::PgPool* pool_;
  ContentStore store_;
  const Engine* engine_;
  llm::StructuredLlm* llm_;
  const llm::PromptLibrary* prompts_;
  RecommendFn recommend_;
  AnalyzerMetrics* metrics_;
  std::unique_ptr<llm::StructuredLlm> local_;  // the local engine: the fallback of a remote backend
  std::unique_ptr<CorpusIndex> own_index_;     // when no shared index was given
  std::unique_ptr<CorpusSync> own_sync_;
  CorpusSync* corpus_;
};

// The cache scope of prompts about one customer: "customer/<sha256 of the id>/" (no id in Redis keys).
std::string CustomerCacheScope(const std::string& customer_id);

// What reviewers call `aspect` of a product of `category`: its name and the taxonomy's terms for it, without
// sentiment words ("value" -> "value", "price", "money", "cost", "value for money", ...; not "overpriced").
// The praise retrieval's query (joined) and the words its quote is chosen by (exposed for tests).
std::vector<std::string> PraiseTerms(const Engine& engine, absl::string_view category,
                                     absl::string_view aspect);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_SERVICE_H_
