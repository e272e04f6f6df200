// Real in-process gRPC server and client with both metrics interceptors; the counters are read back from the
// registry and must match what go-grpc-prometheus would report for the same calls.
#include "common/metrics/grpc_metrics.h"

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/grpc_status_matchers.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/collector/v1/collector.grpc.pb.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"
#include "prometheus/registry.h"

namespace marketlens::metrics {
namespace {

using collector::v1::CollectorService;
using ::marketlens::testing::IsOk;
using marketplace::v1::MarketplaceService;

class FakeMarketplace : public MarketplaceService::Service {
 public:
  grpc::Status GetProduct(grpc::ServerContext*, const marketplace::v1::GetProductRequest* request,
                          marketplace::v1::Product* response) override {
    if (request->product_id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "product_id is required");
    }
    if (request->product_id() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such product");
    }
    if (request->product_id() == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
    }
    response->set_id(request->product_id());
    return grpc::Status::OK;
  }
};

class FakeCollector : public CollectorService::Service {
 public:
  grpc::Status IngestFile(grpc::ServerContext*, grpc::ServerReader<collector::v1::IngestFileChunk>* reader,
                          collector::v1::IngestReport* report) override {
    collector::v1::IngestFileChunk chunk;
    int64_t n = 0;
    while (reader->Read(&chunk)) ++n;
    report->set_rows(n);
    return grpc::Status::OK;
  }
};

// Looks up one series in the registry; nullopt when it does not exist.
std::optional<prometheus::ClientMetric> Find(prometheus::Registry& registry, const std::string& family,
                                             const std::map<std::string, std::string>& labels) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got == labels) return m;
    }
  }
  return std::nullopt;
}

double CounterValue(prometheus::Registry& registry, const std::string& family,
                    const std::map<std::string, std::string>& labels) {
  auto m = Find(registry, family, labels);
  EXPECT_TRUE(m.has_value()) << "no series " << family;
  return m ? m->counter.value : -1;
}

std::map<std::string, std::string> L(const std::string& type, const std::string& service,
                                     const std::string& method) {
  return {{"grpc_type", type}, {"grpc_service", service}, {"grpc_method", method}};
}

std::map<std::string, std::string> L(const std::string& type, const std::string& service,
                                     const std::string& method, const std::string& code) {
  auto labels = L(type, service, method);
  labels["grpc_code"] = code;
  return labels;
}

class GrpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<prometheus::Registry>();
    server_metrics_ = NewServerMetrics(registry_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&marketplace_);
    builder.RegisterService(&collector_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(NewServerMetricsInterceptorFactory(server_metrics_));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);

    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> client;
    client.push_back(NewClientMetricsInterceptorFactory(registry_));
    channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
        std::move(client));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status GetProduct(const std::string& id) {
    auto stub = MarketplaceService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    marketplace::v1::GetProductRequest req;
    req.set_product_id(id);
    marketplace::v1::Product resp;
    return stub->GetProduct(&ctx, req, &resp);
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<GrpcMetrics> server_metrics_;
  FakeMarketplace marketplace_;
  FakeCollector collector_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

constexpr char kMarketplace[] = "marketlens.marketplace.v1.MarketplaceService";
constexpr char kCollector[] = "marketlens.collector.v1.CollectorService";

TEST_F(GrpcMetricsTest, UnaryCallsAreCountedByCodeOnServerAndClient) {
  EXPECT_THAT(GetProduct("B001"), IsOk());
  EXPECT_THAT(GetProduct("B002"), IsOk());
  EXPECT_EQ(GetProduct("missing").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetProduct("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  for (const std::string side : {"server", "client"}) {
    SCOPED_TRACE(side);
    const std::string p = "grpc_" + side + "_";
    auto labels = L("unary", kMarketplace, "GetProduct");
    EXPECT_EQ(CounterValue(*registry_, p + "started_total", labels), 4);
    EXPECT_EQ(CounterValue(*registry_, p + "handled_total", L("unary", kMarketplace, "GetProduct", "OK")), 2);
    EXPECT_EQ(
        CounterValue(*registry_, p + "handled_total", L("unary", kMarketplace, "GetProduct", "NotFound")), 1);
    EXPECT_EQ(CounterValue(*registry_, p + "handled_total",
                           L("unary", kMarketplace, "GetProduct", "InvalidArgument")),
              1);
    // Every code exists at zero from the first call on, as in go-grpc-prometheus.
    EXPECT_EQ(
        CounterValue(*registry_, p + "handled_total", L("unary", kMarketplace, "GetProduct", "Unavailable")),
        0);
    EXPECT_EQ(CounterValue(*registry_, p + "msg_received_total", labels),
              side == "server" ? 4 : 2);  // failed calls send no response message
    EXPECT_EQ(CounterValue(*registry_, p + "msg_sent_total", labels), side == "server" ? 2 : 4);
    auto hist = Find(*registry_, p + "handling_seconds", labels);
    ASSERT_TRUE(hist.has_value());
    EXPECT_EQ(hist->histogram.sample_count, 4u);
  }
}

TEST_F(GrpcMetricsTest, ClientStreamCountsEveryMessage) {
  auto stub = CollectorService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  collector::v1::IngestReport report;
  auto writer = stub->IngestFile(&ctx, &report);
  collector::v1::IngestFileChunk chunk;
  chunk.set_data("a,b\n");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->Write(chunk));
  ASSERT_TRUE(writer->WritesDone());
  ASSERT_THAT(writer->Finish(), IsOk());
  EXPECT_EQ(report.rows(), 3);

  auto labels = L("client_stream", kCollector, "IngestFile");
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_started_total", labels), 1);
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_msg_received_total", labels), 3);
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_msg_sent_total", labels), 1);
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_handled_total",
                         L("client_stream", kCollector, "IngestFile", "OK")),
            1);
  EXPECT_EQ(CounterValue(*registry_, "grpc_client_msg_sent_total", labels), 3);
  EXPECT_EQ(CounterValue(*registry_, "grpc_client_msg_received_total", labels), 1);
  EXPECT_EQ(CounterValue(*registry_, "grpc_client_handled_total",
                         L("client_stream", kCollector, "IngestFile", "OK")),
            1);
}

TEST_F(GrpcMetricsTest, HandlingSecondsUsesGoDefaultBuckets) {
  ASSERT_THAT(GetProduct("slow"), IsOk());  // the handler sleeps 60 ms
  for (const std::string side : {"server", "client"}) {
    SCOPED_TRACE(side);
    auto hist =
        Find(*registry_, "grpc_" + side + "_handling_seconds", L("unary", kMarketplace, "GetProduct"));
    ASSERT_TRUE(hist.has_value());
    const auto& h = hist->histogram;
    EXPECT_EQ(h.sample_count, 1u);
    EXPECT_GE(h.sample_sum, 0.055);
    std::vector<double> bounds;
    for (const auto& b : h.bucket) bounds.push_back(b.upper_bound);
    const std::vector<double> want = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5,   1,    2.5,   5,    10,  std::numeric_limits<double>::infinity()};
    EXPECT_EQ(bounds, want);
    ASSERT_EQ(h.bucket.size(), want.size());
    EXPECT_EQ(h.bucket[3].cumulative_count, 0u);      // <= 0.05 s: none
    EXPECT_EQ(h.bucket.back().cumulative_count, 1u);  // +Inf: the call
  }
}

TEST_F(GrpcMetricsTest, PreinitializeCreatesZeroSeriesForEveryMethod) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(kMarketplace);
  ASSERT_NE(service, nullptr);
  server_metrics_->Preinitialize(*service);
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_started_total", L("unary", kMarketplace, "ListProducts")),
            0);
  EXPECT_EQ(CounterValue(*registry_, "grpc_server_handled_total",
                         L("unary", kMarketplace, "ListProducts", "ResourceExhausted")),
            0);
  // The client side knows nothing about methods never called.
  EXPECT_FALSE(
      Find(*registry_, "grpc_client_started_total", L("unary", kMarketplace, "ListProducts")).has_value());
}

TEST(GrpcMetricsNamesTest, CodeNamesAreGoNames) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "Canceled");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DeadlineExceeded");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "ResourceExhausted");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "Unauthenticated");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(42)), "Code(42)");
}

TEST(GrpcMetricsNamesTest, SplitsFullMethod) {
  EXPECT_EQ(SplitFullMethod("/a.b.Svc/Do"), std::make_pair(std::string("a.b.Svc"), std::string("Do")));
  EXPECT_EQ(SplitFullMethod("nonsense").first, "unknown");
  EXPECT_EQ(SplitFullMethod("/only").first, "unknown");
  EXPECT_EQ(RpcTypeName(RpcType::kBidiStream), "bidi_stream");
  EXPECT_EQ(RpcTypeName(RpcType::kServerStream), "server_stream");
}

}  // namespace
}  // namespace marketlens::metrics
