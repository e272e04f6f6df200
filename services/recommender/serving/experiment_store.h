// Experiments in Postgres (recsys.experiments, .assignments, .exposures, .events): create, list, start
// and stop them, and compute their results (counts per variant; statistics in experiments.h).
// State machine: draft -> running -> stopped (a stopped experiment is never restarted: its users' data
// would mix two periods; create a new one).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENT_STORE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENT_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/recommender/serving/experiments.h"

namespace marketlens::recommender {

struct ExperimentRow {
  ExperimentSpec spec;
  std::string name;
  std::string description;
  std::string state = "draft";
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> stopped_at;
};

struct VariantCounts {
  std::string name;
  std::string model_version;
  int64_t users = 0;        // assigned (saw at least one list)
  int64_t impressions = 0;  // lists shown
  int64_t clicks = 0;
  int64_t purchases = 0;
  int64_t converted_users = 0;  // users with a purchase
};

class ExperimentStore {
 public:
  explicit ExperimentStore(postgres::PgPool* pool) : pool_(pool) {}

  // Validates (experiments.h); fills salt (= id) and traffic (= 1) defaults; state "draft" or "running".
  // ALREADY_EXISTS for a taken id.
  absl::StatusOr<ExperimentRow> Create(ExperimentRow row);
  absl::StatusOr<std::vector<ExperimentRow>> List();
  absl::StatusOr<ExperimentRow> Get(const std::string& id);
  // "running" (from draft) or "stopped" (from draft or running); the current state again is a no-op
  // (retries are safe); FAILED_PRECONDITION otherwise.
  absl::StatusOr<ExperimentRow> SetState(const std::string& id, const std::string& state);
  // Running experiments in id order (what Recommend assigns from).
  absl::StatusOr<std::vector<ExperimentSpec>> Running();
  // Per-variant counts, in the experiment's variant order (the first is the control).
  absl::StatusOr<std::vector<VariantCounts>> Counts(const std::string& id);

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENT_STORE_H_
