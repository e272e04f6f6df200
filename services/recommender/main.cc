// The recommender service: serves protos/marketlens/recommender/v1/recommender.proto —
// personalised, session and cold-start recommendations with reasons and business rules, similar items,
// frequently bought together, re-ranking, feedback folded in within seconds, privacy erasure, the model
// registry (list / promote / roll back with hot reload) and A/B experiments — plus what every service has
// (health, reflection, /metrics, JSON logs, graceful shutdown) from //common/service.
//
// The service owns its own Postgres pool and Redis client (same flags as the common ones) so that its
// background threads (model reload, feedback writer, fold-in) can be stopped after the gRPC server has
// drained and before those connections go away.
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/config/secret.h"
#include "common/logging/log.h"
#include "common/metrics/exposer.h"
#include "common/service/service_main.h"
#include "services/recommender/serving/engine.h"
#include "services/recommender/serving/experiment_store.h"
#include "services/recommender/serving/feedback.h"
#include "services/recommender/serving/hot_cache.h"
#include "services/recommender/serving/model_manager.h"
#include "services/recommender/serving/online_state.h"
#include "services/recommender/serving/service.h"
#include "services/recommender/store/registry.h"

ABSL_DECLARE_FLAG(std::string, pg_dsn);
ABSL_DECLARE_FLAG(int, pg_pool_size);
ABSL_DECLARE_FLAG(std::string, redis_address);
ABSL_DECLARE_FLAG(std::string, redis_password);
ABSL_DECLARE_FLAG(std::string, redis_password_file);

ABSL_FLAG(std::string, artifact_dir, "/var/lib/marketlens/models",
          "local cache of model artifacts (<dir>/cache); the durable copy is in Postgres "
          "(recsys.model_artifacts); older file:// registrations are read from their own path");
ABSL_FLAG(int, model_poll_seconds, 5, "how often the registry is checked for a newly promoted model");
ABSL_FLAG(int, catalog_refresh_seconds, 30,
          "how often stock, margins, restrictions and promotions are reloaded");
ABSL_FLAG(int, experiments_refresh_seconds, 5, "how often running experiments are reloaded");
ABSL_FLAG(bool, bootstrap_train, true, "train, register and promote a first model when none is promoted");
ABSL_FLAG(int, bootstrap_retry_seconds, 120,
          "how often bootstrap training is retried while there is no data");
ABSL_FLAG(int, diversity_cap, 3, "most items of one category in a list (0: no cap)");
ABSL_FLAG(double, high_margin_threshold, 0.4, "margin from which an item gets the high-margin boost");
ABSL_FLAG(double, high_margin_boost, 0.10, "relative score boost of high-margin items");
ABSL_FLAG(bool, exclude_bought, true, "never recommend an item the shopper already bought");
ABSL_FLAG(int, candidate_pool, 200, "candidates scored before business rules");
ABSL_FLAG(int, cache_ttl_seconds, 60, "TTL of hot lists cached in Redis");
ABSL_FLAG(
    int64_t, personal_memo_users, 100000,
    "known shoppers whose ranked candidates are remembered per model until they give feedback (0: off)");
ABSL_FLAG(int, ann_min_items, 50000, "catalogue size from which ALS candidates come from an HNSW index");
ABSL_FLAG(std::string, feedback_stream, "recsys:feedback", "Redis stream carrying feedback between replicas");
ABSL_FLAG(std::string, instance_id, "", "this replica's name in the feedback stream (default hostname-pid)");

namespace marketlens::recommender {
namespace {

class App {
 public:
  static absl::StatusOr<std::unique_ptr<App>> Create() {
    auto app = std::unique_ptr<App>(new App());
    auto pool = postgres::PgPool::Create({.dsn = absl::GetFlag(FLAGS_pg_dsn),
                                          .max_size = absl::GetFlag(FLAGS_pg_pool_size),
                                          .application_name = "recommender"});
    if (!pool.ok()) return pool.status();
    app->pg_ = *std::move(pool);
    const std::string address = absl::GetFlag(FLAGS_redis_address);
    const size_t colon = address.rfind(':');
    redis::RedisOptions redis_options;
    redis_options.name = "recommender";
    redis_options.host = address.substr(0, colon);
    if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &redis_options.port)) {
      return absl::InvalidArgumentError(absl::StrCat("--redis_address `", address, "` is not host:port"));
    }
    auto password = config::ReadSecret(absl::GetFlag(FLAGS_redis_password),
                                       absl::GetFlag(FLAGS_redis_password_file), "redis_password");
    if (!password.ok()) return password.status();
    redis_options.password = *password;
    app->redis_ = std::make_unique<redis::RedisClient>(redis_options);

    app->online_ = std::make_unique<OnlineState>();
    app->cache_ = std::make_unique<HotListCache>(
        app->redis_.get(), absl::Seconds(absl::GetFlag(FLAGS_cache_ttl_seconds)), metrics::DefaultRegistry());
    EngineOptions engine_options;
    engine_options.rules.max_per_category = absl::GetFlag(FLAGS_diversity_cap);
    engine_options.rules.high_margin_threshold = absl::GetFlag(FLAGS_high_margin_threshold);
    engine_options.rules.high_margin_boost = absl::GetFlag(FLAGS_high_margin_boost);
    engine_options.rules.exclude_bought = absl::GetFlag(FLAGS_exclude_bought);
    engine_options.candidate_pool = absl::GetFlag(FLAGS_candidate_pool);
    engine_options.personal_memo_users = absl::GetFlag(FLAGS_personal_memo_users);
    app->engine_ = std::make_unique<Engine>(engine_options, app->online_.get(), app->cache_.get());

    ModelManagerOptions manager_options;
    manager_options.poll_interval = absl::Seconds(absl::GetFlag(FLAGS_model_poll_seconds));
    manager_options.catalog_interval = absl::Seconds(absl::GetFlag(FLAGS_catalog_refresh_seconds));
    manager_options.experiments_interval = absl::Seconds(absl::GetFlag(FLAGS_experiments_refresh_seconds));
    manager_options.bootstrap_train = absl::GetFlag(FLAGS_bootstrap_train);
    manager_options.bootstrap_retry = absl::Seconds(absl::GetFlag(FLAGS_bootstrap_retry_seconds));
    manager_options.artifact_dir = absl::GetFlag(FLAGS_artifact_dir);
    manager_options.serving.ann_min_items = absl::GetFlag(FLAGS_ann_min_items);
    manager_options.bootstrap_config.threads = 2;
    manager_options.metrics = metrics::DefaultRegistry();
    app->models_ = std::make_unique<ModelManager>(app->pg_.get(), manager_options);

    FeedbackOptions feedback_options;
    feedback_options.stream = absl::GetFlag(FLAGS_feedback_stream);
    feedback_options.instance = absl::GetFlag(FLAGS_instance_id);
    app->feedback_ = std::make_unique<FeedbackPipeline>(app->redis_.get(), app->pg_.get(), app->online_.get(),
                                                        feedback_options);
    app->registry_ = std::make_unique<ModelRegistry>(app->pg_.get());
    app->experiments_ = std::make_unique<ExperimentStore>(app->pg_.get());
    app->service_ = std::make_unique<RecommenderServiceImpl>(
        app->engine_.get(), app->models_.get(), app->feedback_.get(), app->registry_.get(),
        app->experiments_.get(), metrics::DefaultRegistry(), app->pg_.get());
    // Start-up: whatever is reachable now is loaded; the rest follows in the background.
    app->models_->Start();
    if (absl::Status s = app->feedback_->LoadPersistentState(); !s.ok()) {
      logging::Warn("do-not-show lists and forgotten users not loaded yet", {{"error", s}});
    }
    app->feedback_->Start();
    auto model = app->models_->Current();
    logging::Info(
        "recommender ready",
        {{"model", model != nullptr ? model->version() : std::string("(none yet)")},
         {"catalog_items",
          static_cast<int64_t>(app->models_->Catalog() != nullptr ? app->models_->Catalog()->size() : 0)}});
    return app;
  }

  grpc::Service* service() { return service_.get(); }

  // After the gRPC server has drained: stop the background threads, then the connections go.
  void Stop() {
    feedback_->Stop();
    models_->Stop();
  }

 private:
  App() = default;

  std::unique_ptr<postgres::PgPool> pg_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<OnlineState> online_;
  std::unique_ptr<HotListCache> cache_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<FeedbackPipeline> feedback_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<ExperimentStore> experiments_;
  std::unique_ptr<RecommenderServiceImpl> service_;
};

}  // namespace
}  // namespace marketlens::recommender

int main(int argc, char** argv) {
  std::unique_ptr<marketlens::recommender::App> app;
  const int code = marketlens::service::RunService(
      argc, argv,
      {.name = "recommender", .grpc_port = 50054, .metrics_port = 9104, .postgres = true, .redis = true},
      [&](marketlens::service::ServiceContext& ctx) -> absl::Status {
        auto created = marketlens::recommender::App::Create();
        if (!created.ok()) return created.status();
        app = *std::move(created);
        ctx.server().AddService(app->service());
        return absl::OkStatus();
      });
  if (app != nullptr) app->Stop();
  return code;
}
