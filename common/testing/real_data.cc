#include "common/testing/real_data.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace marketlens::testing {
namespace {

namespace fs = std::filesystem;

// The checkout's root, found by resolving the WORKSPACE symlink in this test's runfiles.
std::optional<fs::path> WorkspaceRoot() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return std::nullopt;
  fs::path link = fs::path(srcdir) / (workspace != nullptr ? workspace : "marketlens") / "WORKSPACE";
  std::error_code ec;
  fs::path real = fs::canonical(link, ec);
  if (ec) return std::nullopt;
  return real.parent_path();
}

}  // namespace

bool RunningInCi() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  std::string value(ci);
  return value == "true" || value == "1" || value == "TRUE" || value == "True";
}

std::optional<std::string> RealDataDir() {
  std::error_code ec;
  if (const char* env = std::getenv("MARKETLENS_DATA_DIR"); env != nullptr && *env != '\0') {
    if (fs::is_directory(env, ec)) return fs::canonical(env, ec).string();
    return std::nullopt;
  }
  std::optional<fs::path> root = WorkspaceRoot();
  if (!root.has_value()) return std::nullopt;
  fs::path dir = *root / ".." / "shared" / "data";
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  return fs::canonical(dir, ec).string();
}

std::optional<std::string> RealDataPath(const std::string& relative) {
  std::optional<std::string> dir = RealDataDir();
  if (!dir.has_value()) return std::nullopt;
  fs::path path = fs::path(*dir) / relative;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  return path.string();
}

}  // namespace marketlens::testing
