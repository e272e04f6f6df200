// Start-up validation of configuration values. Each helper returns OK or an INVALID_ARGUMENT whose message
// names the flag, its value and what is wrong, e.g. "--grpc_port=99999: must be 1..65535" (with
// " (from MARKETLENS_GRPC_PORT)" after the value when the environment set it). Collect them all and hand
// them to ExitOnInvalid, so an operator sees every problem at once instead of fixing them one restart at a
// time.
#ifndef MARKETLENS_COMMON_CONFIG_VALIDATE_H_
#define MARKETLENS_COMMON_CONFIG_VALIDATE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace marketlens::config {

// "--<flag>=<value>[ (from VAR)]: <problem>" as INVALID_ARGUMENT. `flag` may be given with or without
// leading dashes.
absl::Status FlagError(absl::string_view flag, absl::string_view value, absl::string_view problem);

namespace internal {
template <typename T>
std::string FormatValue(T value) {
  if constexpr (std::is_same_v<T, absl::Duration>) {
    return absl::FormatDuration(value);
  } else {
    return absl::StrCat(value);
  }
}
}  // namespace internal

// 1..65535 (0..65535 when allow_zero: "pick a free port", for tests).
absl::Status ValidatePort(absl::string_view flag, int64_t port, bool allow_zero = false);

// value > 0. For integers, floating point numbers and absl::Duration.
template <typename T>
absl::Status ValidatePositive(absl::string_view flag, T value) {
  static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, absl::Duration>);
  if (value > T{}) return absl::OkStatus();
  return FlagError(flag, internal::FormatValue(value), "must be positive");
}

// min <= value <= max.
template <typename T>
absl::Status ValidateRange(absl::string_view flag, T value, std::type_identity_t<T> min,
                           std::type_identity_t<T> max) {
  static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, absl::Duration>);
  if (min <= value && value <= max) return absl::OkStatus();
  return FlagError(flag, internal::FormatValue(value),
                   absl::StrCat("must be ", internal::FormatValue(min), "..", internal::FormatValue(max)));
}

// "host:port": host is a DNS name, an IPv4 address or a bracketed IPv6 address ("[::1]:50051"); the port
// is 1..65535 (0 allowed with allow_zero_port).
absl::Status ValidateHostPort(absl::string_view flag, absl::string_view value, bool allow_zero_port = false);

// A gRPC client target: "host:port" as ValidateHostPort, or a resolver URI whose endpoint is host:port
// ("dns:///collector-headless:50052", "dns://8.8.8.8/host:port", "ipv4:127.0.0.1:50051",
// "ipv6:[::1]:50051"), or "unix:/path" / "unix:///path". The Kubernetes manifests use dns:/// for
// client-side round_robin over headless Services.
absl::Status ValidateGrpcTarget(absl::string_view flag, absl::string_view value);

// value is one of `allowed` (case-sensitive).
absl::Status ValidateOneOf(absl::string_view flag, absl::string_view value,
                           const std::vector<std::string>& allowed);

// value is not empty (whitespace only counts as empty).
absl::Status ValidateNonEmpty(absl::string_view flag, absl::string_view value);

// The messages of the non-OK statuses, in order.
std::vector<std::string> ConfigErrors(const std::vector<absl::Status>& checks);

// If any status is not OK: prints "config error: <message>" for each to stderr and exits with code 2
// (the conventional "usage error" code; Kubernetes shows it as the container's exit code). Returns normally
// when all are OK.
void ExitOnInvalid(const std::vector<absl::Status>& checks);

}  // namespace marketlens::config

#endif  // MARKETLENS_COMMON_CONFIG_VALIDATE_H_
