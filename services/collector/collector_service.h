// The CollectorService gRPC surface (protos/marketlens/collector/v1/collector.proto): crawl control over
// CrawlManager, and IngestFile over the batch ingest (ingest.h).
#ifndef MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_SERVICE_H_
#define MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_SERVICE_H_

#include "common/postgres/pool.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "services/collector/collector_metrics.h"
#include "services/collector/crawler.h"
#include "services/collector/dashboard_queries.h"
#include "services/collector/ingest.h"

namespace marketlens::collector {

namespace cv1 = ::marketlens::collector::v1;

class CollectorServiceImpl final : public cv1::CollectorService::Service {
 public:
  // `pool` serves IngestFile; `crawler` may be null (crawl RPCs then answer UNAVAILABLE).
  CollectorServiceImpl(postgres::PgPool* pool, CrawlManager* crawler, IngestOptions ingest_options = {},
                       CollectorMetrics* metrics = &CollectorMetrics::Default());

  grpc::Status StartCrawl(grpc::ServerContext* context, const cv1::StartCrawlRequest* request,
                          cv1::Crawl* response) override;
  grpc::Status GetCrawl(grpc::ServerContext* context, const cv1::GetCrawlRequest* request,
                        cv1::Crawl* response) override;
  grpc::Status ListCrawls(grpc::ServerContext* context, const cv1::ListCrawlsRequest* request,
                          cv1::ListCrawlsResponse* response) override;
  grpc::Status CancelCrawl(grpc::ServerContext* context, const cv1::CancelCrawlRequest* request,
                           cv1::Crawl* response) override;
  grpc::Status IngestFile(grpc::ServerContext* context, grpc::ServerReader<cv1::IngestFileChunk>* reader,
                          cv1::IngestReport* response) override;
  // Read views for the dashboard (dashboard_queries.h).
  grpc::Status ListPriceHistory(grpc::ServerContext* context, const cv1::ListPriceHistoryRequest* request,
                                cv1::ListPriceHistoryResponse* response) override;
  grpc::Status ListShoppers(grpc::ServerContext* context, const cv1::ListShoppersRequest* request,
                            cv1::ListShoppersResponse* response) override;
  grpc::Status ListCampaigns(grpc::ServerContext* context, const cv1::ListCampaignsRequest* request,
                             cv1::ListCampaignsResponse* response) override;
  // Privacy (person_data.h, docs/privacy.md).
  grpc::Status EraseUser(grpc::ServerContext* context, const privacy::v1::EraseUserRequest* request,
                         privacy::v1::EraseUserResponse* response) override;
  grpc::Status ExportUser(grpc::ServerContext* context, const privacy::v1::ExportUserRequest* request,
                          privacy::v1::ExportUserResponse* response) override;

 private:
  grpc::Status FillCrawl(const CrawlRow& row, cv1::Crawl* out);

  postgres::PgPool* pool_;
  CrawlManager* crawler_;
  IngestOptions ingest_options_;
  CollectorMetrics* metrics_;
  DashboardQueries dashboard_{pool_};
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_COLLECTOR_SERVICE_H_
