// SHA-256 of a byte string, as 64 lowercase hex characters (OpenSSL's libcrypto). Migrations use it to
// notice a file that changed after it was applied.
#ifndef MARKETLENS_COMMON_MIGRATE_SHA256_H_
#define MARKETLENS_COMMON_MIGRATE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace marketlens::migrate {

std::string Sha256Hex(absl::string_view data);

}  // namespace marketlens::migrate

#endif  // MARKETLENS_COMMON_MIGRATE_SHA256_H_
