#include "common/files/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace marketlens::files {

// POSIX open/read rather than a stream: a stream opens a directory and then reads nothing without an
// error, and hides the errno of a failing read (EIO); here every failure is a Status naming its cause.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, const ReadFileOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", options.what, options.what.empty() ? "" : " ", path));
  }
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reserve(static_cast<size_t>(st.st_size));  // a hint only: /proc files say 0 and still have bytes
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return absl::Status(options.read_error, absl::StrCat("cannot read ", path, ": ", std::strerror(err)));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace marketlens::files
