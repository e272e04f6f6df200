#include "common/config/validate.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/env.h"

namespace marketlens::config {
namespace {

absl::string_view BareName(absl::string_view flag) {
  while (absl::ConsumePrefix(&flag, "-")) {
  }
  return flag;
}

bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
    }
  }
  return true;
}

bool IsIpv6Literal(absl::string_view host) {
  if (host.size() < 2) return false;
  for (char c : host) {
    if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') return false;
  }
  return host.find(':') != absl::string_view::npos;
}

}  // namespace

absl::Status FlagError(absl::string_view flag, absl::string_view value, absl::string_view problem) {
  const absl::string_view name = BareName(flag);
  std::string source;
  if (std::optional<std::string> var = EnvSourceOf(name)) source = absl::StrCat(" (from ", *var, ")");
  return absl::InvalidArgumentError(
      absl::StrCat("--", name, "=", value.empty() ? "\"\"" : value, source, ": ", problem));
}

absl::Status ValidatePort(absl::string_view flag, int64_t port, bool allow_zero) {
  const int64_t min = allow_zero ? 0 : 1;
  if (port >= min && port <= 65535) return absl::OkStatus();
  return FlagError(flag, absl::StrCat(port), absl::StrCat("must be ", min, "..65535"));
}

absl::Status ValidateHostPort(absl::string_view flag, absl::string_view value, bool allow_zero_port) {
  const size_t colon = value.rfind(':');
  if (colon == absl::string_view::npos) {
    return FlagError(flag, value, "must be host:port");
  }
  absl::string_view host = value.substr(0, colon);
  const absl::string_view port_text = value.substr(colon + 1);
  if (host.empty()) return FlagError(flag, value, "host is empty (must be host:port)");
  if (host.front() == '[') {
    if (host.back() != ']' || !IsIpv6Literal(host.substr(1, host.size() - 2))) {
      return FlagError(flag, value, "host is not a valid bracketed IPv6 address");
    }
  } else if (!IsDnsName(host)) {
    return FlagError(flag, value,
                     host.find(':') != absl::string_view::npos
                         ? "IPv6 hosts must be bracketed, e.g. [::1]:50051"
                         : "host is not a valid host name or address");
  }
  int64_t port = 0;
  const int64_t min = allow_zero_port ? 0 : 1;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port < min || port > 65535) {
    return FlagError(flag, value, absl::StrCat("port must be ", min, "..65535"));
  }
  return absl::OkStatus();
}

absl::Status ValidateGrpcTarget(absl::string_view flag, absl::string_view value) {
  absl::string_view rest = value;
  if (absl::ConsumePrefix(&rest, "unix:")) {
    absl::ConsumePrefix(&rest, "//");
    if (rest.empty() || rest.front() != '/') return FlagError(flag, value, "unix: needs an absolute path");
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&rest, "dns:")) {
    if (absl::ConsumePrefix(&rest, "//")) {  // dns://[authority]/host:port
      const size_t slash = rest.find('/');
      if (slash == absl::string_view::npos) return FlagError(flag, value, "must be dns:///host:port");
      rest.remove_prefix(slash + 1);
    }
  } else if (!absl::ConsumePrefix(&rest, "ipv4:") && !absl::ConsumePrefix(&rest, "ipv6:")) {
    return ValidateHostPort(flag, value);
  }
  // The endpoint's own problem, reported against the whole value.
  absl::Status endpoint = ValidateHostPort(flag, rest);
  if (endpoint.ok()) return endpoint;
  const absl::string_view message = endpoint.message();
  const size_t problem = message.find(": ");
  return FlagError(flag, value, problem == absl::string_view::npos ? message : message.substr(problem + 2));
}

absl::Status ValidateOneOf(absl::string_view flag, absl::string_view value,
                           const std::vector<std::string>& allowed) {
  for (const std::string& a : allowed) {
    if (a == value) return absl::OkStatus();
  }
  return FlagError(flag, value, absl::StrCat("must be one of ", absl::StrJoin(allowed, ", ")));
}

absl::Status ValidateNonEmpty(absl::string_view flag, absl::string_view value) {
  if (!absl::StripAsciiWhitespace(value).empty()) return absl::OkStatus();
  const absl::string_view name = BareName(flag);
  return FlagError(flag, value,
                   absl::StrCat("must be set (--", name, " or ", EnvVarName(kDefaultEnvPrefix, name), ")"));
}

std::vector<std::string> ConfigErrors(const std::vector<absl::Status>& checks) {
  std::vector<std::string> errors;
  for (const absl::Status& s : checks) {
    if (!s.ok()) errors.emplace_back(s.message());
  }
  return errors;
}

void ExitOnInvalid(const std::vector<absl::Status>& checks) {
  const std::vector<std::string> errors = ConfigErrors(checks);
  if (errors.empty()) return;
  for (const std::string& e : errors) std::fprintf(stderr, "config error: %s\n", e.c_str());
  std::fprintf(stderr, "config error: %zu problem(s); see --help\n", errors.size());
  std::fflush(stderr);
  std::exit(2);
}

}  // namespace marketlens::config
