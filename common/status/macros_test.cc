#include "common/status/macros.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens {
namespace {

using ::marketlens::testing::IsOk;

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError(absl::StrCat("odd: ", n));
  return n / 2;
}

absl::Status CheckEven(int n) { return Half(n).status(); }

absl::Status ReturnIfErrorOnStatus(int n, int* calls) {
  ++*calls;
  RETURN_IF_ERROR(CheckEven(n));
  return absl::OkStatus();
}

absl::StatusOr<int> QuarterViaDeclaration(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status QuarterIntoExisting(int n, int* out) {
  ASSIGN_OR_RETURN(*out, Half(n));
  ASSIGN_OR_RETURN(*out, Half(*out));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReturnIfErrorOnStatusOr(int n) {
  RETURN_IF_ERROR(Half(n));
  return std::string("even");
}

absl::StatusOr<std::unique_ptr<int>> Boxed(int n) {
  if (n < 0) return absl::OutOfRangeError("negative");
  return std::make_unique<int>(n);
}

absl::StatusOr<int> UnboxMoveOnly(int n) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> box, Boxed(n));
  return *box;
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkThrough) {
  int calls = 0;
  EXPECT_THAT(ReturnIfErrorOnStatus(4, &calls), IsOk());
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheError) {
  int calls = 0;
  absl::Status s = ReturnIfErrorOnStatus(3, &calls);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 3");
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsStatusOrInStatusOrFunction) {
  ASSERT_THAT(ReturnIfErrorOnStatusOr(2), IsOk());
  EXPECT_EQ(*ReturnIfErrorOnStatusOr(2), "even");
  EXPECT_EQ(ReturnIfErrorOnStatusOr(1).status().message(), "odd: 1");
}

TEST(StatusMacrosTest, AssignOrReturnDeclares) {
  absl::StatusOr<int> q = QuarterViaDeclaration(12);
  ASSERT_THAT(q, IsOk()) << q.status();
  EXPECT_EQ(*q, 3);
  // Fails at the second step: 6 / 2 = 3 is odd.
  EXPECT_EQ(QuarterViaDeclaration(6).status().message(), "odd: 3");
  EXPECT_EQ(QuarterViaDeclaration(5).status().message(), "odd: 5");
}

TEST(StatusMacrosTest, AssignOrReturnAssignsExisting) {
  int out = -1;
  EXPECT_THAT(QuarterIntoExisting(20, &out), IsOk());
  EXPECT_EQ(out, 5);
  out = -1;
  EXPECT_EQ(QuarterIntoExisting(10, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, 5);  // assigned by the first step, the second failed
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  ASSERT_THAT(UnboxMoveOnly(7), IsOk());
  EXPECT_EQ(*UnboxMoveOnly(7), 7);
  EXPECT_EQ(UnboxMoveOnly(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(StatusMacrosTest, EvaluatesExpressionOnce) {
  int evaluations = 0;
  auto counted = [&]() -> absl::StatusOr<int> {
    ++evaluations;
    return 2;
  };
  auto run = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int v, counted());
    RETURN_IF_ERROR(Half(v));
    return absl::OkStatus();
  };
  EXPECT_THAT(run(), IsOk());
  EXPECT_EQ(evaluations, 1);
}

}  // namespace
}  // namespace marketlens
