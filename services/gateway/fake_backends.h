// Stand-ins for the analyzer, recommender and collector, for the gateway's HTTP tests while the real services
// are being written: real gRPC servers (common/server: health, request ids) implementing the generated
// service interfaces with small but real behaviour (in-memory products with filters and paging, feedback
// that changes recommendations, a model registry), plus a few hooks to provoke every kind of error:
//
//   AnalyzeText(text = "status:NOT_FOUND")          -> that gRPC code (message "text status:NOT_FOUND")
//   AnalyzeText(text = "field:NOT_FOUND:category")  -> that code with an x-error-field trailer "category"
//   AnalyzeText(text = "retry:1500")                -> RESOURCE_EXHAUSTED with retry-after-ms: 1500
//   AnalyzeText(text = "sleep:300")                 -> answers after 300 ms (or when the deadline passes or
//                                                      the caller cancels: counted in `cancelled`)
//   AnalyzeText(text = "echo")                      -> label = the call's x-request-id, sentiment = seconds
//                                                      left until the call's deadline
// GenerateBrief is left unimplemented (UNIMPLEMENTED -> 501).
#ifndef MARKETLENS_SERVICES_GATEWAY_FAKE_BACKENDS_H_
#define MARKETLENS_SERVICES_GATEWAY_FAKE_BACKENDS_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/server/server.h"
#include "marketlens/analyzer/v1/analyzer.grpc.pb.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"

namespace marketlens::gateway::testing {

class FakeAnalyzer final : public analyzer::v1::AnalyzerService::Service {
 public:
  // `products` products, alternately in "kitchen" and "garden", ratings rising with the index.
  explicit FakeAnalyzer(int products = 10);
  grpc::Status AnalyzeText(grpc::ServerContext* ctx, const analyzer::v1::AnalyzeTextRequest* req,
                           analyzer::v1::TextAnalysis* resp) override;
  grpc::Status ListProductInsights(grpc::ServerContext* ctx,
                                   const analyzer::v1::ListProductInsightsRequest* req,
                                   analyzer::v1::ListProductInsightsResponse* resp) override;
  grpc::Status GetProductInsights(grpc::ServerContext* ctx,
                                  const analyzer::v1::GetProductInsightsRequest* req,
                                  analyzer::v1::ProductInsights* resp) override;
  grpc::Status ListProductReviews(grpc::ServerContext* ctx,
                                  const analyzer::v1::ListProductReviewsRequest* req,
                                  analyzer::v1::ListProductReviewsResponse* resp) override;
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const analyzer::v1::ListAlertsRequest* req,
                          analyzer::v1::ListAlertsResponse* resp) override;
  // The alert named by the id, acknowledged / resolved (any id).
  grpc::Status AcknowledgeAlert(grpc::ServerContext* ctx, const analyzer::v1::AlertActionRequest* req,
                                analyzer::v1::Alert* resp) override;
  grpc::Status ResolveAlert(grpc::ServerContext* ctx, const analyzer::v1::AlertActionRequest* req,
                            analyzer::v1::Alert* resp) override;
  grpc::Status GenerateContent(grpc::ServerContext* ctx, const analyzer::v1::GenerateContentRequest* req,
                               analyzer::v1::GenerateContentResponse* resp) override;
  grpc::Status SummarizeInteractions(grpc::ServerContext* ctx,
                                     const analyzer::v1::SummarizeInteractionsRequest* req,
                                     analyzer::v1::SummarizeInteractionsResponse* resp) override;
  grpc::Status TopPerformers(grpc::ServerContext* ctx, const analyzer::v1::TopPerformersRequest* req,
                             analyzer::v1::TopPerformersResponse* resp) override;
  grpc::Status InteractionsByProduct(grpc::ServerContext* ctx,
                                     const analyzer::v1::InteractionsByProductRequest* req,
                                     analyzer::v1::InteractionsByProductResponse* resp) override;
  // Privacy: a fixed answer naming the user (the recommender's erases and exports its feedback).
  grpc::Status EraseUser(grpc::ServerContext* ctx, const privacy::v1::EraseUserRequest* req,
                         privacy::v1::EraseUserResponse* resp) override;
  grpc::Status ExportUser(grpc::ServerContext* ctx, const privacy::v1::ExportUserRequest* req,
                          privacy::v1::ExportUserResponse* resp) override;

  std::atomic<int> list_calls{0};
  std::atomic<int> alert_list_calls{0};
  // AnalyzeText "sleep:" calls under way, and those that ended because the caller cancelled.
  std::atomic<int> sleeping{0};
  std::atomic<int> cancelled{0};

 private:
  std::vector<analyzer::v1::ProductInsights> products_;
};

class FakeRecommender final : public recommender::v1::RecommenderService::Service {
 public:
  FakeRecommender();
  grpc::Status Recommend(grpc::ServerContext* ctx, const recommender::v1::RecommendRequest* req,
                         recommender::v1::RecommendResponse* resp) override;
  grpc::Status SimilarItems(grpc::ServerContext* ctx, const recommender::v1::SimilarItemsRequest* req,
                            recommender::v1::ItemsResponse* resp) override;
  grpc::Status FrequentlyBoughtTogether(grpc::ServerContext* ctx,
                                        const recommender::v1::FrequentlyBoughtTogetherRequest* req,
                                        recommender::v1::ItemsResponse* resp) override;
  grpc::Status Rerank(grpc::ServerContext* ctx, const recommender::v1::RerankRequest* req,
                      recommender::v1::ItemsResponse* resp) override;
  grpc::Status RecordFeedback(grpc::ServerContext* ctx, const recommender::v1::RecordFeedbackRequest* req,
                              recommender::v1::RecordFeedbackResponse* resp) override;
  grpc::Status ForgetUser(grpc::ServerContext* ctx, const recommender::v1::ForgetUserRequest* req,
                          recommender::v1::ForgetUserResponse* resp) override;
  // Privacy: a fixed answer naming the user (the recommender's erases and exports its feedback).
  grpc::Status EraseUser(grpc::ServerContext* ctx, const privacy::v1::EraseUserRequest* req,
                         privacy::v1::EraseUserResponse* resp) override;
  grpc::Status ExportUser(grpc::ServerContext* ctx, const privacy::v1::ExportUserRequest* req,
                          privacy::v1::ExportUserResponse* resp) override;
  grpc::Status ListModels(grpc::ServerContext* ctx, const recommender::v1::ListModelsRequest* req,
                          recommender::v1::ListModelsResponse* resp) override;
  grpc::Status PromoteModel(grpc::ServerContext* ctx, const recommender::v1::PromoteModelRequest* req,
                            recommender::v1::Model* resp) override;
  grpc::Status RollbackModel(grpc::ServerContext* ctx, const recommender::v1::RollbackModelRequest* req,
                             recommender::v1::Model* resp) override;
  grpc::Status GetExperimentResults(grpc::ServerContext* ctx,
                                    const recommender::v1::GetExperimentResultsRequest* req,
                                    recommender::v1::ExperimentResults* resp) override;

  std::vector<recommender::v1::RecordFeedbackRequest> feedback();

 private:
  absl::Mutex mu_;
  std::vector<recommender::v1::RecordFeedbackRequest> feedback_ ABSL_GUARDED_BY(mu_);
  std::vector<recommender::v1::Model> models_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> promotions_ ABSL_GUARDED_BY(mu_);
};

class FakeCollector final : public collector::v1::CollectorService::Service {
 public:
  grpc::Status StartCrawl(grpc::ServerContext* ctx, const collector::v1::StartCrawlRequest* req,
                          collector::v1::Crawl* resp) override;
  grpc::Status GetCrawl(grpc::ServerContext* ctx, const collector::v1::GetCrawlRequest* req,
                        collector::v1::Crawl* resp) override;
  grpc::Status ListCrawls(grpc::ServerContext* ctx, const collector::v1::ListCrawlsRequest* req,
                          collector::v1::ListCrawlsResponse* resp) override;
  grpc::Status CancelCrawl(grpc::ServerContext* ctx, const collector::v1::CancelCrawlRequest* req,
                           collector::v1::Crawl* resp) override;
  // Products "p<N>" have six weekly price points (others are NOT_FOUND); shoppers C0000001..C0000008,
  // alternately "loyal" and "new"; campaigns CMP0001, CMP0002, CMP0042.
  grpc::Status ListPriceHistory(grpc::ServerContext* ctx, const collector::v1::ListPriceHistoryRequest* req,
                                collector::v1::ListPriceHistoryResponse* resp) override;
  grpc::Status ListShoppers(grpc::ServerContext* ctx, const collector::v1::ListShoppersRequest* req,
                            collector::v1::ListShoppersResponse* resp) override;
  grpc::Status ListCampaigns(grpc::ServerContext* ctx, const collector::v1::ListCampaignsRequest* req,
                             collector::v1::ListCampaignsResponse* resp) override;
  // A stand-in for the real CSV ingest (it parses nothing special and stores nothing): the first non-blank
  // line is the header; every later non-blank line is a row, accepted when it has as many comma-separated
  // fields as the header, else rejected "malformed line: N fields but the header has M" with its line
  // number. kind: the header's, else "contacts" when the header has a "customer" column, else
  // "campaign_posts". A zip (a workbook) or an empty file: INVALID_ARGUMENT. Counted in `ingested_files`.
  grpc::Status IngestFile(grpc::ServerContext* ctx,
                          grpc::ServerReader<collector::v1::IngestFileChunk>* reader,
                          collector::v1::IngestReport* resp) override;

  std::atomic<int> ingested_files{0};
  // Privacy: a fixed answer naming the user (the recommender's erases and exports its feedback).
  grpc::Status EraseUser(grpc::ServerContext* ctx, const privacy::v1::EraseUserRequest* req,
                         privacy::v1::EraseUserResponse* resp) override;
  grpc::Status ExportUser(grpc::ServerContext* ctx, const privacy::v1::ExportUserRequest* req,
                          privacy::v1::ExportUserResponse* resp) override;

 private:
  absl::Mutex mu_;
  std::vector<collector::v1::Crawl> crawls_ ABSL_GUARDED_BY(mu_);
};

// One gRPC server (127.0.0.1, free port) per fake.
struct FakeBackends {
  explicit FakeBackends(int products = 10) : analyzer(products) {}
  FakeAnalyzer analyzer;
  FakeRecommender recommender;
  FakeCollector collector;
  std::unique_ptr<server::Server> analyzer_server;
  std::unique_ptr<server::Server> recommender_server;
  std::unique_ptr<server::Server> collector_server;

  // Starts the three servers; fails the process (abort) when one cannot start.
  static std::unique_ptr<FakeBackends> Start(int products = 10);
  std::string analyzer_address() const;
  std::string recommender_address() const;
  std::string collector_address() const;
};

}  // namespace marketlens::gateway::testing

#endif  // MARKETLENS_SERVICES_GATEWAY_FAKE_BACKENDS_H_
