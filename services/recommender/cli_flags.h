// The recommender CLI's command line: Abseil flags (defined beside the commands that read them, in
// cli_commands.cc and cli_registry.cc) parsed by absl::ParseCommandLine, the command and its arguments
// positional (`cli models promote v3 --pg_dsn DSN`).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_FLAGS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_FLAGS_H_

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketlens::recommender {

// absl::ParseCommandLine, except that a flag Abseil cannot take (unknown, a value of the wrong type or a
// missing value) exits 2, the CLI's usage-error code, instead of Abseil's 1, after "ERROR: <what>" lines on
// stderr naming each such flag (CommandLineFlagErrors). Returns the positional arguments without the
// program name: the command first.
std::vector<std::string> ParseCliCommandLine(int argc, char** argv);

// What absl::ParseCommandLine would refuse in argv, in its words ("Unknown command line flag 'colour'",
// "Illegal value 'ten' specified for flag 'k'; ..."): each --flag[=value] (and those a --flagfile or
// --[try]fromenv brings) looked up with absl::FindCommandLineFlag and its value parsed with ParseFrom,
// which sets it, as the parse will.
std::vector<std::string> CommandLineFlagErrors(int argc, char** argv);

// Whether a flag of this CLI that `command` does not take (not in `taken`) was given a value other than its
// default: a typo or another command's flag, refused with "<command>: unknown flag --<name>" on `err`.
bool RejectOtherCommandsFlags(absl::string_view command, const std::set<std::string>& taken,
                              std::ostream& err);

std::set<std::string> Union(std::set<std::string> a, const std::set<std::string>& b);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_FLAGS_H_
