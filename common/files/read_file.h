// A whole file read into memory, with the errors its callers report as they are.
#ifndef MARKETLENS_COMMON_FILES_READ_FILE_H_
#define MARKETLENS_COMMON_FILES_READ_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace marketlens::files {

struct ReadFileOptions {
  // Named in the NOT_FOUND message: "cannot open <what> <path>" ("cannot open <path>" when empty).
  std::string what;
  // The code of a failure while reading a file that opened: lost data for a data file, UNAVAILABLE for
  // a store the caller may retry.
  absl::StatusCode read_error = absl::StatusCode::kDataLoss;
};

// The bytes of `path` (binary, unchanged). NOT_FOUND when the file cannot be opened (absent or not
// readable: "cannot open [<what> ]<path>"); `options.read_error` ("cannot read <path>: <reason>")
// when a read fails after the open: a directory (EISDIR), an I/O error (EIO).
absl::StatusOr<std::string> ReadFileToString(const std::string& path, const ReadFileOptions& options = {});

}  // namespace marketlens::files

#endif  // MARKETLENS_COMMON_FILES_READ_FILE_H_
