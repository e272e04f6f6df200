// IsOk and StatusIs on protobuf's util::Status, as the JSON mapping returns it.
#include "common/testing/protobuf_status_matchers.h"

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ProtobufStatusMatchersTest, JsonMappingResultsMatch) {
  google::protobuf::Struct message;
  EXPECT_THAT(google::protobuf::util::JsonStringToMessage(R"({"a": 1})", &message), IsOk());
  google::protobuf::util::Status bad = google::protobuf::util::JsonStringToMessage("{not json", &message);
  EXPECT_THAT(bad, Not(IsOk()));
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProtobufStatusMatchersTest, CodeAndMessageCarriedOver) {
  google::protobuf::util::Status status(google::protobuf::util::StatusCode::kNotFound, "no such field x");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("field x")));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInternal)));
}

}  // namespace
}  // namespace marketlens::testing
