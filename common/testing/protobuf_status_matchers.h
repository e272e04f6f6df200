// The gMock matchers of status_matchers.h, also on protobuf's own util::Status (what
// google::protobuf::util::JsonStringToMessage / MessageToJsonString return in Debian's protobuf 3.21,
// where it is not yet absl::Status):
//
//   EXPECT_THAT(google::protobuf::util::JsonStringToMessage(json, &message), IsOk());
//
// Its codes are the same canonical codes as absl's, so StatusIs(absl::StatusCode::...) matches it too.
#ifndef MARKETLENS_COMMON_TESTING_PROTOBUF_STATUS_MATCHERS_H_
#define MARKETLENS_COMMON_TESTING_PROTOBUF_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "common/testing/status_matchers.h"
#include "google/protobuf/stubs/status.h"

namespace marketlens::testing::internal {

template <>
struct StatusAdapter<google::protobuf::util::Status> {
  static absl::Status Get(const google::protobuf::util::Status& status) {
    return absl::Status(static_cast<absl::StatusCode>(status.code()), std::string(status.message()));
  }
};

}  // namespace marketlens::testing::internal

#endif  // MARKETLENS_COMMON_TESTING_PROTOBUF_STATUS_MATCHERS_H_
