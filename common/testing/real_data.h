// Real public datasets for tests (see ../shared/data/SOURCES.md beside the checkout). They are never
// committed (publishers' terms), so a test finds them at run time:
//   1. $MARKETLENS_DATA_DIR, when set;
//   2. else `../shared/data` next to the workspace (found through the WORKSPACE file in the runfiles, so
//      plain `bazel test` works without any flag).
// Where the data is absent (a user's fresh clone) a test skips with a visible notice; under CI=true it fails,
// because CI always has the data.
//
//   TEST(Sentiment, RealBlitzer) {
//     MARKETLENS_REQUIRE_REAL_DATA(path, "blitzer/books_positive.review");
//     ... read `path` ...
//   }
#ifndef MARKETLENS_COMMON_TESTING_REAL_DATA_H_
#define MARKETLENS_COMMON_TESTING_REAL_DATA_H_

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace marketlens::testing {

// The data directory, if it exists.
std::optional<std::string> RealDataDir();

// The absolute path of `relative` inside the data directory, if that file or directory exists.
std::optional<std::string> RealDataPath(const std::string& relative);

// True when the CI environment variable says "true" (or "1").
bool RunningInCi();

}  // namespace marketlens::testing

// Declares `std::string var` holding the absolute path of `relative`; skips the test (with a notice on
// stderr) when the file is absent, or fails it under CI=true.
#define MARKETLENS_REQUIRE_REAL_DATA(var, relative)                                   \
  std::string var;                                                                    \
  if (auto marketlens_real_data_path = ::marketlens::testing::RealDataPath(relative); \
      marketlens_real_data_path.has_value()) {                                        \
    var = *marketlens_real_data_path;                                                 \
  } else if (::marketlens::testing::RunningInCi()) {                                  \
    FAIL() << "real data " << (relative)                                              \
           << " is missing, and CI always has it (set MARKETLENS_DATA_DIR or place "  \
              "../shared/data beside the checkout)";                                  \
  } else {                                                                            \
    std::fprintf(stderr,                                                              \
                 "NOTICE: skipping %s: real data %s not found (see "                  \
                 "common/testing/real_data.h)\n",                                     \
                 ::testing::UnitTest::GetInstance()->current_test_info()->name(),     \
                 std::string(relative).c_str());                                      \
    GTEST_SKIP() << "real data " << (relative) << " not found";                       \
  }

#endif  // MARKETLENS_COMMON_TESTING_REAL_DATA_H_
