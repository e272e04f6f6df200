#include "services/recommender/cli_flags.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int64_t, test_count, 3, "a number");
ABSL_FLAG(bool, test_verbose, false, "a switch");
ABSL_FLAG(std::string, test_name, "", "a string");

namespace marketlens::recommender {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Errors(std::vector<std::string> args) {
  args.insert(args.begin(), "cli");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return CommandLineFlagErrors(static_cast<int>(argv.size()), argv.data());
}

class CommandLineFlagErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_test_count, 3);
    absl::SetFlag(&FLAGS_test_verbose, false);
    absl::SetFlag(&FLAGS_test_name, "");
  }
};

TEST_F(CommandLineFlagErrorsTest, AcceptsEveryFormAbseilAccepts) {
  EXPECT_THAT(Errors({"evaluate", "--test_count=5", "-test_name", "x", "--test_verbose", "pos"}), IsEmpty());
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 5);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "x");
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_verbose));
  EXPECT_THAT(Errors({"--notest_verbose", "--test_count", "7"}), IsEmpty());
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_verbose));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 7);
  EXPECT_THAT(Errors({"--test_verbose=false", "--test_name="}), IsEmpty());
}

TEST_F(CommandLineFlagErrorsTest, NamesAnUnknownFlag) {
  EXPECT_THAT(Errors({"evaluate", "--colour", "red"}), ElementsAre("Unknown command line flag 'colour'"));
  EXPECT_THAT(Errors({"--undefok=colour", "--colour=red"}), IsEmpty());
}

TEST_F(CommandLineFlagErrorsTest, NamesAFlagWithABadOrMissingValue) {
  EXPECT_THAT(Errors({"--test_count", "ten"}),
              ElementsAre(HasSubstr("Illegal value 'ten' specified for flag 'test_count'")));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 3);  // left as it was
  EXPECT_THAT(Errors({"evaluate", "--test_count"}),
              ElementsAre("Missing the value for the flag 'test_count'"));
  EXPECT_THAT(Errors({"--notest_count"}),
              ElementsAre("Negative form is not valid for the flag 'test_count'"));
  EXPECT_THAT(Errors({"--test_verbose="}),
              ElementsAre("Missing the value after assignment for the boolean flag 'test_verbose'"));
  EXPECT_THAT(Errors({"--notest_verbose=true"}),
              ElementsAre("Negative form with assignment is not valid for the boolean flag 'test_verbose'"));
}

TEST_F(CommandLineFlagErrorsTest, ReportsEveryBadFlag) {
  EXPECT_THAT(Errors({"--test_count=x", "--colour", "--test_verbose=maybe"}),
              ElementsAre(HasSubstr("flag 'test_count'"), HasSubstr("flag 'test_verbose'"),
                          "Unknown command line flag 'colour'"));
}

// Flags brought by --flagfile and --fromenv are checked too: Abseil would refuse them with exit 1.
TEST_F(CommandLineFlagErrorsTest, ChecksFlagsFromAFlagfileAndTheEnvironment) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/cli.flags");
  std::ofstream(path) << "# comment\n  --test_verbose\n--test_count=x\n--colour\n";
  EXPECT_THAT(Errors({"--flagfile=" + path}),
              ElementsAre(HasSubstr("Illegal value 'x' specified for flag 'test_count'"),
                          "Unknown command line flag 'colour'"));
  EXPECT_THAT(Errors({"--flagfile", "/nonexistent/cli.flags"}),
              ElementsAre("Can't open flagfile /nonexistent/cli.flags"));
  ::setenv("FLAGS_test_count", "many", 1);
  EXPECT_THAT(Errors({"--fromenv=test_count"}),
              ElementsAre(HasSubstr("Illegal value 'many' specified for flag 'test_count'")));
  ::unsetenv("FLAGS_test_count");
  ::unsetenv("FLAGS_test_name");
  EXPECT_THAT(Errors({"--fromenv=test_name"}), ElementsAre("FLAGS_test_name not found in environment"));
  EXPECT_THAT(Errors({"--tryfromenv=test_name"}), IsEmpty());
}

TEST_F(CommandLineFlagErrorsTest, StopsAtTheEndOfTheFlags) {
  EXPECT_THAT(Errors({"evaluate", "--", "--colour", "--test_count=x"}), IsEmpty());
  EXPECT_THAT(Errors({"-", "file"}), IsEmpty());
}

}  // namespace
}  // namespace marketlens::recommender
