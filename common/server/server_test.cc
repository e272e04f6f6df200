// The bootstrap against real in-process servers: health, reflection, interceptors, readiness, bind errors
// and the graceful drain.
#include "common/server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc_health/health_client.h"
#include "common/logging/log.h"
#include "common/server/channel.h"
#include "common/testing/grpc_status_matchers.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"

namespace marketlens::server {
namespace {

using grpc::health::v1::HealthCheckResponse;
using ::marketlens::testing::IsOk;
using marketplace::v1::MarketplaceService;

constexpr char kService[] = "marketlens.marketplace.v1.MarketplaceService";

// GetProduct("sleep:<ms>") sleeps (until cancelled); anything else answers at once.
class TestMarketplace : public MarketplaceService::Service {
 public:
  grpc::Status GetProduct(grpc::ServerContext* ctx, const marketplace::v1::GetProductRequest* request,
                          marketplace::v1::Product* response) override {
    calls_.fetch_add(1);
    int ms = 0;
    if (absl::StartsWith(request->product_id(), "sleep:")) {
      ms = std::stoi(request->product_id().substr(6));
      entered_.fetch_add(1);
      const absl::Time until = absl::Now() + absl::Milliseconds(ms);
      while (absl::Now() < until) {
        if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        absl::SleepFor(absl::Milliseconds(5));
      }
    }
    response->set_id(request->product_id());
    return grpc::Status::OK;
  }

  int entered() const { return entered_.load(); }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
  std::atomic<int> entered_{0};
};

grpc::Status GetProduct(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                        absl::Duration timeout = absl::Seconds(5),
                        std::string* response_request_id = nullptr) {
  auto stub = MarketplaceService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  marketplace::v1::GetProductRequest req;
  req.set_product_id(id);
  marketplace::v1::Product resp;
  grpc::Status st = stub->GetProduct(&ctx, req, &resp);
  if (response_request_id != nullptr) {
    auto it = ctx.GetServerInitialMetadata().find("x-request-id");
    if (it != ctx.GetServerInitialMetadata().end()) {
      *response_request_id = std::string(it->second.data(), it->second.size());
    }
  }
  return st;
}

// The services the server lists through grpc.reflection.v1alpha.ServerReflection. The request and
// response types come from the descriptors libgrpc++_reflection registers; the call is a raw bidi stream.
std::vector<std::string> ReflectionListServices(const std::shared_ptr<grpc::Channel>& channel) {
  namespace pb = google::protobuf;
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  const pb::Descriptor* req_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest");
  const pb::Descriptor* resp_type =
      pool->FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse");
  if (req_type == nullptr || resp_type == nullptr) {
    ADD_FAILURE() << "reflection descriptors are not in the generated pool";
    return {};
  }
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> req(factory.GetPrototype(req_type)->New());
  req->GetReflection()->SetString(req.get(), req_type->FindFieldByName("list_services"), "*");

  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  const grpc::internal::RpcMethod method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                         grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
      grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(channel.get(),
                                                                                            method, &ctx));
  const std::string bytes = req->SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out(&slice, 1);
  EXPECT_TRUE(stream->Write(out));
  stream->WritesDone();
  std::vector<std::string> names;
  grpc::ByteBuffer in;
  while (stream->Read(&in)) {
    std::vector<grpc::Slice> slices;
    EXPECT_THAT(in.Dump(&slices), IsOk());
    std::string data;
    for (const auto& s : slices) data.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::unique_ptr<pb::Message> resp(factory.GetPrototype(resp_type)->New());
    EXPECT_TRUE(resp->ParseFromString(data));
    const pb::FieldDescriptor* list_field = resp_type->FindFieldByName("list_services_response");
    const pb::Message& list = resp->GetReflection()->GetMessage(*resp, list_field);
    const pb::FieldDescriptor* service_field = list.GetDescriptor()->FindFieldByName("service");
    for (int i = 0; i < list.GetReflection()->FieldSize(list, service_field); ++i) {
      const pb::Message& svc = list.GetReflection()->GetRepeatedMessage(list, service_field, i);
      names.push_back(svc.GetReflection()->GetString(svc, svc.GetDescriptor()->FindFieldByName("name")));
    }
  }
  EXPECT_THAT(stream->Finish(), IsOk());
  return names;
}

std::optional<double> Value(prometheus::Registry& registry, const std::string& family,
                            const std::map<std::string, std::string>& labels) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got == labels) return m.counter.value;
    }
  }
  return std::nullopt;
}

// A listening TCP socket on 127.0.0.1 (holds a port busy).
class BusyPort {
 public:
  BusyPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 1);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerOptions Options() {
    return ServerOptions{.service_name = "test",
                         .grpc_address = "127.0.0.1:0",
                         .metrics_address = "127.0.0.1:0",
                         .drain_timeout = absl::Seconds(5),
                         .registry = registry_};
  }

  std::shared_ptr<grpc::Channel> Channel(const Server& s) {
    return MakeChannel(absl::StrCat("127.0.0.1:", s.grpc_port()), ChannelOptions{.registry = registry_});
  }

  absl::StatusOr<grpc_health::ServingStatus> Health(const Server& s, const std::string& service) {
    return grpc_health::CheckHealth(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", s.grpc_port()), grpc::InsecureChannelCredentials()),
        service, absl::Seconds(2));
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  TestMarketplace service_;
};

TEST_F(ServerTest, HealthIsServingForServerAndEachService) {
  Server s(Options());
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  EXPECT_GT(s.grpc_port(), 0);
  EXPECT_GT(s.metrics_port(), 0);
  EXPECT_EQ(s.service_names(), std::vector<std::string>{kService});
  auto overall = Health(s, "");
  ASSERT_THAT(overall, IsOk());
  EXPECT_EQ(*overall, HealthCheckResponse::SERVING);
  auto svc = Health(s, kService);
  ASSERT_THAT(svc, IsOk());
  EXPECT_EQ(*svc, HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(s, "no.such.Service").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(s.serving());
}

TEST_F(ServerTest, ReflectionListsTheServices) {
  Server s(Options());
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  std::vector<std::string> names = ReflectionListServices(Channel(s));
  EXPECT_NE(std::find(names.begin(), names.end(), kService), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"), names.end());
}

TEST_F(ServerTest, MetricsAndRequestIdInterceptorsAreInstalled) {
  Server s(Options());
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  // Every method's series exist before the first call.
  const std::map<std::string, std::string> list_products = {{"grpc_type", "unary"},
                                                            {"grpc_service", kService},
                                                            {"grpc_method", "ListProducts"},
                                                            {"grpc_code", "OK"}};
  EXPECT_EQ(Value(*registry_, "grpc_server_handled_total", list_products), 0);

  std::string echoed;
  {
    logging::ScopedRequestId id("req-from-caller");
    ASSERT_THAT(GetProduct(Channel(s), "B001", absl::Seconds(5), &echoed), IsOk());
  }
  EXPECT_EQ(echoed, "req-from-caller");  // MakeChannel sent it, the server echoed it
  const std::map<std::string, std::string> ok = {
      {"grpc_type", "unary"}, {"grpc_service", kService}, {"grpc_method", "GetProduct"}, {"grpc_code", "OK"}};
  EXPECT_EQ(Value(*registry_, "grpc_server_handled_total", ok), 1);
  EXPECT_EQ(Value(*registry_, "grpc_client_handled_total", ok), 1);
}

TEST_F(ServerTest, MaxMessageSizeIsEnforced) {
  ServerOptions o = Options();
  o.max_message_bytes = 1024;
  Server s(o);
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  EXPECT_THAT(GetProduct(Channel(s), std::string(100, 'x')), IsOk());
  EXPECT_EQ(GetProduct(Channel(s), std::string(4096, 'x')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServerTest, ReadinessCheckDrivesHealth) {
  std::atomic<bool> ready{false};
  ServerOptions o = Options();
  o.readiness_interval = absl::Milliseconds(30);
  Server s(o);
  s.AddService(&service_);
  s.SetReadinessCheck([&]() -> absl::Status {
    return ready.load() ? absl::OkStatus() : absl::UnavailableError("postgres unreachable");
  });
  ASSERT_THAT(s.Start(), IsOk());
  EXPECT_EQ(*Health(s, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(*Health(s, kService), HealthCheckResponse::NOT_SERVING);
  // Not ready, but alive: a liveness probe must not restart the pod for a dependency outage.
  EXPECT_EQ(*Health(s, kLivenessService), HealthCheckResponse::SERVING);
  ready.store(true);
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (absl::Now() < until && *Health(s, kService) != HealthCheckResponse::SERVING) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(*Health(s, kService), HealthCheckResponse::SERVING);
  EXPECT_EQ(*Health(s, ""), HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, GracefulShutdownFinishesInFlightCallsAndRefusesNewOnes) {
  ServerOptions o = Options();
  o.lame_duck = absl::Milliseconds(400);
  Server s(o);
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  auto channel = Channel(s);

  grpc::Status slow_status;
  std::thread slow([&] { slow_status = GetProduct(channel, "sleep:1200"); });
  while (service_.entered() == 0) absl::SleepFor(absl::Milliseconds(5));

  const absl::Time shutdown_start = absl::Now();
  std::thread stopper([&] { s.Shutdown(); });
  absl::SleepFor(absl::Milliseconds(150));  // inside the lame-duck period
  EXPECT_EQ(*Health(s, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(*Health(s, kService), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(*Health(s, kLivenessService), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(s.serving());

  absl::SleepFor(absl::Milliseconds(550));  // lame duck over, the slow call still running
  grpc::Status late = GetProduct(channel, "B001", absl::Seconds(1));
  EXPECT_FALSE(late.ok()) << "a call after shutdown began was accepted";

  slow.join();
  EXPECT_THAT(slow_status, IsOk());
  stopper.join();
  EXPECT_LT(absl::Now() - shutdown_start, o.drain_timeout);
  s.Shutdown();  // idempotent
}

TEST_F(ServerTest, DrainTimeoutCancelsStragglers) {
  ServerOptions o = Options();
  o.drain_timeout = absl::Milliseconds(300);
  Server s(o);
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  grpc::Status straggler;
  std::thread slow([&] { straggler = GetProduct(Channel(s), "sleep:20000", absl::Seconds(30)); });
  while (service_.entered() == 0) absl::SleepFor(absl::Milliseconds(5));
  const absl::Time start = absl::Now();
  s.Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  slow.join();
  EXPECT_FALSE(straggler.ok());
}

TEST_F(ServerTest, WaitForShutdownSignalReturnsWhenShutdownIsCalled) {
  Server s(Options());
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  std::thread other([&] {
    absl::SleepFor(absl::Milliseconds(100));
    s.Shutdown();
  });
  EXPECT_EQ(s.WaitForShutdownSignal(), 0);
  other.join();
  EXPECT_FALSE(GetProduct(Channel(s), "B001", absl::Milliseconds(500)).ok());
}

TEST_F(ServerTest, PortInUseIsAClearError) {
  BusyPort busy;
  ServerOptions o = Options();
  o.grpc_address = absl::StrCat("127.0.0.1:", busy.port());
  Server s(o);
  s.AddService(&service_);
  absl::Status st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find(absl::StrCat("port ", busy.port(), " in use")), std::string::npos) << st;
}

TEST_F(ServerTest, MetricsPortInUseFailsStartAndReleasesTheGrpcPort) {
  BusyPort busy;
  ServerOptions o = Options();
  o.metrics_address = absl::StrCat("127.0.0.1:", busy.port());
  Server s(o);
  s.AddService(&service_);
  absl::Status st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(o.metrics_address), std::string::npos) << st;
}

TEST_F(ServerTest, MakeChannelBalancesRoundRobinOverAllAddresses) {
  TestMarketplace other_service;
  Server a(Options());
  a.AddService(&service_);
  ASSERT_THAT(a.Start(), IsOk());
  Server b(Options());
  b.AddService(&other_service);
  ASSERT_THAT(b.Start(), IsOk());
  auto channel = MakeChannel(absl::StrCat("ipv4:127.0.0.1:", a.grpc_port(), ",127.0.0.1:", b.grpc_port()),
                             ChannelOptions{.registry = registry_});
  // round_robin starts picking as soon as the first subchannel is READY; wait (bounded) until both
  // servers have been reached once, so a slow second connect on a loaded machine is not a failure.
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while ((service_.calls() == 0 || other_service.calls() == 0) && absl::Now() < until) {
    ASSERT_THAT(GetProduct(channel, "B001"), IsOk());
  }
  const int a_before = service_.calls(), b_before = other_service.calls();
  ASSERT_GT(a_before, 0);
  ASSERT_GT(b_before, 0);
  for (int i = 0; i < 20; ++i) ASSERT_THAT(GetProduct(channel, "B001"), IsOk());
  // Both connected, round_robin alternates; pick_first would send all twenty to one server.
  EXPECT_GE(service_.calls() - a_before, 8);
  EXPECT_GE(other_service.calls() - b_before, 8);
  EXPECT_EQ(service_.calls() - a_before + other_service.calls() - b_before, 20);
}

TEST_F(ServerTest, StartTwiceIsAnError) {
  Server s(Options());
  s.AddService(&service_);
  ASSERT_THAT(s.Start(), IsOk());
  EXPECT_EQ(s.Start().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace marketlens::server
