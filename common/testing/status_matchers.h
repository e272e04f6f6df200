// gMock matchers for absl::Status and absl::StatusOr<T> (Debian's Abseil ships none):
//
//   EXPECT_THAT(pool.Ping(), IsOk());
//   ASSERT_THAT(LoadRow(id), IsOkAndHolds(Field(&Row::name, "x")));
//   EXPECT_THAT(Parse("?"), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(Parse("?"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--page_size")));
//
// Each accepts a Status or any StatusOr<T>, and on failure prints the status it saw.
#ifndef MARKETLENS_COMMON_TESTING_STATUS_MATCHERS_H_
#define MARKETLENS_COMMON_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace marketlens::testing {
namespace internal {

// How a status-like type reads as an absl::Status. A class template (not overloads) so that a header
// included later can add types: grpc_status_matchers.h specialises it for grpc::Status.
// Anything else converts to an absl::Status (by value: the conversion may make a temporary).
template <typename T>
struct StatusAdapter {
  static absl::Status Get(const absl::Status& status) { return status; }
};
template <>
struct StatusAdapter<absl::Status> {
  static const absl::Status& Get(const absl::Status& status) { return status; }
};
template <typename T>
struct StatusAdapter<absl::StatusOr<T>> {
  static const absl::Status& Get(const absl::StatusOr<T>& status_or) { return status_or.status(); }
};

// A reference for absl types, a converted value for others (bound to a const reference by callers).
template <typename StatusType>
decltype(auto) GetStatus(const StatusType& actual) {
  return StatusAdapter<StatusType>::Get(actual);
}

class IsOkMatcher {
 public:
  template <typename StatusType>
  bool MatchAndExplain(const StatusType& actual, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(actual);
    if (!status.ok()) *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

template <typename StatusOrType>
class IsOkAndHoldsMatcherImpl : public ::testing::MatcherInterface<StatusOrType> {
 public:
  using ValueType = typename std::remove_cv_t<std::remove_reference_t<StatusOrType>>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsMatcherImpl(InnerMatcher&& inner)
      : inner_(::testing::SafeMatcherCast<const ValueType&>(std::forward<InnerMatcher>(inner))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "is not OK or has a value that ";
    inner_.DescribeNegationTo(os);
  }
  bool MatchAndExplain(StatusOrType actual, ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "whose status is " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner_listener;
    const bool matches = inner_.MatchAndExplain(*actual, &inner_listener);
    const std::string explanation = inner_listener.str();
    *listener << "whose value " << ::testing::PrintToString(*actual)
              << (matches ? " matches" : " doesn't match");
    if (!explanation.empty()) *listener << ", " << explanation;
    return matches;
  }

 private:
  const ::testing::Matcher<const ValueType&> inner_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT: implicit by design, as gMock's own
    return ::testing::Matcher<StatusOrType>(new IsOkAndHoldsMatcherImpl<const StatusOrType&>(inner_));
  }

 private:
  InnerMatcher inner_;
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename StatusType>
  bool MatchAndExplain(const StatusType& actual, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(actual);
    if (status.code() != code_) {
      *listener << "whose status is " << status;
      return false;
    }
    ::testing::StringMatchResultListener inner_listener;
    if (!message_.MatchAndExplain(std::string(status.message()), &inner_listener)) {
      *listener << "whose message \"" << status.message() << "\" doesn't match";
      if (!inner_listener.str().empty()) *listener << ", " << inner_listener.str();
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code other than " << absl::StatusCodeToString(code_) << " or a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace internal

// Matches an OK absl::Status or an absl::StatusOr<T> that holds a value.
inline ::testing::PolymorphicMatcher<internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal::IsOkMatcher());
}

// Matches an OK absl::StatusOr<T> whose value matches `inner` (a matcher or a plain value).
template <typename InnerMatcher>
internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(InnerMatcher&& inner) {
  return internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(std::forward<InnerMatcher>(inner));
}

// Matches a Status / StatusOr<T> with this code (and, optionally, a message matching `message`).
inline ::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(absl::StatusCode code) {
  return ::testing::MakePolymorphicMatcher(internal::StatusIsMatcher(code, ::testing::_));
}
template <typename MessageMatcher>
::testing::PolymorphicMatcher<internal::StatusIsMatcher> StatusIs(absl::StatusCode code,
                                                                  MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(internal::StatusIsMatcher(
      code, ::testing::SafeMatcherCast<const std::string&>(std::forward<MessageMatcher>(message))));
}

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_STATUS_MATCHERS_H_
