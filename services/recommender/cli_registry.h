// The CLI's Postgres side: training input from the collected data, registering / promoting / pruning
// models. Kept apart from cli_commands.cc so the file-only commands read without database code.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_

#include <ostream>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/recommender/bundle/bundle.h"
#include "services/recommender/cli_args.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct RegistryCliOptions {
  std::string pg_dsn;        // --pg_dsn, else $MARKETLENS_PG_DSN
  std::string artifact_dir;  // --artifact_dir, else $MARKETLENS_ARTIFACT_DIR, else /var/lib/marketlens/models
  int keep = 0;              // --keep: prune to this many models after registering (0: no pruning)
};

absl::Status ParseRegistryCliOptions(const CliArgs& args, RegistryCliOptions& options);

absl::Status LoadTrainingInputFromPostgres(const RegistryCliOptions& options, InteractionLog& log,
                                           ItemCatalog& catalog,
                                           absl::flat_hash_map<std::string, std::string>& regions,
                                           std::ostream& err);

// Writes the artifact into artifact_dir (unless `written_path` already holds it), registers the model,
// promotes it when asked, prunes when keep > 0. Returns the artifact uri.
absl::StatusOr<std::string> RegisterTrainedModel(const RegistryCliOptions& options, const ModelBundle& bundle,
                                                 const std::string& written_path, bool promote,
                                                 std::ostream& err);

// `models list|promote VERSION|rollback|prune --keep N`.
int RunModelsCommand(const CliArgs& args, std::ostream& out, std::ostream& err);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_
