#include "common/testing/status_matchers.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

using ::testing::DescribeMatcher;
using ::testing::ElementsAre;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Matcher;
using ::testing::Not;
using ::testing::StringMatchResultListener;

// What a matcher says about `value` when it does not match (the text a failing EXPECT_THAT prints).
template <typename T, typename M>
std::string Explain(const M& matcher, const T& value) {
  StringMatchResultListener listener;
  Matcher<const T&>(matcher).MatchAndExplain(value, &listener);
  return listener.str();
}

TEST(IsOkTest, MatchesOkStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
  EXPECT_THAT(absl::NotFoundError("x"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::InternalError("boom")), Not(IsOk()));
}

TEST(IsOkTest, ExplainsTheStatusItSaw) {
  EXPECT_THAT(Explain(IsOk(), absl::NotFoundError("no such product")), HasSubstr("no such product"));
  EXPECT_THAT(Explain(IsOk(), absl::StatusOr<int>(absl::UnavailableError("down"))), HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(DescribeMatcher<absl::Status>(IsOk()), "is OK");
}

// A type that converts to absl::Status is read through the conversion.
struct ConvertsToStatus {
  absl::StatusCode code;
  operator absl::Status() const { return absl::Status(code, "converted"); }  // NOLINT: the point
};

TEST(IsOkTest, TakesATypeThatConvertsToStatus) {
  EXPECT_THAT(ConvertsToStatus{absl::StatusCode::kOk}, IsOk());
  EXPECT_THAT(ConvertsToStatus{absl::StatusCode::kNotFound},
              StatusIs(absl::StatusCode::kNotFound, "converted"));
  EXPECT_THAT(Explain(IsOk(), ConvertsToStatus{absl::StatusCode::kAborted}), HasSubstr("ABORTED: converted"));
}

TEST(IsOkAndHoldsTest, MatchesTheValue) {
  EXPECT_THAT(absl::StatusOr<int>(3), IsOkAndHolds(3));
  EXPECT_THAT(absl::StatusOr<int>(3), IsOkAndHolds(Gt(2)));
  EXPECT_THAT(absl::StatusOr<int>(3), Not(IsOkAndHolds(4)));
  EXPECT_THAT(absl::StatusOr<std::string>("hello"), IsOkAndHolds(HasSubstr("ell")));
  EXPECT_THAT(absl::StatusOr<std::vector<int>>(std::vector<int>{1, 2}), IsOkAndHolds(ElementsAre(1, 2)));
}

TEST(IsOkAndHoldsTest, WorksOnMoveOnlyValues) {
  absl::StatusOr<std::unique_ptr<int>> box = std::make_unique<int>(5);
  EXPECT_THAT(box, IsOkAndHolds(::testing::Pointee(5)));
}

TEST(IsOkAndHoldsTest, DoesNotMatchAnErrorAndSaysWhy) {
  absl::StatusOr<int> error = absl::InvalidArgumentError("--page_size=0");
  EXPECT_THAT(error, Not(IsOkAndHolds(0)));
  EXPECT_THAT(Explain(IsOkAndHolds(0), error), HasSubstr("--page_size=0"));
  EXPECT_THAT(Explain(IsOkAndHolds(4), absl::StatusOr<int>(3)), HasSubstr("whose value 3 doesn't match"));
  EXPECT_EQ(DescribeMatcher<absl::StatusOr<int>>(IsOkAndHolds(4)),
            "is OK and has a value that is equal to 4");
}

TEST(StatusIsTest, MatchesTheCode) {
  EXPECT_THAT(absl::NotFoundError("x"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(absl::StatusOr<int>(absl::InvalidArgumentError("bad")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(absl::StatusOr<int>(1), Not(StatusIs(absl::StatusCode::kInvalidArgument)));
  EXPECT_THAT(absl::NotFoundError("x"), Not(StatusIs(absl::StatusCode::kInternal)));
}

TEST(StatusIsTest, MatchesTheMessage) {
  const absl::Status s = absl::InvalidArgumentError("--page_size=0: must be 1..100");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "--page_size=0: must be 1..100"));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed"))));
  EXPECT_THAT(s, Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("page_size"))));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kNotFound), s), HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seed")), s),
              HasSubstr("whose message \"--page_size=0: must be 1..100\" doesn't match"));
}

}  // namespace
}  // namespace marketlens::testing
