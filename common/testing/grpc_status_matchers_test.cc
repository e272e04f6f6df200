#include "common/testing/grpc_status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

using ::testing::DescribeMatcher;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::StringMatchResultListener;

template <typename T, typename M>
std::string Explain(const M& matcher, const T& value) {
  StringMatchResultListener listener;
  Matcher<const T&>(matcher).MatchAndExplain(value, &listener);
  return listener.str();
}

// The matchers convert one code space into the other by value: every canonical code must agree.
TEST(GrpcStatusMatchersTest, TheTwoCodeSpacesAgree) {
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)),
              absl::StatusCodeToString(internal::ToAbslCode(static_cast<grpc::StatusCode>(code))));
  }
  EXPECT_EQ(internal::ToAbslCode(grpc::StatusCode::UNAUTHENTICATED), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(internal::ToAbslCode(grpc::StatusCode::DEADLINE_EXCEEDED), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(internal::ToAbslCode(grpc::StatusCode::RESOURCE_EXHAUSTED), absl::StatusCode::kResourceExhausted);
}

TEST(GrpcIsOkTest, MatchesAnOkGrpcStatus) {
  EXPECT_THAT(grpc::Status::OK, IsOk());
  EXPECT_THAT(grpc::Status(), IsOk());
  EXPECT_THAT(grpc::Status(grpc::StatusCode::NOT_FOUND, "x"), Not(IsOk()));
  EXPECT_THAT(grpc::Status::CANCELLED, Not(IsOk()));
}

TEST(GrpcIsOkTest, ExplainsTheStatusItSaw) {
  const grpc::Status down(grpc::StatusCode::UNAVAILABLE, "backend down");
  EXPECT_THAT(Explain(IsOk(), down), HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(Explain(IsOk(), down), HasSubstr("backend down"));
  EXPECT_EQ(DescribeMatcher<grpc::Status>(IsOk()), "is OK");
}

TEST(GrpcStatusIsTest, MatchesTheCodeGivenAsAGrpcOrAbslCode) {
  const grpc::Status s(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must be 1..100");
  EXPECT_THAT(s, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(s, Not(StatusIs(grpc::StatusCode::NOT_FOUND)));
  EXPECT_THAT(grpc::Status::OK, StatusIs(grpc::StatusCode::OK));
  EXPECT_THAT(Explain(StatusIs(grpc::StatusCode::NOT_FOUND), s), HasSubstr("INVALID_ARGUMENT"));
  EXPECT_EQ(DescribeMatcher<grpc::Status>(StatusIs(grpc::StatusCode::NOT_FOUND)),
            "has status code NOT_FOUND and a message that is anything");
}

TEST(GrpcStatusIsTest, MatchesTheMessage) {
  const grpc::Status s(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must be 1..100");
  EXPECT_THAT(s, StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("page_size")));
  EXPECT_THAT(s, StatusIs(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must be 1..100"));
  EXPECT_THAT(s, Not(StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("seed"))));
  EXPECT_THAT(Explain(StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("seed")), s),
              HasSubstr("whose message \"page_size: must be 1..100\" doesn't match"));
}

// A gRPC code also matches absl statuses, so one spelling serves both sides of a service boundary.
TEST(GrpcStatusIsTest, AGrpcCodeMatchesAbslStatusesToo) {
  EXPECT_THAT(absl::NotFoundError("x"), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(absl::StatusOr<int>(absl::UnavailableError("down")),
              StatusIs(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_THAT(absl::StatusOr<int>(3), IsOkAndHolds(3));
}

}  // namespace
}  // namespace marketlens::testing
