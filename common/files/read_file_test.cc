#include "common/files/read_file.h"

#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketlens::files {
namespace {

using ::marketlens::testing::IsOkAndHolds;
using ::marketlens::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string Write(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

TEST(ReadFileToStringTest, ReturnsTheBytesUnchanged) {
  const std::string bytes = std::string("a\tb\r\n\0\xff", 7) + std::string(100000, 'x');
  EXPECT_THAT(ReadFileToString(Write("bytes.bin", bytes)), IsOkAndHolds(bytes));
}

TEST(ReadFileToStringTest, AnEmptyFileIsEmpty) {
  EXPECT_THAT(ReadFileToString(Write("empty.txt", "")), IsOkAndHolds(""));
}

TEST(ReadFileToStringTest, AFileWhoseSizeSaysZeroIsReadToItsEnd) {
  // /proc files report st_size 0; the bytes come from read(), not from the size.
  EXPECT_THAT(ReadFileToString("/proc/self/status"), IsOkAndHolds(HasSubstr("Pid:")));
}

TEST(ReadFileToStringTest, ADirectoryIsAReadErrorNotEmptyContent) {
  const std::string dir = TempPath("");
  EXPECT_THAT(ReadFileToString(dir),
              StatusIs(absl::StatusCode::kDataLoss, absl::StrCat("cannot read ", dir, ": Is a directory")));
  EXPECT_THAT(ReadFileToString(dir, {.read_error = absl::StatusCode::kUnavailable}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("Is a directory")));
}

TEST(ReadFileToStringTest, AMissingFileIsNotFoundNamingThePath) {
  EXPECT_THAT(ReadFileToString("/nonexistent/u.data"),
              StatusIs(absl::StatusCode::kNotFound, "cannot open /nonexistent/u.data"));
}

TEST(ReadFileToStringTest, TheMessageNamesWhatWasOpened) {
  EXPECT_THAT(ReadFileToString("/nonexistent/m.mlrec",
                               {.what = "model artifact", .read_error = absl::StatusCode::kUnavailable}),
              StatusIs(absl::StatusCode::kNotFound, "cannot open model artifact /nonexistent/m.mlrec"));
}

}  // namespace
}  // namespace marketlens::files
