// Model artifacts in Postgres (recsys.model_artifacts + recsys.model_artifact_chunks, migration 0021):
// the durable copy every serving replica loads, whichever process trained the model (the training
// CronJob, the CLI, a replica's bootstrap). Pods' local artifact directories are only caches.
//
// An artifact is addressed as "pg://recsys.model_artifacts/<version>" in the registry's artifact_uri. It
// is stored in the same transaction as its registry row (ModelRegistry::RegisterWithArtifact), so a
// registered pg:// model always has its bytes; pruning the row deletes them (ON DELETE CASCADE).
// Every Get verifies the size and SHA-256 recorded at Put: a damaged artifact is DATA_LOSS, never a model.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_STORE_ARTIFACT_STORE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_STORE_ARTIFACT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/postgres/tx.h"

namespace marketlens::recommender {

inline constexpr char kPgArtifactPrefix[] = "pg://recsys.model_artifacts/";

// "pg://recsys.model_artifacts/<version>".
std::string PgArtifactUri(absl::string_view version);
// The version of a pg:// uri; nullopt for any other uri.
std::optional<std::string> PgArtifactVersion(absl::string_view uri);

struct ArtifactInfo {
  std::string version;
  int64_t size_bytes = 0;
  std::string sha256;  // lowercase hex of the whole artifact
  int32_t chunks = 0;
  absl::Time created_at = absl::UnixEpoch();
};

// Lowercase hex SHA-256 (what ArtifactInfo::sha256 holds).
std::string ArtifactChecksum(absl::string_view bytes);

struct ArtifactStoreOptions {
  int64_t chunk_bytes = 4 << 20;
  absl::Duration timeout = absl::Seconds(60);  // per Get/Stat/Delete transaction
};

class ArtifactStore {
 public:
  explicit ArtifactStore(postgres::PgPool* pool, ArtifactStoreOptions options = {})
      : pool_(pool), options_(options) {}

  // Inside the caller's transaction (the registry row of `version` must exist in it or already).
  // ALREADY_EXISTS when the version has an artifact with other bytes; the same bytes again are a no-op.
  static absl::Status PutIn(postgres::Tx& tx, const std::string& version, const std::string& bytes,
                            int64_t chunk_bytes = 4 << 20);

  absl::StatusOr<ArtifactInfo> Stat(const std::string& version);  // NOT_FOUND
  // The bytes, verified against the recorded size and checksum (DATA_LOSS otherwise).
  absl::StatusOr<std::string> Get(const std::string& version);
  // true when something was deleted.
  absl::StatusOr<bool> Delete(const std::string& version);

 private:
  postgres::PgPool* pool_;
  ArtifactStoreOptions options_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_STORE_ARTIFACT_STORE_H_
