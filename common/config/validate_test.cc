#include "common/config/validate.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::config {
namespace {

using ::marketlens::testing::IsOk;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ValidateTest, Port) {
  EXPECT_THAT(ValidatePort("grpc_port", 50051), IsOk());
  EXPECT_THAT(ValidatePort("grpc_port", 1), IsOk());
  EXPECT_THAT(ValidatePort("grpc_port", 65535), IsOk());
  EXPECT_EQ(Message(ValidatePort("grpc_port", 99999)), "--grpc_port=99999: must be 1..65535");
  EXPECT_EQ(Message(ValidatePort("--grpc_port", 0)), "--grpc_port=0: must be 1..65535");
  EXPECT_EQ(ValidatePort("grpc_port", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValidatePort("grpc_port", 0, /*allow_zero=*/true), IsOk());
}

TEST(ValidateTest, Positive) {
  EXPECT_THAT(ValidatePositive("workers", 4), IsOk());
  EXPECT_EQ(Message(ValidatePositive("workers", 0)), "--workers=0: must be positive");
  EXPECT_EQ(Message(ValidatePositive("rate", -0.5)), "--rate=-0.5: must be positive");
  EXPECT_THAT(ValidatePositive("rate", 0.1), IsOk());
  EXPECT_THAT(ValidatePositive("drain_timeout", absl::Seconds(10)), IsOk());
  EXPECT_EQ(Message(ValidatePositive("drain_timeout", absl::ZeroDuration())),
            "--drain_timeout=0: must be positive");
  EXPECT_THAT(ValidatePositive("big", int64_t{1} << 40), IsOk());
}

TEST(ValidateTest, Range) {
  EXPECT_THAT(ValidateRange("page_size", 100, 1, 100), IsOk());
  EXPECT_THAT(ValidateRange("page_size", 1, 1, 100), IsOk());
  EXPECT_EQ(Message(ValidateRange("page_size", 101, 1, 100)), "--page_size=101: must be 1..100");
  EXPECT_EQ(Message(ValidateRange("fault_rate", 1.5, 0.0, 1.0)), "--fault_rate=1.5: must be 0..1");
  EXPECT_THAT(ValidateRange("fault_rate", 0.0, 0.0, 1.0), IsOk());
  EXPECT_EQ(Message(ValidateRange("timeout", absl::Minutes(5), absl::Seconds(1), absl::Seconds(60))),
            "--timeout=5m: must be 1s..1m");
}

TEST(ValidateTest, HostPort) {
  for (const char* good : {"localhost:50051", "0.0.0.0:9102", "127.0.0.1:1", "[::1]:50051", "[::]:8080",
                           "redis.default.svc.cluster.local:6379", "my_host:1"}) {
    EXPECT_THAT(ValidateHostPort("addr", good), IsOk()) << good << ": " << ValidateHostPort("addr", good);
  }
  EXPECT_EQ(Message(ValidateHostPort("redis_address", "localhost")),
            "--redis_address=localhost: must be host:port");
  EXPECT_EQ(Message(ValidateHostPort("redis_address", ":6379")),
            "--redis_address=:6379: host is empty (must be host:port)");
  EXPECT_EQ(Message(ValidateHostPort("redis_address", "localhost:70000")),
            "--redis_address=localhost:70000: port must be 1..65535");
  EXPECT_EQ(Message(ValidateHostPort("redis_address", "localhost:")),
            "--redis_address=localhost:: port must be 1..65535");
  EXPECT_EQ(Message(ValidateHostPort("redis_address", "localhost:abc")),
            "--redis_address=localhost:abc: port must be 1..65535");
  EXPECT_FALSE(ValidateHostPort("a", "bad host:80").ok());
  EXPECT_FALSE(ValidateHostPort("a", "::1:80").ok());
  EXPECT_FALSE(ValidateHostPort("a", "[zz]:80").ok());
  EXPECT_FALSE(ValidateHostPort("a", "host:0").ok());
  EXPECT_THAT(ValidateHostPort("a", "127.0.0.1:0", /*allow_zero_port=*/true), IsOk());
  EXPECT_EQ(Message(ValidateHostPort("a", "")), "--a=\"\": must be host:port");
}

TEST(ValidateTest, GrpcTarget) {
  // k8s/base/gateway.yaml passes dns:/// targets (client-side round_robin over headless Services).
  for (const char* good :
       {"localhost:50051", "[::1]:50051", "dns:///collector-headless:50052", "dns:collector:50052",
        "dns://10.0.0.10/collector.marketlens.svc:50052", "ipv4:127.0.0.1:50051", "ipv6:[::1]:50051",
        "unix:/run/x.sock", "unix:///run/x.sock"}) {
    EXPECT_THAT(ValidateGrpcTarget("addr", good), IsOk()) << good << ": " << ValidateGrpcTarget("addr", good);
  }
  EXPECT_EQ(Message(ValidateGrpcTarget("collector_address", "dns:///collector-headless")),
            "--collector_address=dns:///collector-headless: must be host:port");
  EXPECT_EQ(Message(ValidateGrpcTarget("collector_address", "dns:///collector:70000")),
            "--collector_address=dns:///collector:70000: port must be 1..65535");
  EXPECT_EQ(Message(ValidateGrpcTarget("a", "dns://collector:50052")),
            "--a=dns://collector:50052: must be dns:///host:port");
  EXPECT_EQ(Message(ValidateGrpcTarget("a", "unix:relative.sock")),
            "--a=unix:relative.sock: unix: needs an absolute path");
  EXPECT_FALSE(ValidateGrpcTarget("a", "::1:80").ok());
  EXPECT_FALSE(ValidateGrpcTarget("a", "").ok());
}

TEST(ValidateTest, OneOf) {
  EXPECT_THAT(ValidateOneOf("llm_backend", "local", {"local", "openai"}), IsOk());
  EXPECT_EQ(Message(ValidateOneOf("llm_backend", "gpt", {"local", "openai"})),
            "--llm_backend=gpt: must be one of local, openai");
  EXPECT_FALSE(ValidateOneOf("llm_backend", "Local", {"local", "openai"}).ok());
}

TEST(ValidateTest, NonEmpty) {
  EXPECT_THAT(ValidateNonEmpty("database_url", "postgresql://x"), IsOk());
  EXPECT_EQ(Message(ValidateNonEmpty("database_url", "")),
            "--database_url=\"\": must be set (--database_url or MARKETLENS_DATABASE_URL)");
  EXPECT_FALSE(ValidateNonEmpty("database_url", "  \n").ok());
}

TEST(ValidateTest, ConfigErrorsKeepsOnlyProblemsInOrder) {
  auto errors =
      ConfigErrors({absl::OkStatus(), ValidatePort("a", 0), absl::OkStatus(), ValidateNonEmpty("b", "")});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "--a=0: must be 1..65535");
}

TEST(ValidateTest, ExitOnInvalidReturnsWhenAllOk) {
  ExitOnInvalid({absl::OkStatus(), ValidatePort("grpc_port", 50051)});
  SUCCEED();
}

TEST(ValidateDeathTest, ExitOnInvalidPrintsEveryProblemAndExits2) {
  EXPECT_EXIT(ExitOnInvalid({ValidatePort("grpc_port", 99999), absl::OkStatus(),
                             ValidateOneOf("llm_backend", "gpt", {"local", "openai"})}),
              ::testing::ExitedWithCode(2),
              "config error: --grpc_port=99999: must be 1..65535\n"
              "config error: --llm_backend=gpt: must be one of local, openai\n");
}

}  // namespace
}  // namespace marketlens::config
