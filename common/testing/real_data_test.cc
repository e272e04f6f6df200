#include "common/testing/real_data.h"

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace marketlens::testing {
namespace {

TEST(RealData, FindsTheSharedDataOrSkipsVisibly) {
  MARKETLENS_REQUIRE_REAL_DATA(path, "SOURCES.md");
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_FALSE(first_line.empty()) << path;
}

TEST(RealData, MissingFileIsAbsent) {
  EXPECT_FALSE(RealDataPath("no/such/file.json").has_value());
}

}  // namespace
}  // namespace marketlens::testing
