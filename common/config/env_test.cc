// Environment variables and the command line both set Abseil flags; the command line wins.
#include "common/config/env.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"
#include "common/config/validate.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, envtest_grpc_port, 50051, "test flag");
ABSL_FLAG(std::string, envtest_host, "localhost", "test flag");
ABSL_FLAG(absl::Duration, envtest_timeout, absl::Seconds(5), "test flag");
ABSL_FLAG(bool, envtest_verbose, false, "test flag");
ABSL_FLAG(double, envtest_ratio, 0.5, "test flag");

namespace marketlens::config {
namespace {

using ::marketlens::testing::IsOk;

// Sets an environment variable for one test and removes it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

// argv for ParseFlagsAndEnv (absl keeps pointers into it).
struct Argv {
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& a : storage) pointers.push_back(a.data());
    pointers.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

TEST(EnvTest, EnvVarNameUppercasesAndPrefixes) {
  EXPECT_EQ(EnvVarName("MARKETLENS_", "grpc_port"), "MARKETLENS_GRPC_PORT");
  EXPECT_EQ(EnvVarName("X_", "a-b"), "X_A_B");
}

TEST(EnvTest, EnvironmentSetsEveryTypeOfFlag) {
  absl::FlagSaver saver;
  ScopedEnv port("MARKETLENS_ENVTEST_GRPC_PORT", "6000");
  ScopedEnv host("MARKETLENS_ENVTEST_HOST", "db.internal");
  ScopedEnv timeout("MARKETLENS_ENVTEST_TIMEOUT", "250ms");
  ScopedEnv verbose("MARKETLENS_ENVTEST_VERBOSE", "true");
  ScopedEnv ratio("MARKETLENS_ENVTEST_RATIO", "0.25");
  ASSERT_THAT(ApplyEnvironment("MARKETLENS_"), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 6000);
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_host), "db.internal");
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_timeout), absl::Milliseconds(250));
  EXPECT_TRUE(absl::GetFlag(FLAGS_envtest_verbose));
  EXPECT_DOUBLE_EQ(absl::GetFlag(FLAGS_envtest_ratio), 0.25);
}

TEST(EnvTest, EmptyOrMissingVariablesLeaveDefaults) {
  absl::FlagSaver saver;
  ScopedEnv host("MARKETLENS_ENVTEST_HOST", "");
  ASSERT_THAT(ApplyEnvironment("MARKETLENS_"), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_host), "localhost");
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 50051);
}

TEST(EnvTest, OtherPrefixesAreIgnored) {
  absl::FlagSaver saver;
  ScopedEnv port("OTHER_ENVTEST_GRPC_PORT", "7000");
  ASSERT_THAT(ApplyEnvironment("MARKETLENS_"), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 50051);
  ASSERT_THAT(ApplyEnvironment("OTHER_"), IsOk());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 7000);
}

TEST(EnvTest, BadValueNamesTheVariableAndTheFlag) {
  absl::FlagSaver saver;
  ScopedEnv port("MARKETLENS_ENVTEST_GRPC_PORT", "fifty");
  ScopedEnv timeout("MARKETLENS_ENVTEST_TIMEOUT", "soon");
  ScopedEnv host("MARKETLENS_ENVTEST_HOST", "ok.example");
  absl::Status st = ApplyEnvironment("MARKETLENS_");
  ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("MARKETLENS_ENVTEST_GRPC_PORT=fifty"), std::string::npos) << st;
  EXPECT_NE(st.message().find("--envtest_grpc_port"), std::string::npos) << st;
  EXPECT_NE(st.message().find("MARKETLENS_ENVTEST_TIMEOUT=soon"), std::string::npos) << st;
  // The good variables are still applied; the bad ones leave the defaults.
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_host), "ok.example");
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 50051);
}

TEST(EnvTest, CommandLineWinsOverEnvironment) {
  absl::FlagSaver saver;
  ScopedEnv port("MARKETLENS_ENVTEST_GRPC_PORT", "6000");
  ScopedEnv host("MARKETLENS_ENVTEST_HOST", "from-env");
  Argv args({"prog", "--envtest_grpc_port=7000", "positional"});
  std::vector<char*> rest = ParseFlagsAndEnv(args.argc(), args.argv(), "MARKETLENS_");
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_grpc_port), 7000);            // command line
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_host), "from-env");           // environment
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_timeout), absl::Seconds(5));  // default
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_STREQ(rest[1], "positional");
  // The env source is reported only for flags the command line did not override.
  EXPECT_EQ(EnvSourceOf("envtest_host"), "MARKETLENS_ENVTEST_HOST");
  EXPECT_EQ(EnvSourceOf("envtest_grpc_port"), std::nullopt);
}

TEST(EnvTest, ValidationMessageSaysTheValueCameFromTheEnvironment) {
  absl::FlagSaver saver;
  ScopedEnv port("MARKETLENS_ENVTEST_GRPC_PORT", "99999");
  ASSERT_THAT(ApplyEnvironment("MARKETLENS_"), IsOk());
  absl::Status st = ValidatePort("envtest_grpc_port", absl::GetFlag(FLAGS_envtest_grpc_port));
  EXPECT_EQ(st.message(), "--envtest_grpc_port=99999 (from MARKETLENS_ENVTEST_GRPC_PORT): must be 1..65535");
}

TEST(EnvDeathTest, BadEnvironmentExitsWithCode2NamingTheVariable) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        setenv("MARKETLENS_ENVTEST_VERBOSE", "maybe", 1);
        Argv args({"prog"});
        ParseFlagsAndEnv(args.argc(), args.argv(), "MARKETLENS_");
      },
      ::testing::ExitedWithCode(2), "config error: MARKETLENS_ENVTEST_VERBOSE=maybe");
}

}  // namespace
}  // namespace marketlens::config
