// A TCP port on 127.0.0.1 that was free a moment ago, for test servers that must be told their port
// before they start (PostgreSQL, Redis). Servers we build ourselves should bind port 0 instead.
#ifndef MARKETLENS_COMMON_TESTING_FREE_PORT_H_
#define MARKETLENS_COMMON_TESTING_FREE_PORT_H_

#include "absl/status/statusor.h"

namespace marketlens::testing {

absl::StatusOr<int> PickFreePort();

}  // namespace marketlens::testing

#endif  // MARKETLENS_COMMON_TESTING_FREE_PORT_H_
