// The recommender CLI (`bazel run //services/recommender:cli -- <command> ...`):
//   evaluate  offline comparison of every algorithm against the popularity baseline, on one interactions
//             file with a split (--input F --split random|temporal) or on explicit files (--train F --test
//             F), as a table or --json; --tune picks each algorithm's hyper-parameters on a validation split
//             carved from the training side.
//   train     fits a model bundle (the blend the service serves) from a file or from Postgres, writes the
//             artifact and optionally registers / promotes it in the model registry.
//   models    the registry: list, promote VERSION, rollback, prune --keep N.
//   generate  writes a synthetic interactions file with planted taste clusters (u.data format) and its
//             items file, for trying things out without MovieLens.
// Files are MovieLens u.data style (`user item rating timestamp`, tab-separated; see data/interactions.h).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_COMMANDS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

namespace marketlens::recommender {

// Runs one invocation on the parsed flags (cli_flags.h); args are the positional arguments, the command
// first. Exit code: 0 success, 1 failure, 2 usage error.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

std::string CliUsage();

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_COMMANDS_H_
