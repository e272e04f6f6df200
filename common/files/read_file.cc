#include "common/files/read_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace marketlens::files {

absl::StatusOr<std::string> ReadFileToString(const std::string& path, const ReadFileOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", options.what, options.what.empty() ? "" : " ", path));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::Status(options.read_error, absl::StrCat("cannot read ", path));
  return buffer.str();
}

}  // namespace marketlens::files
