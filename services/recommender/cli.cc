// `bazel run //services/recommender:cli -- <command> [flags]`: see cli_commands.h (or run with no arguments;
// --help lists the flags).
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "services/recommender/cli_commands.h"
#include "services/recommender/cli_flags.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(marketlens::recommender::CliUsage());
  // --help lists this CLI's flags (Abseil's default is the flags of a file named like the program).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "services/recommender/cli_");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  const std::vector<std::string> args = marketlens::recommender::ParseCliCommandLine(argc, argv);
  return marketlens::recommender::RunCli(args, std::cout, std::cerr);
}
