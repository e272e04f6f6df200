// The exposer serves the registry over real HTTP on 127.0.0.1, including the gRPC interceptor's series.
#include "common/metrics/exposer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics/grpc_metrics.h"
#include "common/testing/free_port.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/http_get.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"
#include "prometheus/counter.h"

namespace marketlens::metrics {
namespace {

using ::marketlens::testing::HttpGet;
using ::marketlens::testing::IsOk;

class Marketplace : public marketplace::v1::MarketplaceService::Service {
  grpc::Status GetProduct(grpc::ServerContext*, const marketplace::v1::GetProductRequest* request,
                          marketplace::v1::Product* response) override {
    response->set_id(request->product_id());
    return grpc::Status::OK;
  }
};

TEST(MetricsExposerTest, ScrapeShowsGrpcServerHandledTotal) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto port_free_now = marketlens::testing::PickFreePort();
  ASSERT_THAT(port_free_now, IsOk());
  auto exposer = MetricsExposer::Start(absl::StrCat("127.0.0.1:", *port_free_now), registry);
  ASSERT_THAT(exposer, IsOk()) << exposer.status();

  Marketplace service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(NewServerMetricsInterceptorFactory(registry));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto stub = marketplace::v1::MarketplaceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  marketplace::v1::GetProductRequest req;
  req.set_product_id("B001");
  marketplace::v1::Product resp;
  ASSERT_THAT(stub->GetProduct(&ctx, req, &resp), IsOk());

  const std::string page = HttpGet((*exposer)->port(), "/metrics");
  EXPECT_NE(page.find("200 OK"), std::string::npos) << page;
  EXPECT_NE(page.find("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"GetProduct\","
                      "grpc_service=\"marketlens.marketplace.v1.MarketplaceService\","
                      "grpc_type=\"unary\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("# TYPE grpc_server_handling_seconds histogram"), std::string::npos);
  server->Shutdown();
}

TEST(MetricsExposerTest, ServesMetricsServicesAddThemselves) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family =
      prometheus::BuildCounter().Name("marketlens_test_events_total").Help("test").Register(*registry);
  family.Add({{"kind", "x"}}).Increment(3);
  auto exposer = MetricsExposer::Start("127.0.0.1:0", registry);
  ASSERT_THAT(exposer, IsOk()) << exposer.status();
  ASSERT_GT((*exposer)->port(), 0);
  EXPECT_EQ((*exposer)->address(), absl::StrCat("127.0.0.1:", (*exposer)->port()));
  const std::string page = HttpGet((*exposer)->port(), "/metrics");
  EXPECT_NE(page.find("marketlens_test_events_total{kind=\"x\"} 3"), std::string::npos) << page;
}

TEST(MetricsExposerTest, PortInUseIsAClearError) {
  auto first = MetricsExposer::Start("127.0.0.1:0", std::make_shared<prometheus::Registry>());
  ASSERT_THAT(first, IsOk()) << first.status();
  auto second = MetricsExposer::Start(absl::StrCat("127.0.0.1:", (*first)->port()),
                                      std::make_shared<prometheus::Registry>());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(absl::StrCat("127.0.0.1:", (*first)->port())), std::string::npos)
      << second.status();
}

TEST(MetricsExposerTest, MalformedAddressIsInvalidArgument) {
  for (const char* bad : {"9102", "host:", "host:99999", ":x"}) {
    auto e = MetricsExposer::Start(bad, std::make_shared<prometheus::Registry>());
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(MetricsExposerTest, DefaultRegistryIsShared) {
  EXPECT_NE(DefaultRegistry(), nullptr);
  EXPECT_EQ(DefaultRegistry().get(), DefaultRegistry().get());
}

}  // namespace
}  // namespace marketlens::metrics
