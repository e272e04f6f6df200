// The SQLSTATE -> status code table, and the exception mapping for exceptions libpqxx throws.
#include "common/postgres/errors.h"

#include "gtest/gtest.h"
#include "pqxx/except"

namespace marketlens::postgres {
namespace {

TEST(CodeForSqlStateTest, Table) {
  EXPECT_EQ(CodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("55P03"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeForSqlState("23502"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("23514"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("22P02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("22003"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("23503"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeForSqlState("25006"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeForSqlState("57014"), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("53300"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeForSqlState("42501"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeForSqlState("28P01"), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeForSqlState("42601"), absl::StatusCode::kInternal);
  EXPECT_EQ(CodeForSqlState("42P01"), absl::StatusCode::kInternal);
  EXPECT_EQ(CodeForSqlState("XX000"), absl::StatusCode::kInternal);
}

TEST(StatusFromExceptionTest, KeepsSqlStateAndText) {
  absl::Status s = StatusFromException(
      std::make_exception_ptr(pqxx::unique_violation("ERROR:  duplicate key value\n", "INSERT ...", "23505")),
      "exec");
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(SqlStateOf(s), "23505");
  EXPECT_NE(s.message().find("[SQLSTATE 23505]"), std::string::npos) << s;
  EXPECT_NE(s.message().find("duplicate key value"), std::string::npos) << s;
  EXPECT_NE(s.message().find("INSERT ..."), std::string::npos) << s;
}

TEST(StatusFromExceptionTest, ExceptionTypes) {
  EXPECT_EQ(StatusFromException(std::make_exception_ptr(pqxx::broken_connection("gone")), "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromException(std::make_exception_ptr(pqxx::in_doubt_error("?")), "commit").code(),
            absl::StatusCode::kUnknown);
  absl::Status ser = StatusFromException(std::make_exception_ptr(pqxx::serialization_failure("s")), "x");
  EXPECT_EQ(ser.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlStateOf(ser), "40001");
  absl::Status dl = StatusFromException(std::make_exception_ptr(pqxx::deadlock_detected("d")), "x");
  EXPECT_EQ(dl.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(SqlStateOf(dl), "40P01");
  EXPECT_EQ(StatusFromException(std::make_exception_ptr(std::runtime_error("boom")), "x").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(StatusFromException(std::make_exception_ptr(42), "x").code(), absl::StatusCode::kUnknown);
}

TEST(IsRetryableTxErrorTest, OnlyAbortedAndUnavailable) {
  EXPECT_TRUE(IsRetryableTxError(absl::AbortedError("")));
  EXPECT_TRUE(IsRetryableTxError(absl::UnavailableError("")));
  EXPECT_FALSE(IsRetryableTxError(absl::UnknownError("")));
  EXPECT_FALSE(IsRetryableTxError(absl::DeadlineExceededError("")));
  EXPECT_FALSE(IsRetryableTxError(absl::AlreadyExistsError("")));
}

}  // namespace
}  // namespace marketlens::postgres
