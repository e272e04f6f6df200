// Secrets (API keys, database passwords) come either as a value — a flag or, more usually, its environment
// variable, e.g. MARKETLENS_OPENAI_API_KEY — or as a file named by a companion flag (--openai_api_key_file),
// which is how Kubernetes mounts Secrets. Files usually end with a newline that is not part of the secret.
#ifndef MARKETLENS_COMMON_CONFIG_SECRET_H_
#define MARKETLENS_COMMON_CONFIG_SECRET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::config {

// If `file_flag_value` is set: the file's content with trailing "\n"/"\r\n" removed (NOT_FOUND /
// PERMISSION_DENIED / INVALID_ARGUMENT naming the file flag when it cannot be read). Otherwise
// `flag_value` as is (possibly empty: callers that require the secret check with ValidateNonEmpty).
// Setting both is INVALID_ARGUMENT (which one was meant is unclear). `flag_name` ("openai_api_key") is used
// in messages; the file flag is assumed to be "<flag_name>_file". Messages never contain the secret.
absl::StatusOr<std::string> ReadSecret(absl::string_view flag_value, absl::string_view file_flag_value,
                                       absl::string_view flag_name = "secret");

}  // namespace marketlens::config

#endif  // MARKETLENS_COMMON_CONFIG_SECRET_H_
