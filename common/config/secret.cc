#include "common/config/secret.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/config/validate.h"

namespace marketlens::config {

absl::StatusOr<std::string> ReadSecret(absl::string_view flag_value, absl::string_view file_flag_value,
                                       absl::string_view flag_name) {
  const std::string file_flag = absl::StrCat(flag_name, "_file");
  if (file_flag_value.empty()) return std::string(flag_value);
  if (!flag_value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag_name, " and --", file_flag, " are both set: use one of them"));
  }
  const std::string path(file_flag_value);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto failure = [&](int err) -> absl::Status {
    absl::Status error =
        FlagError(file_flag, path, absl::StrCat("cannot read the secret file: ", std::strerror(err)));
    if (err == ENOENT) return absl::NotFoundError(error.message());
    if (err == EACCES) return absl::PermissionDeniedError(error.message());
    return error;
  };
  if (fd < 0) return failure(errno);
  std::string secret;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;  // e.g. EISDIR
      close(fd);
      return failure(err);
    }
    secret.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace marketlens::config
