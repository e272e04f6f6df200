// The gMock matchers of status_matchers.h, also on grpc::Status (kept apart so that absl-only tests
// do not link gRPC):
//
//   EXPECT_THAT(stub->GetProduct(&ctx, request, &reply), IsOk());
//   EXPECT_THAT(status, StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("no product")));
//
// StatusIs accepts a grpc::StatusCode or an absl::StatusCode, and either matches a grpc::Status, an
// absl::Status or an absl::StatusOr<T> (the two code spaces are the same canonical codes). The details
// of a grpc::Status (error_details) are not compared.
#ifndef MARKETLENS_COMMON_TESTING_GRPC_STATUS_MATCHERS_H_
#define MARKETLENS_COMMON_TESTING_GRPC_STATUS_MATCHERS_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace marketlens::testing {
namespace internal {

inline absl::StatusCode ToAbslCode(grpc::StatusCode code) { return static_cast<absl::StatusCode>(code); }

template <>
struct StatusAdapter<grpc::Status> {
  static absl::Status Get(const grpc::Status& status) {
    return absl::Status(ToAbslCode(status.error_code()), status.error_message());
  }
};

}  // namespace internal

// StatusIs with a gRPC code: StatusIs(grpc::StatusCode::INVALID_ARGUMENT[, message matcher]).
inline ::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(grpc::StatusCode code) {
  return StatusIs(internal::ToAbslCode(code));
}
template <typename MessageMatcher>
::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(grpc::StatusCode code,
                                                                  MessageMatcher&& message) {
  return StatusIs(internal::ToAbslCode(code), std::forward<MessageMatcher>(message));
}

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_GRPC_STATUS_MATCHERS_H_
