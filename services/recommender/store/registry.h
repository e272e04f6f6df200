// The model registry in Postgres (recsys.models, recsys.model_promotions): every trained model gets a
// row with its version, algorithm, data window, parameters, offline metrics and artifact location.
//   Promote(v):  v becomes the one promoted model and is pushed on the promotion stack (idempotent when v
//                is already promoted).
//   Rollback():  pops the stack: the current promotion is marked rolled back and the one below it is
//                promoted again (FAILED_PRECONDITION when there is none).
//   Prune(keep): deletes all but the `keep` newest models, never the promoted one nor one a running
//                experiment uses, with their artifacts stored in Postgres (same transaction); returns the
//                deleted rows so the caller can delete file:// artifacts.
// Promotions are serialised with a transaction-scoped advisory lock, so concurrent promote/rollback calls
// (two operators, two replicas) never leave two promoted rows or a torn stack. Serving replicas notice a
// new promotion by polling Promoted() (hot reload).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_STORE_REGISTRY_H_
#define MARKETLENS_SERVICES_RECOMMENDER_STORE_REGISTRY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "nlohmann/json.hpp"
#include "services/recommender/bundle/bundle.h"

namespace marketlens::recommender {

struct ModelRecord {
  std::string version;
  std::string algorithm;
  absl::Time trained_at = absl::UnixEpoch();
  std::optional<absl::Time> data_from;
  std::optional<absl::Time> data_to;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;
  std::string artifact_uri;
  bool promoted = false;
};

// The registry row of a trained bundle stored at artifact_uri.
ModelRecord RecordFromBundle(const ModelBundle& bundle, const std::string& artifact_uri);

inline constexpr int64_t kPromotionLockKey = 0x6d6c5f70726f6d6f;  // "ml_promo"

class ModelRegistry {
 public:
  explicit ModelRegistry(postgres::PgPool* pool) : pool_(pool) {}

  // ALREADY_EXISTS when the version is taken.
  absl::Status Register(const ModelRecord& record);
  // Registers a trained bundle with its artifact stored in Postgres (artifact_store.h), row and bytes in
  // one transaction: every replica and process can then load it. Returns the registered record
  // (artifact_uri "pg://recsys.model_artifacts/<version>").
  absl::StatusOr<ModelRecord> RegisterWithArtifact(const ModelBundle& bundle);
  // Newest first (trained_at, then version).
  absl::StatusOr<std::vector<ModelRecord>> List();
  absl::StatusOr<ModelRecord> Get(const std::string& version);  // NOT_FOUND
  absl::StatusOr<std::optional<ModelRecord>> Promoted();
  absl::StatusOr<ModelRecord> Promote(const std::string& version);
  absl::StatusOr<ModelRecord> Rollback();
  absl::StatusOr<std::vector<ModelRecord>> Prune(int keep);

 private:
  postgres::PgPool* pool_;
};

// JSON object text for a string map / number map (for the jsonb columns).
std::string ParamsToJson(const std::map<std::string, std::string>& params);
std::string MetricsToJson(const std::map<std::string, double>& metrics);
// The metrics as a JSON object value (keys in the map's order, non-finite values left out: JSON has no NaN
// or infinity), for documents that embed them; MetricsToJson is its text.
nlohmann::ordered_json MetricsJson(const std::map<std::string, double>& metrics);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_STORE_REGISTRY_H_
