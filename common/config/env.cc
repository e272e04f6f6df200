#include "common/config/env.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace marketlens::config {
namespace {

// Flags that belong to Abseil itself; never taken from the environment.
bool IsAbseilFlag(absl::string_view name) {
  static const auto* names = new absl::flat_hash_set<absl::string_view>{
      "flagfile",  "fromenv",     "tryfromenv", "undefok",   "help",    "helpfull",
      "helpshort", "helppackage", "helpon",     "helpmatch", "version", "only_check_args"};
  return names->contains(name);
}

struct EnvSource {
  std::string variable;
  std::string value;  // the flag's CurrentValue() right after the variable was applied
};

absl::Mutex& SourcesMu() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}
std::map<std::string, EnvSource>& Sources() {
  static auto* sources = new std::map<std::string, EnvSource>();
  return *sources;
}

}  // namespace

std::string EnvVarName(absl::string_view prefix, absl::string_view flag_name) {
  std::string name = absl::StrCat(prefix, flag_name);
  absl::AsciiStrToUpper(&name);
  for (char& c : name) {
    if (c == '-' || c == '.') c = '_';
  }
  return name;
}

namespace {

// Applies the environment; returns one message per bad variable.
std::vector<std::string> ApplyEnvironmentErrors(absl::string_view prefix) {
  // Sorted, so that error messages come in a stable order.
  std::map<std::string, absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsAbseilFlag(name)) flags.emplace(std::string(name), flag);
  }
  std::vector<std::string> errors;
  for (const auto& [name, flag] : flags) {
    const std::string variable = EnvVarName(prefix, name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0') continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      errors.push_back(
          absl::StrCat(variable, "=", value, ": not a valid value for --", name, " (", error, ")"));
      continue;
    }
    absl::MutexLock lock(&SourcesMu());
    Sources()[name] = EnvSource{variable, flag->CurrentValue()};
  }
  return errors;
}

}  // namespace

absl::Status ApplyEnvironment(absl::string_view prefix) {
  const std::vector<std::string> errors = ApplyEnvironmentErrors(prefix);
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return absl::OkStatus();
}

bool IsProjectFlagFile(absl::string_view file) {
  return absl::StartsWith(file, "services/") || absl::StartsWith(file, "common/") ||
         absl::StartsWith(file, "bench/");
}

void ShowProjectFlagsInHelp(absl::string_view program) {
  // Abseil's --help lists only flags declared in a file named like the program, which for a service
  // binary (flags in main.cc and common/) is none: "No flags matched". Ours are what an operator needs;
  // Abseil's own stay behind --helpfull.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsProjectFlagFile;
  usage.contains_helpshort_flags = IsProjectFlagFile;
  absl::SetFlagsUsageConfig(usage);
  if (absl::StartsWith(absl::ProgramUsageMessage(), "Warning: SetProgramUsageMessage() never called")) {
    // Abseil prints it after "<program>: ".
    absl::SetProgramUsageMessage(absl::StrCat(
        "a marketlens service (", program,
        "). Every flag can also be set as MARKETLENS_<FLAG> in the environment (the command line wins); "
        "--helpfull lists Abseil's own flags too."));
  }
}

std::vector<char*> ParseFlagsAndEnv(int argc, char** argv, absl::string_view env_prefix) {
  absl::string_view program = argc > 0 ? absl::string_view(argv[0]) : "service";
  if (size_t slash = program.rfind('/'); slash != absl::string_view::npos) program.remove_prefix(slash + 1);
  ShowProjectFlagsInHelp(program);
  const std::vector<std::string> errors = ApplyEnvironmentErrors(env_prefix);
  if (!errors.empty()) {
    for (const std::string& error : errors) std::fprintf(stderr, "config error: %s\n", error.c_str());
    std::fflush(stderr);
    std::exit(2);
  }
  return absl::ParseCommandLine(argc, argv);
}

std::optional<std::string> EnvSourceOf(absl::string_view flag_name) {
  absl::MutexLock lock(&SourcesMu());
  auto it = Sources().find(std::string(flag_name));
  if (it == Sources().end()) return std::nullopt;
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(flag_name);
  if (flag == nullptr || flag->CurrentValue() != it->second.value) return std::nullopt;
  return it->second.variable;
}

}  // namespace marketlens::config
