// ModelManager: keeps the serving snapshots current without dropping a request.
//   - the promoted model: polls the registry every poll_interval (and at once after Promote/Rollback on
//     this replica), loads the new artifact in the background and swaps the shared_ptr; requests in flight
//     finish on the model they started with. An artifact that fails to load is logged and retried later;
//     the old model keeps serving;
//   - the models of running experiments' variants (loaded the same way, dropped when unused);
//   - the catalogue (stock, margins, restrictions, promotions) every catalog_interval;
//   - the running experiments every experiments_interval.
// Bootstrap: with no promoted model and bootstrap_train on, one training run from Postgres is attempted
// (retried every bootstrap_retry until data exists), registered and promoted, so a fresh stack serves
// personal recommendations without a manual step.
// Artifacts: models registered with a pg:// uri are read from Postgres (store/artifact_store.h, checksum
// verified) through a local cache, <artifact_dir>/cache/<version>.mlrec, used only when its SHA-256
// matches the stored one and pruned to the loaded versions; file:// artifacts (older registrations) are
// read from their path. Bootstrap stores its artifact in Postgres, so every replica can load it.
// Metrics (when options.metrics is set): recommender_model_age_seconds (now - the serving model's
// trained_at, refreshed at every poll), recommender_model_trained_timestamp_seconds and
// recommender_model_loads_total{result}.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_MODEL_MANAGER_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_MODEL_MANAGER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/serving/catalog.h"
#include "services/recommender/serving/experiment_store.h"
#include "services/recommender/serving/serving_model.h"
#include "services/recommender/store/artifact_store.h"
#include "services/recommender/store/registry.h"

namespace marketlens::recommender {

struct ModelManagerOptions {
  absl::Duration poll_interval = absl::Seconds(5);
  absl::Duration catalog_interval = absl::Seconds(30);
  absl::Duration experiments_interval = absl::Seconds(5);
  absl::Duration retry_failed_after = absl::Minutes(1);
  ServingModelOptions serving;
  bool bootstrap_train = true;
  absl::Duration bootstrap_retry = absl::Minutes(2);
  // Local cache of artifacts stored in Postgres (<artifact_dir>/cache); "" disables the cache. A cache
  // that cannot be written (read-only, full) is logged once and skipped: loads then read Postgres.
  std::string artifact_dir = "/var/lib/marketlens/models";
  TrainConfig bootstrap_config;
  std::shared_ptr<prometheus::Registry> metrics;  // null: no metrics
};

class ModelManager {
 public:
  ModelManager(postgres::PgPool* pool, ModelManagerOptions options);
  ~ModelManager();
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // One synchronous refresh of everything (errors are logged, not fatal: the service starts without a
  // model or catalogue and keeps trying), then the background thread.
  void Start();
  void Stop();

  std::shared_ptr<const ServingModel> Current() const;
  // A loaded model by version (the current one or an experiment variant's); null when not loaded.
  std::shared_ptr<const ServingModel> ForVersion(const std::string& version) const;
  std::shared_ptr<const CatalogSnapshot> Catalog() const;
  std::shared_ptr<const std::vector<ExperimentSpec>> Experiments() const;

  // Loads `version` (if not loaded) so that promoting it cannot swap in a broken artifact.
  absl::Status Preload(const std::string& version);
  // Re-reads the promoted model now (after a promotion or rollback) and swaps it in when it changed.
  absl::Status RefreshModel();
  absl::Status RefreshCatalog();
  absl::Status RefreshExperiments();
  // For tests and tools: serve this model (as if promoted).
  void SetCurrentForTesting(std::shared_ptr<const ServingModel> model);
  void SetCatalogForTesting(std::shared_ptr<const CatalogSnapshot> catalog);

  struct Stats {
    int64_t reloads = 0;
    int64_t reload_failures = 0;
    int64_t bootstrap_runs = 0;
    int64_t artifact_cache_hits = 0;    // pg:// artifacts read from the local cache
    int64_t artifact_cache_misses = 0;  // ... and from Postgres
  };
  Stats stats() const;

  // Sets the model age gauges from the current model (also done at every poll).
  void UpdateModelMetrics();

 private:
  absl::StatusOr<std::shared_ptr<const ServingModel>> Load(const ModelRecord& record);
  absl::StatusOr<std::string> ReadPgArtifact(const std::string& version);
  std::string CachePath(const std::string& version) const;
  // Removes cached artifacts of versions no longer loaded. Takes load_mu_, then mu_.
  void PruneCache();
  absl::StatusOr<std::shared_ptr<const ServingModel>> LoadVersion(const std::string& version);
  absl::Status Bootstrap();
  void Loop();

  postgres::PgPool* pool_;
  ModelManagerOptions options_;
  ModelRegistry registry_;
  ExperimentStore experiments_store_;

  // Read on every request: atomic shared_ptrs, no lock (a swap is a pointer store; in-flight requests keep
  // the snapshot they loaded).
  std::atomic<std::shared_ptr<const ServingModel>> current_;
  std::atomic<std::shared_ptr<const CatalogSnapshot>> catalog_;
  std::atomic<std::shared_ptr<const std::vector<ExperimentSpec>>> experiments_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const ServingModel>> loaded_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> failed_ ABSL_GUARDED_BY(mu_);  // version -> retry after
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex load_mu_;  // one artifact load at a time
  // One RefreshModel at a time: reading the promoted version and swapping it in are one step, so a poll
  // that read the registry before a promotion can not swap the old model back in after it.
  absl::Mutex refresh_mu_;
  std::thread thread_;
  std::atomic<int64_t> reloads_{0}, reload_failures_{0}, bootstrap_runs_{0}, cache_hits_{0}, cache_misses_{0};
  ArtifactStore artifacts_;
  std::atomic<bool> cache_warned_{false};

  prometheus::Family<prometheus::Gauge>* age_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* trained_family_ = nullptr;
  prometheus::Counter* loads_ok_ = nullptr;
  prometheus::Counter* loads_failed_ = nullptr;
  absl::Mutex metrics_mu_;
  // Added with the first model, so that "no model yet" is an absent series, not an age of 0.
  prometheus::Gauge* age_ ABSL_GUARDED_BY(metrics_mu_) = nullptr;
  prometheus::Gauge* trained_ ABSL_GUARDED_BY(metrics_mu_) = nullptr;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_MODEL_MANAGER_H_
