#include "services/recommender/cli_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/config/secret.h"
#include "common/postgres/pool.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/recommender/cli_flags.h"
#include "services/recommender/eval/report.h"
#include "services/recommender/store/artifact_store.h"
#include "services/recommender/store/pg_source.h"
#include "services/recommender/store/registry.h"

ABSL_FLAG(std::string, pg_dsn, "",
          "train, models, retention: libpq connection string (default $MARKETLENS_PG_DSN)");
ABSL_FLAG(
    std::string, pg_password_file, "",
    "train, models, retention: file holding the Postgres password (default $MARKETLENS_PG_PASSWORD_FILE, "
    "else PGPASSWORD)");
ABSL_FLAG(int64_t, keep, 0, "train --register, models prune: keep this many models (0: no pruning)");
ABSL_FLAG(std::string, artifact_dir, "",
          "train --register: also keep a local copy of the artifact, <dir>/<version>.mlrec");
ABSL_FLAG(int64_t, retention_days, 0,
          "retention: events and exposures older than this many days go (1..36500)");

ABSL_DECLARE_FLAG(bool, json);

namespace marketlens::recommender {
namespace {

absl::StatusOr<std::unique_ptr<postgres::PgPool>> Connect(const RegistryCliOptions& o) {
  if (o.pg_dsn.empty()) return absl::InvalidArgumentError("--pg_dsn (or MARKETLENS_PG_DSN) is required");
  return postgres::PgPool::Create({.dsn = o.pg_dsn,
                                   .max_size = 2,
                                   .statement_timeout = absl::Seconds(30),
                                   .application_name = "recommender-cli"});
}

std::string Time(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

absl::Status MakeDirs(const std::string& dir) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

// Deletes what is left of a pruned model outside Postgres: an older file:// artifact.
void DeleteFileArtifact(const ModelRecord& m) {
  if (PgArtifactVersion(m.artifact_uri)) return;  // went with its registry row
  if (auto p = ArtifactPath(m.artifact_uri); p.ok()) ::unlink(p->c_str());
}

void PrintModels(const std::vector<ModelRecord>& models, std::ostream& out) {
  out << absl::StrFormat("%-32s %-10s %-20s %-8s %8s %s\n", "version", "algorithm", "trained_at", "promoted",
                         "ndcg@10", "artifact");
  for (const ModelRecord& m : models) {
    auto it = m.metrics.find("ndcg@10");
    out << absl::StrFormat("%-32s %-10s %-20s %-8s %8s %s\n", m.version, m.algorithm, Time(m.trained_at),
                           m.promoted ? "yes" : "",
                           it == m.metrics.end() ? "-" : absl::StrFormat("%.4f", it->second), m.artifact_uri);
  }
}

}  // namespace

const std::set<std::string>& RegistryCliFlags() {
  static const auto* names = new std::set<std::string>{"pg_dsn", "pg_password_file", "keep", "artifact_dir"};
  return *names;
}

absl::Status RegistryCliOptionsFromFlags(RegistryCliOptions& o) {
  const char* env_dsn = std::getenv("MARKETLENS_PG_DSN");
  const char* env_password_file = std::getenv("MARKETLENS_PG_PASSWORD_FILE");
  o.pg_dsn = absl::GetFlag(FLAGS_pg_dsn);
  if (o.pg_dsn.empty() && env_dsn != nullptr) o.pg_dsn = env_dsn;
  o.artifact_dir = absl::GetFlag(FLAGS_artifact_dir);
  // libpq reads the password from PGPASSWORD, so it never appears in a connection string or a log line.
  std::string password_file = absl::GetFlag(FLAGS_pg_password_file);
  if (password_file.empty() && env_password_file != nullptr) password_file = env_password_file;
  if (!password_file.empty()) {
    ASSIGN_OR_RETURN(auto password, config::ReadSecret("", password_file, "pg_password"));
    if (!password.empty()) ::setenv("PGPASSWORD", password.c_str(), 1);
  }
  const int64_t keep = absl::GetFlag(FLAGS_keep);
  if (keep < 0) return absl::InvalidArgumentError("--keep must be >= 0");
  o.keep = static_cast<int>(keep);
  return absl::OkStatus();
}

absl::Status LoadTrainingInputFromPostgres(const RegistryCliOptions& options, InteractionLog& log,
                                           ItemCatalog& catalog,
                                           absl::flat_hash_map<std::string, std::string>& regions,
                                           std::ostream& err) {
  ASSIGN_OR_RETURN(auto pool, Connect(options));
  ASSIGN_OR_RETURN(auto data, LoadTrainingData(*pool));
  err << "loaded " << data.raw_interactions << " interactions and " << data.feedback_events
      << " feedback events from Postgres (" << data.forgotten.size() << " forgotten users excluded)\n";
  log = std::move(data.log);
  catalog = std::move(data.catalog);
  regions = std::move(data.user_region);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegisterTrainedModel(const RegistryCliOptions& options, const ModelBundle& bundle,
                                                 bool promote, std::ostream& err) {
  ASSIGN_OR_RETURN(auto pool, Connect(options));
  ModelRegistry registry(pool.get());
  ASSIGN_OR_RETURN(auto record, registry.RegisterWithArtifact(bundle));
  err << "registered " << bundle.version << " at " << record.artifact_uri << "\n";
  if (!options.artifact_dir.empty()) {
    const std::string path = absl::StrCat(options.artifact_dir, "/", bundle.version, ".mlrec");
    RETURN_IF_ERROR(MakeDirs(options.artifact_dir));
    RETURN_IF_ERROR(WriteBundleFile(bundle, path));
    err << "local copy at " << path << "\n";
  }
  if (promote) {
    RETURN_IF_ERROR(registry.Promote(bundle.version));
    err << "promoted " << bundle.version << "\n";
  }
  if (options.keep > 0) {
    ASSIGN_OR_RETURN(auto pruned, registry.Prune(options.keep));
    for (const ModelRecord& m : pruned) {
      err << "pruned " << m.version << "\n";
      DeleteFileArtifact(m);
    }
  }
  return record.artifact_uri;
}

int RunModelsCommand(const std::vector<std::string>& pos, std::ostream& out, std::ostream& err) {
  if (RejectOtherCommandsFlags("models", Union(RegistryCliFlags(), {"json"}), err)) return 2;
  RegistryCliOptions options;
  if (absl::Status s = RegistryCliOptionsFromFlags(options); !s.ok()) return err << s.message() << "\n", 2;
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string action = pos.empty() ? "list" : pos[0];
  auto pool = Connect(options);
  if (!pool.ok()) return err << "models: " << pool.status().message() << "\n", 2;
  ModelRegistry registry(pool->get());
  if (action == "list") {
    auto models = registry.List();
    if (!models.ok()) return err << "models: " << models.status().message() << "\n", 1;
    if (json) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const ModelRecord& m : *models) {
        rows.push_back({{"version", m.version},
                        {"algorithm", m.algorithm},
                        {"trained_at", Time(m.trained_at)},
                        {"promoted", m.promoted},
                        {"artifact_uri", m.artifact_uri},
                        {"metrics", MetricsJson(m.metrics)}});
      }
      out << rows.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
      PrintModels(*models, out);
    }
    return 0;
  }
  if (action == "promote" || action == "rollback") {
    if (action == "promote" && pos.size() != 2) return err << "models promote VERSION\n", 2;
    auto m = action == "promote" ? registry.Promote(pos[1]) : registry.Rollback();
    if (!m.ok()) return err << "models " << action << ": " << m.status().message() << "\n", 1;
    out << "promoted " << m->version << "\n";
    return 0;
  }
  if (action == "prune") {
    if (options.keep < 1) return err << "models prune --keep N (N >= 1)\n", 2;
    auto pruned = registry.Prune(options.keep);
    if (!pruned.ok()) return err << "models prune: " << pruned.status().message() << "\n", 1;
    for (const ModelRecord& m : *pruned) {
      DeleteFileArtifact(m);
      out << "pruned " << m.version << "\n";
    }
    return 0;
  }
  err << "models: unknown action `" << action << "` (list, promote VERSION, rollback, prune --keep N)\n";
  return 2;
}

int RunRetentionCommand(std::ostream& out, std::ostream& err) {
  if (RejectOtherCommandsFlags("retention", Union(RegistryCliFlags(), {"retention_days"}), err)) return 2;
  RegistryCliOptions options;
  if (absl::Status s = RegistryCliOptionsFromFlags(options); !s.ok()) return err << s.message() << "\n", 2;
  const int64_t days = absl::GetFlag(FLAGS_retention_days);
  if (days < 1 || days > 36500) return err << "retention: --retention_days must be 1..36500\n", 2;
  auto pool = Connect(options);
  if (!pool.ok()) return err << "retention: " << pool.status().message() << "\n", 2;
  int64_t events = 0, exposures = 0;
  absl::Status s = (*pool)->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(
            auto e,
            tx.Exec("DELETE FROM recsys.events WHERE occurred_at < now() - make_interval(days => $1::int)",
                    days));
        events = e.affected_rows();
        ASSIGN_OR_RETURN(
            auto x,
            tx.Exec("DELETE FROM recsys.exposures WHERE occurred_at < now() - make_interval(days => $1::int)",
                    days));
        exposures = x.affected_rows();
        return absl::OkStatus();
      },
      {.timeout = absl::Minutes(10)});
  if (!s.ok()) return err << "retention: " << s.message() << "\n", 1;
  out << "events=" << events << " exposures=" << exposures << "\n";
  return 0;
}

}  // namespace marketlens::recommender
