// Service configuration comes from Abseil flags (each service declares its own with ABSL_FLAG) and from
// environment variables, so that the same binary runs from a shell (flags) and in Kubernetes (env from
// ConfigMaps/Secrets). Every registered flag `grpc_port` can be set by `MARKETLENS_GRPC_PORT`; the command
// line wins over the environment, which wins over the flag's default.
//
//   int main(int argc, char** argv) {
//     marketlens::config::ParseFlagsAndEnv(argc, argv, "MARKETLENS_");
//     marketlens::config::ExitOnInvalid({
//         marketlens::config::ValidatePort("grpc_port", absl::GetFlag(FLAGS_grpc_port)), ...});
//   }
#ifndef MARKETLENS_COMMON_CONFIG_ENV_H_
#define MARKETLENS_COMMON_CONFIG_ENV_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketlens::config {

inline constexpr char kDefaultEnvPrefix[] = "MARKETLENS_";

// "MARKETLENS_" + "grpc_port" -> "MARKETLENS_GRPC_PORT".
std::string EnvVarName(absl::string_view prefix, absl::string_view flag_name);

// Sets every registered flag whose variable `<prefix><FLAG_NAME>` is present and non-empty (an empty
// variable counts as unset, as Kubernetes renders optional ConfigMap keys that way). Abseil's own flags
// (flagfile, help, ...) are skipped. Returns INVALID_ARGUMENT naming every variable whose value does not
// parse, e.g. "MARKETLENS_GRPC_PORT=abc: not a valid value for --grpc_port (...)"; the good ones are applied.
absl::Status ApplyEnvironment(absl::string_view prefix = kDefaultEnvPrefix);

// True for a flag declared in this repository's sources (services/, common/, bench/).
bool IsProjectFlagFile(absl::string_view file);

// Makes --help / --helpshort list every flag declared in this repository (Abseil's default shows only
// flags of files named like the program) and sets a usage message if the program set none.
void ShowProjectFlagsInHelp(absl::string_view program);

// ShowProjectFlagsInHelp(basename of argv[0]), ApplyEnvironment(prefix), then absl::ParseCommandLine(argc,
// argv) (so the command line wins). A bad environment value prints "config error: ..." lines to stderr and
// exits with code 2; a bad command line is reported by Abseil (exit 1). Returns the positional arguments,
// argv[0] first.
std::vector<char*> ParseFlagsAndEnv(int argc, char** argv, absl::string_view env_prefix = kDefaultEnvPrefix);

// The variable that set `flag_name` in ApplyEnvironment, if the flag still holds that value (that is,
// the command line did not override it). Validation messages use it to say where a bad value came from.
std::optional<std::string> EnvSourceOf(absl::string_view flag_name);

}  // namespace marketlens::config

#endif  // MARKETLENS_COMMON_CONFIG_ENV_H_
