#include "services/recommender/cli_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace marketlens::recommender {
namespace {

bool parsing_command_line = false;

// --help, --helpfull, --version, ...: Abseil prints and exits with its own code, left as it is.
bool IsAbseilUsageFlag(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "-")) return false;
  absl::ConsumePrefix(&arg, "-");
  return absl::StartsWith(arg, "help") || arg == "version" || arg == "only_check_args";
}

}  // namespace

std::vector<std::string> ParseCliCommandLine(int argc, char** argv) {
  // Abseil's parser reports a flag it cannot take on stderr and calls exit(1): exit handlers still run, so
  // one turns that exit into 2 while the parse is under way.
  if (std::none_of(argv + 1, argv + argc, [](const char* a) { return IsAbseilUsageFlag(a); })) {
    std::atexit([] {
      if (!parsing_command_line) return;
      std::fflush(nullptr);
      std::_Exit(2);
    });
  }
  parsing_command_line = true;
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  parsing_command_line = false;
  return std::vector<std::string>(positional.begin() + 1, positional.end());
}

bool RejectOtherCommandsFlags(absl::string_view command, const std::set<std::string>& taken,
                              std::ostream& err) {
  std::vector<std::string> given;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), "services/recommender/cli_")) continue;
    if (taken.count(std::string(name)) || flag->CurrentValue() == flag->DefaultValue()) continue;
    given.push_back(std::string(name));
  }
  if (given.empty()) return false;
  std::sort(given.begin(), given.end());
  err << command << ": unknown flag --" << given[0] << "\n";
  return true;
}

std::set<std::string> Union(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

}  // namespace marketlens::recommender
