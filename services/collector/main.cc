// The collector service: crawls the marketplace into Postgres (politely, resumably; crawler.h), announces new
// and edited reviews on a Redis stream (review_publisher.h), and ingests CSV files (ingest.h); served over
// gRPC by CollectorServiceImpl with what every service has (health, reflection, /metrics, JSON logs,
// graceful shutdown; common/service).
//
// Background work (crawls, the publisher) shares RunService's Postgres pool (--pg_pool_size connections,
// with the RPCs) and Redis client. On SIGTERM the gRPC server drains first; then shutdown hooks stop the
// crawls between pages (checkpointed, lease released, so the next instance resumes them at once) and then
// the publisher (what is queued stays in ops.review_outbox), each within a bound, before RunService
// destroys the clients.
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/server/channel.h"
#include "common/service/service_main.h"
#include "services/collector/collector_service.h"
#include "services/collector/crawler.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/person_data.h"
#include "services/collector/review_publisher.h"

ABSL_FLAG(std::string, marketplace_address, "127.0.0.1:50051",
          "host:port (or gRPC target) of the marketplace");
ABSL_FLAG(std::string, marketplace_caller_id, "collector",
          "x-caller-id sent to the marketplace (its rate-limit key)");
ABSL_FLAG(
    double, marketplace_rate, 4.9,
    "client-side limit on marketplace requests per second (keep it under the marketplace's limit, 5/s)");
ABSL_FLAG(double, marketplace_burst, 1, "client-side token bucket burst");
ABSL_FLAG(absl::Duration, marketplace_call_timeout, absl::Seconds(2), "deadline of each marketplace request");
ABSL_FLAG(int, marketplace_max_attempts, 8,
          "tries per page for UNAVAILABLE / DEADLINE_EXCEEDED / INTERNAL before the page is given up");
ABSL_FLAG(absl::Duration, marketplace_min_retry_window, absl::Seconds(30),
          "a failing page is retried at least this long after its first failure, whatever "
          "--marketplace_max_attempts says (rides out a marketplace restart)");
ABSL_FLAG(int, retention_days, 0,
          "delete raw contacts and interactions older than this many days, at start and daily (0: never; "
          "Kubernetes runs `cli retention` as a CronJob instead)");
ABSL_FLAG(absl::Duration, crawl_interval, absl::ZeroDuration(),
          "start an incremental crawl this long after the previous one started (0: no scheduled crawls)");
ABSL_FLAG(absl::Duration, crawl_lease, absl::Seconds(30),
          "a running crawl whose collector has not sent a heartbeat for this long is taken over");
ABSL_FLAG(absl::Duration, crawl_progress_interval, absl::Seconds(10), "how often a crawl logs its progress");
ABSL_FLAG(int, crawl_page_size, 100, "items per marketplace page (1..100)");
ABSL_FLAG(std::string, instance_id, "", "this collector's name in ops.crawls.owner (default: the host name)");
ABSL_FLAG(std::string, review_stream, marketlens::collector::kReviewStream,
          "Redis stream announcing new and edited reviews");
ABSL_FLAG(int64_t, review_stream_maxlen, 1000000, "approximate MAXLEN of the review stream (0: unbounded)");
ABSL_FLAG(absl::Duration, ingest_timeout, absl::Hours(1), "bound on one IngestFile call");
ABSL_FLAG(int64_t, max_ingest_file_bytes, int64_t{256} << 20,
          "IngestFile refuses a file larger than this (RESOURCE_EXHAUSTED); it is spooled to disk first");

namespace {

using namespace marketlens;  // NOLINT: main only

// Bounds of the shutdown hooks. With --drain_seconds=10 the whole shutdown stays within 10 + 10 + 5 = 25 s,
// under the pod's terminationGracePeriodSeconds (30). Stopping the crawls normally takes well under a second
// (stop signals cut waits and in-flight calls short); the bound covers a page commit or lease release stuck
// on a slow Postgres. A crawl cut off there is still resumable: its lease goes stale and its checkpoints
// are in Postgres, as after kill -9.
constexpr absl::Duration kCrawlStopBound = absl::Seconds(10);
constexpr absl::Duration kPublisherStopBound = absl::Seconds(5);

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "collector";
  return buf;
}

absl::Status Setup(service::ServiceContext& ctx) {
  std::vector<absl::Status> checks = {
      config::ValidateNonEmpty("marketplace_address", absl::GetFlag(FLAGS_marketplace_address)),
      config::ValidateRange("marketplace_rate", absl::GetFlag(FLAGS_marketplace_rate), 0.01, 10000.0),
      config::ValidateRange("marketplace_burst", absl::GetFlag(FLAGS_marketplace_burst), 1.0, 1000.0),
      config::ValidatePositive("marketplace_call_timeout", absl::GetFlag(FLAGS_marketplace_call_timeout)),
      config::ValidateRange("marketplace_max_attempts", absl::GetFlag(FLAGS_marketplace_max_attempts), 1,
                            100),
      config::ValidateRange("marketplace_min_retry_window", absl::GetFlag(FLAGS_marketplace_min_retry_window),
                            absl::ZeroDuration(), absl::Hours(1)),
      config::ValidateRange("crawl_interval", absl::GetFlag(FLAGS_crawl_interval), absl::ZeroDuration(),
                            absl::Hours(24 * 365)),
      config::ValidateRange("crawl_lease", absl::GetFlag(FLAGS_crawl_lease), absl::Seconds(1),
                            absl::Hours(1)),
      config::ValidatePositive("crawl_progress_interval", absl::GetFlag(FLAGS_crawl_progress_interval)),
      config::ValidateRange("crawl_page_size", absl::GetFlag(FLAGS_crawl_page_size), 1, 100),
      config::ValidateRange("review_stream_maxlen", absl::GetFlag(FLAGS_review_stream_maxlen), int64_t{0},
                            int64_t{1} << 40),
      config::ValidatePositive("ingest_timeout", absl::GetFlag(FLAGS_ingest_timeout)),
      config::ValidateRange("max_ingest_file_bytes", absl::GetFlag(FLAGS_max_ingest_file_bytes), int64_t{1},
                            int64_t{1} << 40),
      config::ValidateRange("retention_days", absl::GetFlag(FLAGS_retention_days), 0, 36500),
  };
  config::ExitOnInvalid(checks);

  // Shared with the RPCs; both live until the shutdown hooks below have run.
  postgres::PgPool* pool = ctx.postgres();
  redis::RedisClient* redis = ctx.redis();

  collector::MarketplaceClientOptions client_options;
  client_options.caller_id = absl::GetFlag(FLAGS_marketplace_caller_id);
  client_options.rate_per_second = absl::GetFlag(FLAGS_marketplace_rate);
  client_options.burst = absl::GetFlag(FLAGS_marketplace_burst);
  client_options.call_timeout = absl::GetFlag(FLAGS_marketplace_call_timeout);
  client_options.max_attempts = absl::GetFlag(FLAGS_marketplace_max_attempts);
  client_options.min_retry_window = absl::GetFlag(FLAGS_marketplace_min_retry_window);
  auto* client = new collector::MarketplaceClient(
      server::MakeChannel(absl::GetFlag(FLAGS_marketplace_address)), client_options);

  collector::ReviewPublisherOptions publisher_options;
  publisher_options.stream = absl::GetFlag(FLAGS_review_stream);
  publisher_options.max_stream_length = absl::GetFlag(FLAGS_review_stream_maxlen);
  auto* publisher = new collector::ReviewPublisher(pool, redis, publisher_options);

  collector::CrawlerOptions crawler_options;
  crawler_options.owner =
      absl::GetFlag(FLAGS_instance_id).empty() ? HostName() : absl::GetFlag(FLAGS_instance_id);
  crawler_options.lease = absl::GetFlag(FLAGS_crawl_lease);
  crawler_options.schedule_interval = absl::GetFlag(FLAGS_crawl_interval);
  crawler_options.progress_interval = absl::GetFlag(FLAGS_crawl_progress_interval);
  crawler_options.page_size = absl::GetFlag(FLAGS_crawl_page_size);
  auto* crawler = new collector::CrawlManager(pool, client, publisher, crawler_options);

  collector::IngestOptions ingest_options;
  ingest_options.timeout = absl::GetFlag(FLAGS_ingest_timeout);
  ingest_options.max_file_bytes = absl::GetFlag(FLAGS_max_ingest_file_bytes);
  static collector::CollectorServiceImpl service(pool, crawler, ingest_options);
  ctx.server().AddService(&service);

  // Not ready until the collector's own migrations are applied (deploy/migrations, 0010+).
  ctx.AddReadinessCheck([pool]() -> absl::Status {
    auto r = pool->Exec("SELECT to_regclass('ops.review_outbox') IS NOT NULL");
    if (!r.ok()) return absl::UnavailableError(absl::StrCat("postgres: ", r.status().message()));
    if (!(*r)[0][0].as<bool>()) {
      return absl::FailedPreconditionError(
          "the collector's migrations (deploy/migrations 0010+) are not applied");
    }
    return absl::OkStatus();
  });

  // After the drain, the last registered first: the crawls stop (between pages: in-flight marketplace calls
  // are cancelled, a page being stored commits with its checkpoint, the lease is released), then the
  // publisher. The objects above are never destroyed (the process ends after RunService); once the hooks
  // have run nothing calls them.
  ctx.AddShutdownHook(
      "review publisher", [publisher] { publisher->Stop(); }, kPublisherStopBound);
  ctx.AddShutdownHook(
      "crawls", [crawler] { crawler->Stop(); }, kCrawlStopBound);
  if (const int days = absl::GetFlag(FLAGS_retention_days); days > 0) {
    auto* retention = new collector::RetentionLoop(pool, absl::Hours(24) * days);
    ctx.AddShutdownHook(
        "retention", [retention] { retention->Stop(); }, absl::Seconds(15));
    retention->Start();
  }
  publisher->Start();
  crawler->Start();
  logging::Info("collector configured",
                {{"marketplace", absl::GetFlag(FLAGS_marketplace_address)},
                 {"owner", crawler_options.owner},
                 {"rate", client_options.rate_per_second},
                 {"crawl_interval", absl::FormatDuration(crawler_options.schedule_interval)},
                 {"review_stream", publisher_options.stream}});
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return marketlens::service::RunService(
      argc, argv,
      {.name = "collector", .grpc_port = 50052, .metrics_port = 9102, .postgres = true, .redis = true},
      Setup);
}
