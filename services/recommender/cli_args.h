// A tiny argument parser for the recommender CLI: `command --flag=value --flag value --switch`. The CLI's
// logic is a function of its arguments (no global flag registry), so tests can run every command in-process.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_ARGS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace marketlens::recommender {

class CliArgs {
 public:
  // args excludes the program name; the first non-flag is the command, later non-flags are positional.
  // Boolean switches (listed in `switches`) take no value: --json, --no-json is not supported.
  static absl::StatusOr<CliArgs> Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& switches);

  const std::string& command() const { return command_; }
  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  bool GetBool(const std::string& name) const { return Has(name) && Get(name) != "false"; }
  // Flags given but never read by Get*/Has: typos, reported as errors.
  std::vector<std::string> Unused() const;

 private:
  std::string command_;
  std::vector<std::string> positional_;
  std::map<std::string, std::string> flags_;
  mutable std::set<std::string> used_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_ARGS_H_
