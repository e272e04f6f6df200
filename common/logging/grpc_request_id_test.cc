// Request ids through real in-process gRPC servers: from client metadata into the handler's log lines and
// back in the response metadata, generated when missing, and carried on by calls made inside a handler.
#include "common/logging/grpc_request_id.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/logging/log.h"
#include "common/testing/grpc_status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/interceptor.h"
#include "gtest/gtest.h"
#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"

namespace marketlens::logging {
namespace {

using ::marketlens::testing::IsOk;
using marketplace::v1::MarketplaceService;

// What one handler invocation saw.
struct Seen {
  std::string current_id;  // CurrentRequestId() in the handler
  std::string context_id;  // RequestIdFrom(ctx)
  std::thread::id handler_thread;
};

// Records, per call, the thread and current id at interceptor creation and at POST_RECV_MESSAGE.
struct HookLog {
  absl::Mutex mu;
  std::vector<std::string> id_at_creation;
  std::vector<std::thread::id> recv_message_threads;
};

class RecordingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RecordingInterceptor(HookLog* log) : log_(log) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::POST_RECV_MESSAGE)) {
      absl::MutexLock lock(&log_->mu);
      log_->recv_message_threads.push_back(std::this_thread::get_id());
    }
    methods->Proceed();
  }

 private:
  HookLog* log_;
};

class RecordingFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RecordingFactory(HookLog* log) : log_(log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    absl::MutexLock lock(&log_->mu);
    log_->id_at_creation.push_back(CurrentRequestId());  // must be "": nothing leaks between calls
    return new RecordingInterceptor(log_);
  }

 private:
  HookLog* log_;
};

class Service : public MarketplaceService::Service {
 public:
  grpc::Status GetProduct(grpc::ServerContext* ctx, const marketplace::v1::GetProductRequest* request,
                          marketplace::v1::Product* response) override {
    Info("handling GetProduct", {{"product_id", request->product_id()}});
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(Seen{CurrentRequestId(), RequestIdFrom(*ctx), std::this_thread::get_id()});
    }
    if (downstream_ != nullptr) {
      // A call made inside the handler, with no explicit metadata.
      grpc::ClientContext down_ctx;
      down_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      marketplace::v1::GetProductRequest down_req;
      down_req.set_product_id("downstream-" + request->product_id());
      marketplace::v1::Product down_resp;
      grpc::Status st = downstream_->GetProduct(&down_ctx, down_req, &down_resp);
      if (!st.ok()) return st;
    }
    response->set_id(request->product_id());
    return grpc::Status::OK;
  }

  void set_downstream(std::unique_ptr<MarketplaceService::Stub> stub) { downstream_ = std::move(stub); }

  std::vector<Seen> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Seen> seen_;
  std::unique_ptr<MarketplaceService::Stub> downstream_;
};

// A sync server with the request-id interceptor (and a recording one after it).
struct TestServer {
  explicit TestServer(Service* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(NewServerRequestIdInterceptorFactory());
    creators.push_back(std::make_unique<RecordingFactory>(&hooks));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server = builder.BuildAndStart();
  }
  ~TestServer() { server->Shutdown(); }

  std::shared_ptr<grpc::Channel> Channel() {
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
    creators.push_back(NewClientRequestIdInterceptorFactory());
    return grpc::experimental::CreateCustomChannelWithInterceptors(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
        std::move(creators));
  }

  int port = 0;
  HookLog hooks;
  std::unique_ptr<grpc::Server> server;
};

class GrpcRequestIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSinkForTesting([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
    server_ = std::make_unique<TestServer>(&service_);
    ASSERT_NE(server_->server, nullptr);
    stub_ = MarketplaceService::NewStub(server_->Channel());
  }
  void TearDown() override {
    server_.reset();
    SetSinkForTesting(nullptr);
  }

  // Calls GetProduct; returns the x-request-id of the response's initial metadata.
  std::string Call(const std::string& product_id, const std::string& request_id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!request_id.empty()) ctx.AddMetadata(kRequestIdKey, request_id);
    marketplace::v1::GetProductRequest req;
    req.set_product_id(product_id);
    marketplace::v1::Product resp;
    grpc::Status st = stub_->GetProduct(&ctx, req, &resp);
    EXPECT_THAT(st, IsOk());
    auto it = ctx.GetServerInitialMetadata().find(kRequestIdKey);
    if (it == ctx.GetServerInitialMetadata().end()) return "<none>";
    return std::string(it->second.data(), it->second.size());
  }

  std::vector<std::string> LinesContaining(const std::string& needle) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) out.push_back(l);
    }
    return out;
  }

  absl::Mutex mu_;
  std::vector<std::string> lines_;
  Service service_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<MarketplaceService::Stub> stub_;
};

TEST_F(GrpcRequestIdTest, ClientIdReachesHandlerLogAndResponseMetadata) {
  EXPECT_EQ(Call("B001", "req-abc-123"), "req-abc-123");
  auto seen = service_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].current_id, "req-abc-123");
  EXPECT_EQ(seen[0].context_id, "req-abc-123");
  auto lines = LinesContaining("handling GetProduct");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"request_id\":\"req-abc-123\""), std::string::npos) << lines[0];
}

TEST_F(GrpcRequestIdTest, MissingIdIsGenerated) {
  const std::string id = Call("B001", "");
  ASSERT_EQ(id.size(), 32u) << id;
  auto seen = service_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].current_id, id);
  EXPECT_EQ(seen[0].context_id, id);  // RequestIdFrom sees the generated id too
  auto lines = LinesContaining("handling GetProduct");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"request_id\":\"" + id + "\""), std::string::npos) << lines[0];
  // Each call gets its own.
  EXPECT_NE(Call("B001", ""), id);
}

TEST_F(GrpcRequestIdTest, MalformedIdIsReplaced) {
  const std::string bad = "evil\",\"level\":\"error";
  const std::string id = Call("B001", bad);
  EXPECT_NE(id, bad);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(service_.seen().at(0).context_id, id);
  EXPECT_EQ(Call("B001", std::string(200, 'a')).size(), 32u);  // too long
}

TEST_F(GrpcRequestIdTest, HookAndHandlerShareTheThreadAndNothingLeaksBetweenCalls) {
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i)
    sent.push_back(Call("B00" + std::to_string(i), i % 2 ? "id-" + std::to_string(i) : ""));
  auto seen = service_.seen();
  ASSERT_EQ(seen.size(), 10u);
  absl::MutexLock lock(&server_->hooks.mu);
  ASSERT_EQ(server_->hooks.recv_message_threads.size(), 10u);
  ASSERT_EQ(server_->hooks.id_at_creation.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    // POST_RECV_MESSAGE ran on the thread that then ran the handler (sync server).
    EXPECT_EQ(server_->hooks.recv_message_threads[i], seen[i].handler_thread) << i;
    EXPECT_EQ(seen[i].current_id, sent[i]) << i;
    // The server thread carried no id into the next call: the scope ended with the call.
    EXPECT_EQ(server_->hooks.id_at_creation[i], "") << i;
  }
}

TEST_F(GrpcRequestIdTest, CallInsideHandlerCarriesTheIdOn) {
  Service downstream;
  TestServer down_server(&downstream);
  ASSERT_NE(down_server.server, nullptr);
  service_.set_downstream(MarketplaceService::NewStub(down_server.Channel()));

  EXPECT_EQ(Call("B001", "trace-42"), "trace-42");
  auto seen = downstream.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].context_id, "trace-42");
  EXPECT_EQ(seen[0].current_id, "trace-42");
  auto lines = LinesContaining("downstream-B001");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"request_id\":\"trace-42\""), std::string::npos) << lines[0];

  // A generated id propagates the same way.
  const std::string generated = Call("B002", "");
  EXPECT_EQ(downstream.seen().at(1).context_id, generated);
  service_.set_downstream(nullptr);
}

TEST(GrpcRequestIdClientTest, NoCurrentIdAddsNothing) {
  ASSERT_EQ(CurrentRequestId(), "");
  auto factory = NewClientRequestIdInterceptorFactory();
  EXPECT_EQ(factory->CreateClientInterceptor(nullptr), nullptr);
}

TEST(GrpcRequestIdValidTest, Validity) {
  EXPECT_TRUE(IsValidRequestId("0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(IsValidRequestId("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(IsValidRequestId("Root=1-5759e988-bd862e3fe1be46a994272793"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("has space"));
  EXPECT_FALSE(IsValidRequestId("quote\""));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
}

}  // namespace
}  // namespace marketlens::logging
