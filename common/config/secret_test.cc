#include "common/config/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::config {
namespace {

using ::marketlens::testing::IsOk;

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/secret_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::string dir_;
};

TEST_F(SecretTest, ValueWhenNoFile) {
  auto s = ReadSecret("sk-123", "", "openai_api_key");
  ASSERT_THAT(s, IsOk()) << s.status();
  EXPECT_EQ(*s, "sk-123");
  auto empty = ReadSecret("", "", "openai_api_key");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(*empty, "");
}

TEST_F(SecretTest, FileWithTrailingNewlineTrimmed) {
  auto s = ReadSecret("", Write("key", "sk-abc\n"), "openai_api_key");
  ASSERT_THAT(s, IsOk()) << s.status();
  EXPECT_EQ(*s, "sk-abc");
  auto crlf = ReadSecret("", Write("key2", "p@ss word\r\n"), "db_password");
  ASSERT_THAT(crlf, IsOk());
  EXPECT_EQ(*crlf, "p@ss word");  // inner spaces are kept
  auto none = ReadSecret("", Write("key3", "no-newline"), "x");
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(*none, "no-newline");
}

TEST_F(SecretTest, MissingFileNamesTheFileFlag) {
  auto s = ReadSecret("", dir_ + "/nope", "openai_api_key");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("--openai_api_key_file=" + dir_ + "/nope"), std::string::npos)
      << s.status();
}

TEST_F(SecretTest, DirectoryIsAnError) {
  auto s = ReadSecret("", dir_, "openai_api_key");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--openai_api_key_file="), std::string::npos) << s.status();
}

TEST_F(SecretTest, BothSetIsAnErrorWithoutLeakingTheSecret) {
  auto s = ReadSecret("sk-very-secret", Write("key", "other\n"), "openai_api_key");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("--openai_api_key and --openai_api_key_file"), std::string::npos);
  EXPECT_EQ(s.status().message().find("sk-very-secret"), std::string::npos);
}

}  // namespace
}  // namespace marketlens::config
