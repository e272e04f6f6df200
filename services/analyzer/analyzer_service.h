// The analyzer's gRPC surface (protos/marketlens/analyzer/v1/analyzer.proto): text analysis on demand,
// product insights for dashboards (list with filters, sort and keyset paging; one product with its weekly
// history, issues, features and open alerts), a product's analysed reviews, alerts, and the marketing
// reads (top performers of a campaign, interactions per product by customer type). AnalyzeText goes
// through the LLM layer (TextAnalyzer: the configured LlmBackend, the local engine by default). Content
// generation (GenerateContent, SummarizeInteractions, GenerateBrief) is delegated to a ContentService when
// one is set.
//
// Every read runs in a read-only transaction bounded by the call's deadline (at most 10 s). Errors follow
// the gateway's conventions: INVALID_ARGUMENT naming the field ("page_size must be 1..100"), NOT_FOUND
// for unknown ids, UNAVAILABLE when Postgres is down.
#ifndef MARKETLENS_SERVICES_ANALYZER_ANALYZER_SERVICE_H_
#define MARKETLENS_SERVICES_ANALYZER_ANALYZER_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/postgres/pool.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights_queries.h"
#include "services/analyzer/text_analyzer.h"

namespace marketlens::analyzer {

namespace v1 = ::marketlens::analyzer::v1;

// Maps an absl::Status to a grpc::Status (same code and message).
grpc::Status ToGrpc(const absl::Status& status);

// Fills the proto from an engine analysis.
void ToProto(const Analysis& a, v1::TextAnalysis* out);

// The content RPCs, implemented elsewhere (rag/).
class ContentService {
 public:
  virtual ~ContentService() = default;
  virtual absl::Status GenerateContent(const v1::GenerateContentRequest& req, absl::Time deadline,
                                       v1::GenerateContentResponse* out) = 0;
  virtual absl::Status SummarizeInteractions(const v1::SummarizeInteractionsRequest& req, absl::Time deadline,
                                             v1::SummarizeInteractionsResponse* out) = 0;
  virtual absl::Status GenerateBrief(const v1::GenerateBriefRequest& req, absl::Time deadline,
                                     v1::GenerateBriefResponse* out) = 0;
  // Privacy erasure (docs/privacy.md): drops what the content side keeps about a customer outside Postgres
  // (retrieval-index entries, cached LLM answers) and records the kinds in `out`. Idempotent.
  virtual absl::Status ForgetCustomer(const std::string& customer_id,
                                      privacy::v1::EraseUserResponse* out) = 0;
  // What it keeps about the customer outside Postgres (their retrieval-index entries), as export tables.
  virtual absl::Status ExportCustomer(const std::string& customer_id,
                                      privacy::v1::ExportUserResponse* out) = 0;
};

class AnalyzerServiceImpl final : public v1::AnalyzerService::Service {
 public:
  // `pool` may be null (then only AnalyzeText works; the rest is UNAVAILABLE). AnalyzeText answers with
  // the local engine (through its LlmBackend) until set_text_analyzer() configures another backend.
  AnalyzerServiceImpl(postgres::PgPool* pool, const Engine* engine);
  ~AnalyzerServiceImpl() override;

  // Optional parts, set before serving (not owned).
  void set_content(ContentService* content) { content_ = content; }
  void set_text_analyzer(TextAnalyzer* text) { text_ = text; }

  grpc::Status AnalyzeText(grpc::ServerContext* ctx, const v1::AnalyzeTextRequest* req,
                           v1::TextAnalysis* resp) override;
  grpc::Status ListProductInsights(grpc::ServerContext* ctx, const v1::ListProductInsightsRequest* req,
                                   v1::ListProductInsightsResponse* resp) override;
  grpc::Status GetProductInsights(grpc::ServerContext* ctx, const v1::GetProductInsightsRequest* req,
                                  v1::ProductInsights* resp) override;
  grpc::Status ListProductReviews(grpc::ServerContext* ctx, const v1::ListProductReviewsRequest* req,
                                  v1::ListProductReviewsResponse* resp) override;
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const v1::ListAlertsRequest* req,
                          v1::ListAlertsResponse* resp) override;
  grpc::Status AcknowledgeAlert(grpc::ServerContext* ctx, const v1::AlertActionRequest* req,
                                v1::Alert* resp) override;
  grpc::Status ResolveAlert(grpc::ServerContext* ctx, const v1::AlertActionRequest* req,
                            v1::Alert* resp) override;
  grpc::Status TopPerformers(grpc::ServerContext* ctx, const v1::TopPerformersRequest* req,
                             v1::TopPerformersResponse* resp) override;
  grpc::Status InteractionsByProduct(grpc::ServerContext* ctx, const v1::InteractionsByProductRequest* req,
                                     v1::InteractionsByProductResponse* resp) override;
  grpc::Status GenerateContent(grpc::ServerContext* ctx, const v1::GenerateContentRequest* req,
                               v1::GenerateContentResponse* resp) override;
  grpc::Status SummarizeInteractions(grpc::ServerContext* ctx, const v1::SummarizeInteractionsRequest* req,
                                     v1::SummarizeInteractionsResponse* resp) override;
  grpc::Status GenerateBrief(grpc::ServerContext* ctx, const v1::GenerateBriefRequest* req,
                             v1::GenerateBriefResponse* resp) override;
  // Privacy (analyzer_privacy.cc, docs/privacy.md).
  grpc::Status EraseUser(grpc::ServerContext* ctx, const privacy::v1::EraseUserRequest* req,
                         privacy::v1::EraseUserResponse* resp) override;
  grpc::Status ExportUser(grpc::ServerContext* ctx, const privacy::v1::ExportUserRequest* req,
                          privacy::v1::ExportUserResponse* resp) override;

 private:
  grpc::Status ChangeAlertState(grpc::ServerContext* ctx, const std::string& id, bool resolve,
                                v1::Alert* resp);
  postgres::PgPool* pool_;
  std::unique_ptr<InsightsQueries> queries_;  // the insight RPCs' SQL (insights_queries.h)
  const Engine* engine_;
  ContentService* content_ = nullptr;
  std::unique_ptr<TextAnalyzer> local_text_;  // the default: the local engine
  TextAnalyzer* text_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ANALYZER_SERVICE_H_
