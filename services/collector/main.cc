// The collector service: crawls the marketplace into Postgres (politely, resumably; crawler.h), announces new
// and edited reviews on a Redis stream (review_publisher.h), and ingests CSV files (ingest.h); served over
// gRPC by CollectorServiceImpl with what every service has (health, reflection, /metrics, JSON logs,
// graceful shutdown; common/service).
//
// Background work (crawls, the publisher) uses its own Postgres pool and Redis client, built from the same
// flags as RunService's: RunService destroys its clients as soon as the server has drained, while a crawl
// may still be finishing a page. On SIGTERM the crawls stop between pages and release their lease, so the
// next instance resumes them at once.
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config/secret.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/server/channel.h"
#include "common/server/signals.h"
#include "common/service/service_main.h"
#include "services/collector/collector_service.h"
#include "services/collector/crawler.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/review_publisher.h"

ABSL_DECLARE_FLAG(std::string, pg_dsn);
ABSL_DECLARE_FLAG(std::string, redis_address);
ABSL_DECLARE_FLAG(std::string, redis_password);
ABSL_DECLARE_FLAG(std::string, redis_password_file);

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

namespace {

using namespace marketlens;  // NOLINT: main only

collector::CrawlManager* g_crawler = nullptr;
collector::ReviewPublisher* g_publisher = nullptr;

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
      config::ValidateRange("crawl_interval", absl::GetFlag(FLAGS_crawl_interval), absl::ZeroDuration(),
                            absl::Hours(24 * 365)),
      config::ValidateRange("crawl_lease", absl::GetFlag(FLAGS_crawl_lease), absl::Seconds(1),
                            absl::Hours(1)),
      config::ValidatePositive("crawl_progress_interval", absl::GetFlag(FLAGS_crawl_progress_interval)),
      config::ValidateRange("crawl_page_size", absl::GetFlag(FLAGS_crawl_page_size), 1, 100),
      config::ValidateRange("review_stream_maxlen", absl::GetFlag(FLAGS_review_stream_maxlen), int64_t{0},
                            int64_t{1} << 40),
      config::ValidatePositive("ingest_timeout", absl::GetFlag(FLAGS_ingest_timeout)),
  };
  config::ExitOnInvalid(checks);

  // Background clients (see the top of this file). Leaked on purpose: they must outlive every thread.
  auto bg_pool = postgres::PgPool::Create(
      {.dsn = absl::GetFlag(FLAGS_pg_dsn), .max_size = 8, .application_name = "collector-crawler"});
  if (!bg_pool.ok()) return bg_pool.status();
  postgres::PgPool* pool = bg_pool->release();

  redis::RedisOptions redis_options;
  const std::string address = absl::GetFlag(FLAGS_redis_address);
  const size_t colon = address.rfind(':');
  redis_options.host = address.substr(0, colon);
  if (redis_options.host.size() > 2 && redis_options.host.front() == '[') {
    redis_options.host = redis_options.host.substr(1, redis_options.host.size() - 2);
  }
  (void)absl::SimpleAtoi(address.substr(colon + 1), &redis_options.port);
  auto password = config::ReadSecret(absl::GetFlag(FLAGS_redis_password),
                                     absl::GetFlag(FLAGS_redis_password_file), "redis_password");
  if (!password.ok()) return password.status();
  redis_options.password = *password;
  redis_options.name = "collector-reviews";
  auto* redis = new redis::RedisClient(redis_options);

  collector::MarketplaceClientOptions client_options;
  client_options.caller_id = absl::GetFlag(FLAGS_marketplace_caller_id);
  client_options.rate_per_second = absl::GetFlag(FLAGS_marketplace_rate);
  client_options.burst = absl::GetFlag(FLAGS_marketplace_burst);
  client_options.call_timeout = absl::GetFlag(FLAGS_marketplace_call_timeout);
  client_options.max_attempts = absl::GetFlag(FLAGS_marketplace_max_attempts);
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
  g_crawler = crawler;
  g_publisher = publisher;

  collector::IngestOptions ingest_options;
  ingest_options.timeout = absl::GetFlag(FLAGS_ingest_timeout);
  static collector::CollectorServiceImpl service(ctx.postgres(), crawler, ingest_options);
  ctx.server().AddService(&service);

  // Not ready until the collector's own migrations are applied (deploy/migrations, 0010+).
  postgres::PgPool* rpc_pool = ctx.postgres();
  ctx.AddReadinessCheck([rpc_pool]() -> absl::Status {
    auto r = rpc_pool->Exec("SELECT to_regclass('ops.review_outbox') IS NOT NULL");
    if (!r.ok()) return absl::UnavailableError(absl::StrCat("postgres: ", r.status().message()));
    if (!(*r)[0][0].as<bool>()) {
      return absl::FailedPreconditionError(
          "the collector's migrations (deploy/migrations 0010+) are not applied");
    }
    return absl::OkStatus();
  });

  // SIGTERM: stop the crawls (between pages, lease released) while the gRPC server drains.
  server::internal::AddSignalListener([crawler, publisher](int) {
    std::thread([crawler, publisher] {
      crawler->Stop();
      publisher->Stop();
    }).detach();
  });
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
  const int code = marketlens::service::RunService(
      argc, argv,
      {.name = "collector", .grpc_port = 50052, .metrics_port = 9102, .postgres = true, .redis = true},
      Setup);
  // Usually already done by the signal listener; waits for it to finish otherwise.
  if (g_crawler != nullptr) g_crawler->Stop();
  if (g_publisher != nullptr) g_publisher->Stop();
  return code;
}
