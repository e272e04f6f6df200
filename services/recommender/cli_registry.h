// The CLI's Postgres side: training input from the collected data, registering / promoting / pruning
// models. Kept apart from cli_commands.cc so the file-only commands read without database code.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_

#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/recommender/bundle/bundle.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct RegistryCliOptions {
  // --pg_dsn, else $MARKETLENS_PG_DSN. The password: --pg_password_file, else
  // $MARKETLENS_PG_PASSWORD_FILE (a mounted Secret, as the services take it), else PGPASSWORD.
  std::string pg_dsn;
  int keep = 0;  // --keep: prune to this many models after registering (0: no pruning)
  // --artifact_dir: optionally also keep a local copy, <dir>/<version>.mlrec (the registry points at the
  // copy in Postgres either way).
  std::string artifact_dir;
};

// From the flags --pg_dsn, --pg_password_file, --keep and --artifact_dir (their names: RegistryCliFlags).
absl::Status RegistryCliOptionsFromFlags(RegistryCliOptions& options);
const std::set<std::string>& RegistryCliFlags();

absl::Status LoadTrainingInputFromPostgres(const RegistryCliOptions& options, InteractionLog& log,
                                           ItemCatalog& catalog,
                                           absl::flat_hash_map<std::string, std::string>& regions,
                                           std::ostream& err);

// Registers the model with its artifact stored in Postgres (one transaction; every serving replica can
// load it), promotes it when asked, prunes when keep > 0 (pruned models' stored artifacts go with their
// rows; older file:// artifacts are deleted from disk). Returns the artifact uri (pg://...).
absl::StatusOr<std::string> RegisterTrainedModel(const RegistryCliOptions& options, const ModelBundle& bundle,
                                                 bool promote, std::ostream& err);

// `models list|promote VERSION|rollback|prune --keep N`; `args` follow the command word.
int RunModelsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `retention --retention_days N`: deletes feedback events and exposures older than N days (docs/privacy.md;
// run daily by the retention CronJob). Prints "events=E exposures=X" (rows deleted).
int RunRetentionCommand(std::ostream& out, std::ostream& err);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_REGISTRY_H_
