// The analyzer service: review sentiment, aspects and issues (the local engine, engine/), per-product
// insights and alerts kept in step with raw.reviews by the pipeline (pipeline.h: the collector's Redis stream
// plus catch-up from Postgres), served over gRPC by AnalyzerServiceImpl, with LLM backends and grounded
// content generation, plus what every service has (health, reflection, /metrics, JSON logs, graceful
// shutdown; common/service).
//
// The pipeline shares RunService's Postgres pool (--pg_pool_size connections, with the RPCs) and Redis
// client. On SIGTERM the gRPC server drains first; then shutdown hooks stop the LLM review mode, the pipeline
// (a training run included; unacknowledged stream entries are redelivered to the next instance) and the
// retrieval index, each within a bound, before RunService destroys the clients.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/service/service_main.h"
#include "common/status/macros.h"
#include "services/analyzer/analyzer_service.h"
#include "services/analyzer/content_setup.h"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm_review/setup.h"
#include "services/analyzer/pipeline.h"

ABSL_FLAG(std::string, lexicon_file, "",
          "sentiment lexicon (token<TAB>valence); empty: the embedded VADER lexicon");
ABSL_FLAG(std::string, domain_lexicon_file, "", "domain words applied on top; empty: the embedded list");
ABSL_FLAG(std::string, aspects_file, "", "aspect taxonomy (see data/aspects.conf); empty: the embedded one");
ABSL_FLAG(std::string, issues_file, "", "issue rules (see data/issues.conf); empty: the embedded ones");
ABSL_FLAG(std::string, aspect_model, "",
          "aspect-term model written by `cli train-aspects` (open-vocabulary aspects); empty: taxonomy only");
ABSL_FLAG(bool, pipeline, true, "analyse reviews in the background (stream + catch-up); off: serve only");
ABSL_FLAG(bool, train, true,
          "train the weak-label model on rated reviews (when none is active or data grew)");
ABSL_FLAG(std::string, review_stream, marketlens::analyzer::kReviewStream, "Redis stream announcing reviews");
ABSL_FLAG(std::string, consumer_name, "",
          "this instance's consumer name in the stream group (default host-pid)");
ABSL_FLAG(absl::Duration, catchup_interval, absl::Seconds(30),
          "how often raw.reviews is scanned for stale analyses");
ABSL_FLAG(absl::Duration, retrain_check_interval, absl::Minutes(5), "how often to check whether to retrain");

namespace {

using namespace marketlens;  // NOLINT: main only

// Bound of the pipeline's shutdown hook: it stops within about a second (a training run checks the stop
// every ~1024 examples, catch-up every batch); the bound covers a database call stuck until its timeout.
// Past it RunService exits without waiting (stream entries are acknowledged only after their results are
// stored, so the work is simply redone after the restart).
constexpr absl::Duration kPipelineStopBound = absl::Seconds(5);

absl::StatusOr<std::string> ReadFileOrEmpty(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DefaultConsumer() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return absl::StrCat("analyzer-", getpid());
  return absl::StrCat(buf, "-", getpid());
}

absl::Status Setup(service::ServiceContext& ctx) {
  config::ExitOnInvalid({
      config::ValidatePositive("catchup_interval", absl::GetFlag(FLAGS_catchup_interval)),
      config::ValidatePositive("retrain_check_interval", absl::GetFlag(FLAGS_retrain_check_interval)),
      config::ValidateNonEmpty("review_stream", absl::GetFlag(FLAGS_review_stream)),
  });
  analyzer::EngineConfig engine_config;
  for (auto [flag, target] :
       {std::pair{absl::GetFlag(FLAGS_lexicon_file), &engine_config.lexicon_tsv},
        std::pair{absl::GetFlag(FLAGS_domain_lexicon_file), &engine_config.domain_lexicon_tsv},
        std::pair{absl::GetFlag(FLAGS_aspects_file), &engine_config.aspects_conf},
        std::pair{absl::GetFlag(FLAGS_issues_file), &engine_config.issues_conf}}) {
    ASSIGN_OR_RETURN(auto contents, ReadFileOrEmpty(flag));
    *target = contents;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<analyzer::Engine> owned_engine, analyzer::Engine::Create(engine_config));
  analyzer::Engine* engine = owned_engine.release();  // lives as long as the process
  if (const std::string path = absl::GetFlag(FLAGS_aspect_model); !path.empty()) {
    auto tagger = analyzer::LoadAspectTaggerFile(path);
    if (!tagger.ok())
      return absl::InvalidArgumentError(absl::StrCat("--aspect_model: ", tagger.status().message()));
    engine->SetAspectTagger(*std::move(tagger));
    logging::Info("aspect tagger loaded", {{"path", path}, {"version", engine->version()}});
  }

  static analyzer::AnalyzerServiceImpl service(ctx.postgres(), engine);
  RETURN_IF_ERROR(analyzer::SetupContent(ctx, engine, &service));
  ctx.server().AddService(&service);

  // Not ready until the analyzer's migrations are applied: 0040 (its tables), 0042 (quality flags with
  // their sentences, which every stored analysis writes), 0044 (change tests and the alert lifecycle) and
  // 0050 and 0051 (the change's interval and its date's credible range, written with every change test).
  postgres::PgPool* rpc_pool = ctx.postgres();
  ctx.AddReadinessCheck([rpc_pool]() -> absl::Status {
    auto r = rpc_pool->Exec(
        "SELECT to_regclass('insights.models') IS NOT NULL AND to_regclass('insights.change_tests') IS NOT "
        "NULL AND EXISTS (SELECT 1 FROM "
        "information_schema.columns"
        " WHERE table_schema = 'insights' AND table_name = 'review_analysis' AND column_name = 'quality')"
        " AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'insights'"
        "   AND table_name = 'alerts' AND column_name = 'changed_after')"
        " AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'insights'"
        "   AND table_name = 'alerts' AND column_name = 'since_latest')");
    if (!r.ok()) return absl::UnavailableError(absl::StrCat("postgres: ", r.status().message()));
    if (!(*r)[0][0].as<bool>()) {
      return absl::FailedPreconditionError(
          "the analyzer's migrations (deploy/migrations 0040-0044, 0050 and 0051) are not applied");
    }
    return absl::OkStatus();
  });

  if (absl::GetFlag(FLAGS_pipeline)) {
    auto* store = new analyzer::InsightsStore(ctx.postgres());  // lives as long as the process
    redis::RedisClient* redis = ctx.redis();
    analyzer::PipelineOptions options;
    options.stream = absl::GetFlag(FLAGS_review_stream);
    options.consumer =
        absl::GetFlag(FLAGS_consumer_name).empty() ? DefaultConsumer() : absl::GetFlag(FLAGS_consumer_name);
    options.train = absl::GetFlag(FLAGS_train);
    options.catchup_interval = absl::GetFlag(FLAGS_catchup_interval);
    options.retrain_check_interval = absl::GetFlag(FLAGS_retrain_check_interval);
    auto* pipeline = new analyzer::Pipeline(store, engine, redis, options);
    // It starts stopping with the signal (a training run is cancelled while the server drains) and is joined
    // after the drain; registered before the LLM review mode's hook, so that one (which feeds on the
    // pipeline) stops first.
    ctx.OnStopRequested([pipeline] { pipeline->RequestStop(); });
    ctx.AddShutdownHook(
        "pipeline",
        [pipeline] {
          pipeline->RequestStop();
          pipeline->Stop();
        },
        kPipelineStopBound);
    // --llm_review: sampled reviews through the LLM as well, in the background (llm_review/).
    RETURN_IF_ERROR(analyzer::llm_review::SetupLlmReview(ctx, store->pool(), redis, engine, pipeline));
    pipeline->Start();
    logging::Info("analyzer pipeline started",
                  {{"stream", options.stream}, {"consumer", options.consumer}, {"train", options.train}});
  } else {
    // --llm_review rides on the pipeline: refuse it without one rather than ignore it.
    RETURN_IF_ERROR(analyzer::llm_review::SetupLlmReview(ctx, nullptr, nullptr, engine, nullptr));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "analyzer", .grpc_port = 50053, .metrics_port = 9103, .postgres = true, .redis = true}, Setup);
}
