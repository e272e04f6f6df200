#include "services/recommender/cli_flags.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace marketlens::recommender {
namespace {

// --help, --helpfull, --version, ...: Abseil prints and exits with its own code, left as it is.
bool IsAbseilUsageFlag(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "-")) return false;
  absl::ConsumePrefix(&arg, "-");
  return absl::StartsWith(arg, "help") || arg == "version" || arg == "only_check_args";
}

// Reads arguments as absl::ParseCommandLine does: `-` or `--` then name[=value]; a non-bool flag without
// `=` takes the next argument; `--noname` sets a bool false; a bare `--` ends the flags. --flagfile,
// --fromenv and --tryfromenv bring more flags (checked the same way), --undefok names unknown flags to
// ignore.
class FlagChecker {
 public:
  void Check(const std::vector<std::string>& args, int depth) {
    for (size_t i = 0; i < args.size(); ++i) {
      absl::string_view arg = args[i];
      if (!absl::ConsumePrefix(&arg, "-") || arg.empty()) continue;  // positional
      absl::ConsumePrefix(&arg, "-");
      if (arg.empty()) break;
      const size_t eq = arg.find('=');
      const absl::string_view name = arg.substr(0, eq);
      const bool has_value = eq != absl::string_view::npos;
      std::string value = has_value ? std::string(arg.substr(eq + 1)) : "";
      absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      bool negative = false;
      if (flag == nullptr && absl::StartsWith(name, "no")) {
        flag = absl::FindCommandLineFlag(name.substr(2));
        negative = flag != nullptr;
      }
      if (flag == nullptr) {
        unknown_.emplace_back(name);
        continue;
      }
      if (flag->IsRetired()) continue;
      const std::string flag_name(flag->Name());
      if (flag->IsOfType<bool>()) {
        if (has_value && value.empty()) {
          Error("Missing the value after assignment for the boolean flag '", flag_name, "'");
          continue;
        }
        if (negative && has_value) {
          Error("Negative form with assignment is not valid for the boolean flag '", flag_name, "'");
          continue;
        }
        if (!has_value) value = negative ? "0" : "1";
      } else if (negative) {
        Error("Negative form is not valid for the flag '", flag_name, "'");
        continue;
      } else if (!has_value) {
        if (i + 1 == args.size()) {
          Error("Missing the value for the flag '", flag_name, "'");
          continue;
        }
        value = args[++i];
      }
      if (flag_name == "flagfile" || flag_name == "fromenv" || flag_name == "tryfromenv") {
        Generate(flag_name, value, depth);
      } else if (flag_name == "undefok") {
        for (absl::string_view u : absl::StrSplit(value, ',', absl::SkipEmpty())) undefok_.emplace(u);
      } else {
        // ParseFrom sets the flag: to the value absl::ParseCommandLine will set it to again.
        std::string error;
        if (!flag->ParseFrom(value, &error)) errors_.push_back(error);
      }
    }
  }

  std::vector<std::string> Errors() && {
    for (const std::string& name : unknown_) {
      if (undefok_.count(name) || (absl::StartsWith(name, "no") && undefok_.count(name.substr(2)))) continue;
      Error("Unknown command line flag '", name, "'");
    }
    return std::move(errors_);
  }

 private:
  template <typename... Parts>
  void Error(const Parts&... parts) {
    errors_.push_back(absl::StrCat(parts...));
  }

  // The flags a --flagfile (one per line, `#` comments) or --[try]fromenv (FLAGS_<name>) brings.
  void Generate(const std::string& kind, absl::string_view value, int depth) {
    if (depth > 10) {
      Error("Infinite recursion on flag ", kind);
      return;
    }
    for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      std::vector<std::string> args;
      if (kind == "flagfile") {
        std::ifstream in{std::string(part)};
        if (!in) {
          Error("Can't open flagfile ", part);
          continue;
        }
        for (std::string line; std::getline(in, line);) {
          absl::string_view l = absl::StripAsciiWhitespace(line);
          if (!l.empty() && l[0] != '#') args.emplace_back(l);
        }
      } else {
        if (part == "fromenv" || part == "tryfromenv") {
          Error("Infinite recursion on flag ", part);
          continue;
        }
        const char* env = std::getenv(absl::StrCat("FLAGS_", part).c_str());
        if (env == nullptr) {
          if (kind == "fromenv") Error("FLAGS_", part, " not found in environment");
          continue;
        }
        args.push_back(absl::StrCat("--", part, "=", env));
      }
      Check(args, depth + 1);
    }
  }

  std::vector<std::string> errors_;
  std::vector<std::string> unknown_;
  std::set<std::string> undefok_;
};

}  // namespace

std::vector<std::string> CommandLineFlagErrors(int argc, char** argv) {
  FlagChecker checker;
  checker.Check(std::vector<std::string>(argv + 1, argv + argc), 0);
  return std::move(checker).Errors();
}

std::vector<std::string> ParseCliCommandLine(int argc, char** argv) {
  // Abseil's parser reports a flag it cannot take and calls exit(1); the CLI's usage-error code is 2, so
  // every flag is checked first, the way Abseil reads it (its usage flags are left to it).
  if (std::none_of(argv + 1, argv + argc, [](const char* a) { return IsAbseilUsageFlag(a); })) {
    const std::vector<std::string> errors = CommandLineFlagErrors(argc, argv);
    if (!errors.empty()) {
      for (const std::string& e : errors) std::cerr << "ERROR: " << e << "\n";
      std::exit(2);
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
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
