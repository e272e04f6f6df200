// The marketplace service: a realistic mock of a product/review API (generated world by default, or a
// replay of real dumps), with per-caller rate limits, injected faults and a simulated clock. Everything
// every service has (health, reflection, /metrics, JSON logs, graceful shutdown, MARKETLENS_* environment)
// comes from //common/service.
//
//   bazel-bin/services/marketplace/marketplace --grpc_port=50051 --metrics_port=9101
//       [--source=generator --seed=42 --products=1000 | --source=replay --replay_reviews=F --replay_meta=F
//        --replay_ratings=F] [--vocabulary_file=F.textproto] [--rate_limit_rps=5 --rate_limit_burst=10]
//        [--fault_*_rate=...]
//       [--clock_speed=3600]
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/secret.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/metrics/exposer.h"
#include "common/service/service_main.h"
#include "common/status/macros.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/marketplace_service.h"
#include "services/marketplace/replay.h"
#include "services/marketplace/simulated_clock.h"
#include "services/marketplace/vocabulary.h"
#include "services/marketplace/world.h"

ABSL_FLAG(std::string, source, "generator",
          "generator (a seeded synthetic world) or replay (real dump files)");
ABSL_FLAG(uint64_t, seed, 42, "generator: the seed; the same seed gives the same world");
ABSL_FLAG(int, products, 1000, "generator: number of products (customers: 8 per product)");
ABSL_FLAG(int, customers, 0, "generator: number of customers (0: 8 per product)");
ABSL_FLAG(std::string, vocabulary_file, "",
          "generator: the vocabulary, a textproto of services/marketplace/vocabulary.proto (empty: the "
          "embedded services/marketplace/data/*.textproto)");
ABSL_FLAG(std::string, replay_reviews, "", "replay: Amazon review JSON lines (may be .gz)");
ABSL_FLAG(std::string, replay_meta, "", "replay: Amazon metadata JSON lines (may be .gz)");
ABSL_FLAG(std::string, replay_ratings, "", "replay: rating triples, MovieLens u.data style (may be .gz)");
ABSL_FLAG(double, rate_limit_rps, 5, "per-caller token bucket rate in requests/s (0: no limit)");
ABSL_FLAG(double, rate_limit_burst, 10, "per-caller token bucket size");
ABSL_FLAG(double, fault_unavailable_rate, 0.02, "share of calls answered UNAVAILABLE");
ABSL_FLAG(double, fault_internal_rate, 0.005, "share of calls answered INTERNAL");
ABSL_FLAG(double, fault_slow_rate, 0.01, "share of calls answered past the caller's deadline");
ABSL_FLAG(int, fault_slow_max_ms, 10000, "longest a slow answer takes");
ABSL_FLAG(bool, allow_forced_faults, true, "honour the x-marketlens-fault metadata");
ABSL_FLAG(double, clock_speed, 3600, "simulated seconds per real second (0: time stands still)");
ABSL_FLAG(int, clock_tick_ms, 250, "how often the simulated clock advances");
ABSL_FLAG(std::string, page_token_key, "", "HMAC key for page tokens (default: random per process)");
ABSL_FLAG(std::string, page_token_key_file, "", "file holding the page token key (a mounted Secret)");

namespace {

using namespace marketlens;
using namespace marketlens::marketplace;

struct App {
  std::unique_ptr<World> world;
  std::unique_ptr<SimulatedClock> clock;
  std::unique_ptr<MarketplaceServiceImpl> service;
};

absl::Status Setup(App& app, service::ServiceContext& ctx) {
  const std::string source = absl::GetFlag(FLAGS_source);
  std::vector<absl::Status> checks = {
      config::ValidateOneOf("source", source, {"generator", "replay"}),
      config::ValidateRange("products", absl::GetFlag(FLAGS_products), 1, 1000000),
      config::ValidateRange("rate_limit_rps", absl::GetFlag(FLAGS_rate_limit_rps), 0.0, 1e6),
      config::ValidateRange("rate_limit_burst", absl::GetFlag(FLAGS_rate_limit_burst), 1.0, 1e6),
      config::ValidateRange("fault_unavailable_rate", absl::GetFlag(FLAGS_fault_unavailable_rate), 0.0, 1.0),
      config::ValidateRange("fault_internal_rate", absl::GetFlag(FLAGS_fault_internal_rate), 0.0, 1.0),
      config::ValidateRange("fault_slow_rate", absl::GetFlag(FLAGS_fault_slow_rate), 0.0, 1.0),
      config::ValidateRange("clock_speed", absl::GetFlag(FLAGS_clock_speed), 0.0, 1e7),
      config::ValidateRange("clock_tick_ms", absl::GetFlag(FLAGS_clock_tick_ms), 1, 60000),
  };
  if (source == "replay" && absl::GetFlag(FLAGS_replay_reviews).empty() &&
      absl::GetFlag(FLAGS_replay_meta).empty() && absl::GetFlag(FLAGS_replay_ratings).empty()) {
    checks.push_back(
        config::FlagError("source", source, "needs --replay_reviews, --replay_meta or --replay_ratings"));
  }
  const std::string vocabulary_file = absl::GetFlag(FLAGS_vocabulary_file);
  if (!vocabulary_file.empty()) {
    if (absl::Status s = UseVocabularyFile(vocabulary_file); !s.ok()) {
      checks.push_back(config::FlagError("vocabulary_file", vocabulary_file, s.message()));
    }
  }
  config::ExitOnInvalid(checks);

  const absl::Time start = absl::Now();
  std::shared_ptr<const PlantedModel> model;
  absl::StatusOr<std::unique_ptr<World>> world;
  if (source == "generator") {
    GeneratorOptions g;
    g.seed = absl::GetFlag(FLAGS_seed);
    g.products = absl::GetFlag(FLAGS_products);
    g.customers = absl::GetFlag(FLAGS_customers);
    ASSIGN_OR_RETURN(GeneratedWorld generated, Generate(g));
    model = generated.model;
    world = World::Create(std::move(generated.data));
  } else {
    ReplayOptions r;
    r.reviews_path = absl::GetFlag(FLAGS_replay_reviews);
    r.metadata_path = absl::GetFlag(FLAGS_replay_meta);
    r.ratings_path = absl::GetFlag(FLAGS_replay_ratings);
    ASSIGN_OR_RETURN(WorldData data, Replay(r));
    for (const auto& f : data.replay_files) {
      logging::Info("replayed file", {{"path", f.path()},
                                      {"format", f.format()},
                                      {"lines", static_cast<long long>(f.lines())},
                                      {"records", static_cast<long long>(f.records())},
                                      {"bad_lines", static_cast<long long>(f.bad_lines())},
                                      {"duplicates", static_cast<long long>(f.duplicates())}});
      for (const auto& example : f.bad_line_examples()) {
        logging::Warn("malformed line skipped", {{"path", f.path()}, {"detail", example}});
      }
    }
    world = World::Create(std::move(data));
  }
  if (!world.ok()) return world.status();
  app.world = *std::move(world);
  const v1::WorldInfo info = app.world->Info();
  logging::Info("world ready",
                {{"source", info.source()},
                 {"seed", static_cast<unsigned long long>(info.seed())},
                 {"products", static_cast<long long>(info.products())},
                 {"reviews", static_cast<long long>(info.reviews())},
                 {"customers", static_cast<long long>(info.customers())},
                 {"interactions", static_cast<long long>(info.interactions())},
                 {"campaign_posts", static_cast<long long>(info.campaign_posts())},
                 {"contacts", static_cast<long long>(info.contacts())},
                 {"build_ms", static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start))}});

  absl::StatusOr<std::string> key = config::ReadSecret(
      absl::GetFlag(FLAGS_page_token_key), absl::GetFlag(FLAGS_page_token_key_file), "page_token_key");
  if (!key.ok()) return key.status();

  ServiceOptions o;
  o.rate_limit_rps = absl::GetFlag(FLAGS_rate_limit_rps);
  o.rate_limit_burst = absl::GetFlag(FLAGS_rate_limit_burst);
  o.faults.unavailable_rate = absl::GetFlag(FLAGS_fault_unavailable_rate);
  o.faults.internal_rate = absl::GetFlag(FLAGS_fault_internal_rate);
  o.faults.slow_rate = absl::GetFlag(FLAGS_fault_slow_rate);
  o.faults.slow_max = absl::Milliseconds(absl::GetFlag(FLAGS_fault_slow_max_ms));
  o.faults.allow_forced = absl::GetFlag(FLAGS_allow_forced_faults);
  o.page_token_key = *key;
  o.clock_speed = absl::GetFlag(FLAGS_clock_speed);
  o.registry = metrics::DefaultRegistry();
  app.service = std::make_unique<MarketplaceServiceImpl>(app.world.get(), o);
  ctx.server().AddService(app.service.get());

  ClockOptions c;
  c.speed = absl::GetFlag(FLAGS_clock_speed);
  c.tick = absl::Milliseconds(absl::GetFlag(FLAGS_clock_tick_ms));
  c.seed = absl::GetFlag(FLAGS_seed) + 1;
  app.clock = std::make_unique<SimulatedClock>(app.world.get(), model, c);
  app.clock->Start();
  logging::Info("marketplace configured",
                {{"rate_limit_rps", o.rate_limit_rps},
                 {"rate_limit_burst", o.rate_limit_burst},
                 {"fault_unavailable_rate", o.faults.unavailable_rate},
                 {"fault_internal_rate", o.faults.internal_rate},
                 {"fault_slow_rate", o.faults.slow_rate},
                 {"clock_speed", c.speed},
                 {"page_token_key", key->empty() ? "random per process" : "configured"}});
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  App app;
  const int code =
      service::RunService(argc, argv, {.name = "marketplace", .grpc_port = 50051, .metrics_port = 9101},
                          [&app](service::ServiceContext& ctx) { return Setup(app, ctx); });
  if (app.clock) app.clock->Stop();
  return code;
}
