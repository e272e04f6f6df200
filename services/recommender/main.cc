// The recommender service: serves protos/marketlens/recommender/v1/recommender.proto —
// personalised, session and cold-start recommendations with reasons and business rules, similar items,
// frequently bought together, re-ranking, feedback folded in within seconds, privacy erasure, the model
// registry (list / promote / roll back with hot reload) and A/B experiments — plus what every service has
// (health, reflection, /metrics, JSON logs, graceful shutdown) from //common/service.
//
// Its background threads (model reload, feedback writer, fold-in) share RunService's Postgres pool
// (--pg_pool_size connections, with the RPCs) and Redis client. On SIGTERM the gRPC server drains first;
// then shutdown hooks stop the feedback pipeline and the model manager, each within a bound, before
// RunService destroys the clients.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/metrics/exposer.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/service/service_main.h"
#include "services/recommender/serving/engine.h"
#include "services/recommender/serving/experiment_store.h"
#include "services/recommender/serving/feedback.h"
#include "services/recommender/serving/hot_cache.h"
#include "services/recommender/serving/model_manager.h"
#include "services/recommender/serving/online_state.h"
#include "services/recommender/serving/service.h"
#include "services/recommender/store/registry.h"

ABSL_FLAG(std::string, artifact_dir, "/var/lib/marketlens/models",
          "local cache of model artifacts (<dir>/cache); the durable copy is in Postgres "
          "(recsys.model_artifacts); older file:// registrations are read from their own path");
ABSL_FLAG(absl::Duration, model_poll_interval, absl::Seconds(5),
          "how often the registry is checked for a newly promoted model");
ABSL_FLAG(absl::Duration, catalog_refresh_interval, absl::Seconds(30),
          "how often stock, margins, restrictions and promotions are reloaded");
ABSL_FLAG(absl::Duration, experiments_refresh_interval, absl::Seconds(5),
          "how often running experiments are reloaded");
ABSL_FLAG(bool, bootstrap_train, true, "train, register and promote a first model when none is promoted");
ABSL_FLAG(absl::Duration, bootstrap_retry_interval, absl::Minutes(2),
          "how often bootstrap training is retried while there is no data");
ABSL_FLAG(int, diversity_cap, 3, "most items of one category in a list (0: no cap)");
ABSL_FLAG(double, high_margin_threshold, 0.4, "margin from which an item gets the high-margin boost");
ABSL_FLAG(double, high_margin_boost, 0.10, "relative score boost of high-margin items");
ABSL_FLAG(bool, exclude_bought, true, "never recommend an item the shopper already bought");
ABSL_FLAG(int, candidate_pool, 200, "candidates scored before business rules");
ABSL_FLAG(absl::Duration, cache_ttl, absl::Seconds(60), "TTL of hot lists cached in Redis");
ABSL_FLAG(
    int64_t, personal_memo_users, 100000,
    "known shoppers whose ranked candidates are remembered per model until they give feedback (0: off)");
ABSL_FLAG(int, ann_min_items, 50000, "catalogue size from which ALS candidates come from an HNSW index");
ABSL_FLAG(std::string, feedback_stream, "recsys:feedback", "Redis stream carrying feedback between replicas");
ABSL_FLAG(std::string, instance_id, "", "this replica's name in the feedback stream (default hostname-pid)");

namespace {

using namespace marketlens;               // NOLINT: main only
using namespace marketlens::recommender;  // NOLINT: main only

// Bounds of the shutdown hooks: the feedback writer flushes what it holds (a batch insert), the model
// manager stops its polling thread (and a bootstrap training between iterations).
constexpr absl::Duration kFeedbackStopBound = absl::Seconds(5);
constexpr absl::Duration kModelsStopBound = absl::Seconds(5);

absl::Status Setup(service::ServiceContext& ctx) {
  config::ExitOnInvalid({
      config::ValidateNonEmpty("artifact_dir", absl::GetFlag(FLAGS_artifact_dir)),
      config::ValidateRange("model_poll_interval", absl::GetFlag(FLAGS_model_poll_interval),
                            absl::Milliseconds(100), absl::Hours(24)),
      config::ValidateRange("catalog_refresh_interval", absl::GetFlag(FLAGS_catalog_refresh_interval),
                            absl::Milliseconds(100), absl::Hours(24)),
      config::ValidateRange("experiments_refresh_interval", absl::GetFlag(FLAGS_experiments_refresh_interval),
                            absl::Milliseconds(100), absl::Hours(24)),
      config::ValidateRange("bootstrap_retry_interval", absl::GetFlag(FLAGS_bootstrap_retry_interval),
                            absl::Milliseconds(100), absl::Hours(24)),
      config::ValidateRange("diversity_cap", absl::GetFlag(FLAGS_diversity_cap), 0, 1000),
      config::ValidateRange("high_margin_threshold", absl::GetFlag(FLAGS_high_margin_threshold), 0.0, 1.0),
      config::ValidateRange("high_margin_boost", absl::GetFlag(FLAGS_high_margin_boost), 0.0, 10.0),
      config::ValidateRange("candidate_pool", absl::GetFlag(FLAGS_candidate_pool), 1, 100000),
      config::ValidateRange("cache_ttl", absl::GetFlag(FLAGS_cache_ttl), absl::Seconds(1), absl::Hours(24)),
      config::ValidateRange("personal_memo_users", absl::GetFlag(FLAGS_personal_memo_users), int64_t{0},
                            int64_t{100000000}),
      config::ValidateRange("ann_min_items", absl::GetFlag(FLAGS_ann_min_items), 1, 1000000000),
      config::ValidateNonEmpty("feedback_stream", absl::GetFlag(FLAGS_feedback_stream)),
  });
  // Shared with the RPCs; both live until the shutdown hooks below have run. The objects below live as
  // long as the process (once the hooks have run nothing calls them).
  postgres::PgPool* pg = ctx.postgres();
  redis::RedisClient* redis = ctx.redis();

  auto* online = new OnlineState();
  auto* cache = new HotListCache(redis, absl::GetFlag(FLAGS_cache_ttl), metrics::DefaultRegistry());
  EngineOptions engine_options;
  engine_options.rules.max_per_category = absl::GetFlag(FLAGS_diversity_cap);
  engine_options.rules.high_margin_threshold = absl::GetFlag(FLAGS_high_margin_threshold);
  engine_options.rules.high_margin_boost = absl::GetFlag(FLAGS_high_margin_boost);
  engine_options.rules.exclude_bought = absl::GetFlag(FLAGS_exclude_bought);
  engine_options.candidate_pool = absl::GetFlag(FLAGS_candidate_pool);
  engine_options.personal_memo_users = absl::GetFlag(FLAGS_personal_memo_users);
  auto* engine = new Engine(engine_options, online, cache);

  ModelManagerOptions manager_options;
  manager_options.poll_interval = absl::GetFlag(FLAGS_model_poll_interval);
  manager_options.catalog_interval = absl::GetFlag(FLAGS_catalog_refresh_interval);
  manager_options.experiments_interval = absl::GetFlag(FLAGS_experiments_refresh_interval);
  manager_options.bootstrap_train = absl::GetFlag(FLAGS_bootstrap_train);
  manager_options.bootstrap_retry = absl::GetFlag(FLAGS_bootstrap_retry_interval);
  manager_options.artifact_dir = absl::GetFlag(FLAGS_artifact_dir);
  manager_options.serving.ann_min_items = absl::GetFlag(FLAGS_ann_min_items);
  manager_options.bootstrap_config.threads = 2;
  manager_options.metrics = metrics::DefaultRegistry();
  auto* models = new ModelManager(pg, manager_options);

  FeedbackOptions feedback_options;
  feedback_options.stream = absl::GetFlag(FLAGS_feedback_stream);
  feedback_options.instance = absl::GetFlag(FLAGS_instance_id);
  auto* feedback = new FeedbackPipeline(redis, pg, online, feedback_options);
  auto* registry = new ModelRegistry(pg);
  auto* experiments = new ExperimentStore(pg);
  auto* service = new RecommenderServiceImpl(engine, models, feedback, registry, experiments,
                                             metrics::DefaultRegistry(), pg);
  ctx.server().AddService(service);

  // After the drain, the last registered first: the feedback pipeline (its writer flushes), then the model
  // manager.
  ctx.AddShutdownHook(
      "model manager", [models] { models->Stop(); }, kModelsStopBound);
  ctx.AddShutdownHook(
      "feedback pipeline", [feedback] { feedback->Stop(); }, kFeedbackStopBound);
  // Start-up: whatever is reachable now is loaded; the rest follows in the background.
  models->Start();
  if (absl::Status s = feedback->LoadPersistentState(); !s.ok()) {
    logging::Warn("do-not-show lists and forgotten users not loaded yet", {{"error", s}});
  }
  feedback->Start();
  auto model = models->Current();
  logging::Info("recommender ready",
                {{"model", model != nullptr ? model->version() : std::string("(none yet)")},
                 {"catalog_items",
                  static_cast<int64_t>(models->Catalog() != nullptr ? models->Catalog()->size() : 0)}});
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "recommender", .grpc_port = 50054, .metrics_port = 9104, .postgres = true, .redis = true},
      Setup);
}
