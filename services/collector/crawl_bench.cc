// Crawl politeness and efficiency (docs/budgets.md): a full crawl of a generated marketplace that
// enforces its real rate limit (5 requests/s per caller, burst 10), with the collector's default client
// settings, into a throwaway PostgreSQL. Prints the wall time divided by the time the rate limit allows for
// the requests the crawl needed, (requests - burst) / rate (target <= 1.1), and the RESOURCE_EXHAUSTED
// answers received (target 0). With --fault_rate the marketplace also injects UNAVAILABLE / INTERNAL / slow
// answers, and the crawl must still store everything (checked against the marketplace's own counts).
//
//   bazel run -c opt //services/collector:crawl_bench -- --products=50 (bench/collector_crawl_bench.sh)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"
#include "services/collector/crawler.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/marketplace_fixture.h"

ABSL_FLAG(int, products, 50, "products in the generated world (its other lists scale with it)");
ABSL_FLAG(double, server_rate, 5, "the marketplace's per-caller limit (requests/s)");
ABSL_FLAG(double, server_burst, 10, "the marketplace's per-caller burst");
ABSL_FLAG(double, fault_rate, 0, "share of marketplace calls answered with an injected fault");

namespace {

using ::marketlens::testing::CreateMigratedDatabase;

using namespace marketlens;  // NOLINT: benchmark main

int64_t Count(postgres::PgPool& pool, const std::string& table) {
  auto r = pool.Exec(absl::StrCat("SELECT count(*) FROM ", table));
  return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
}

int Run() {
  logging::SetMinLevel(logging::Level::kWarning);
  auto server = testing::PostgresServer::StartOrDie();
  auto db = CreateMigratedDatabase(*server, {.pool_size = 8});
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }
  collector::testing::MarketplaceOptions mo;
  mo.products = absl::GetFlag(FLAGS_products);
  mo.service = collector::testing::OpenService();
  mo.service.rate_limit_rps = absl::GetFlag(FLAGS_server_rate);
  mo.service.rate_limit_burst = absl::GetFlag(FLAGS_server_burst);
  const double faults = absl::GetFlag(FLAGS_fault_rate);
  mo.service.faults.unavailable_rate = faults * 0.5;
  mo.service.faults.internal_rate = faults * 0.3;
  mo.service.faults.slow_rate = faults * 0.2;
  auto m = collector::testing::Marketplace::Start(mo);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return 1;
  }
  const auto info = (*m)->world().Info();

  auto registry = std::make_shared<prometheus::Registry>();
  collector::CollectorMetrics metrics(registry);
  collector::MarketplaceClientOptions client_options;  // the binary's defaults
  collector::MarketplaceClient client(
      grpc::CreateChannel((*m)->address(), grpc::InsecureChannelCredentials()), client_options, &metrics);
  collector::CrawlerOptions crawler_options;
  crawler_options.owner = "bench";
  crawler_options.tick = absl::Milliseconds(100);
  crawler_options.progress_interval = absl::Hours(1);
  collector::CrawlManager manager(db->pool.get(), &client, nullptr, crawler_options, &metrics);
  manager.Start();

  std::printf("world: products=%lld reviews=%lld customers=%lld interactions=%lld posts=%lld contacts=%lld\n",
              static_cast<long long>(info.products()), static_cast<long long>(info.reviews()),
              static_cast<long long>(info.customers()), static_cast<long long>(info.interactions()),
              static_cast<long long>(info.campaign_posts()), static_cast<long long>(info.contacts()));
  const absl::Time start = absl::Now();
  auto crawl = manager.StartCrawl("full", {});
  if (!crawl.ok()) {
    std::fprintf(stderr, "%s\n", crawl.status().ToString().c_str());
    return 1;
  }
  collector::CrawlRow row;
  for (;;) {
    absl::SleepFor(absl::Milliseconds(20));
    auto r = manager.store().GetCrawl(crawl->id);
    if (r.ok() && r->state != "running" && r->state != "pending") {
      row = *r;
      break;
    }
  }
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  manager.Stop();

  double requests = 0;
  for (const auto& family : registry->Collect()) {
    if (family.name == "collector_marketplace_requests_total") {
      for (const auto& metric : family.metric) requests += metric.counter.value;
    }
  }
  const double rate = absl::GetFlag(FLAGS_server_rate);
  const double burst = absl::GetFlag(FLAGS_server_burst);
  const double allowed = std::max(0.0, requests - burst) / rate;
  // Rows the marketplace has that did not reach PostgreSQL (a table that cannot be counted counts whole).
  int64_t missing = 0;
  for (const auto& [table, expected] : {std::pair<const char*, int64_t>{"raw.products", info.products()},
                                        {"raw.reviews", info.reviews()},
                                        {"raw.customers", info.customers()},
                                        {"raw.interactions", info.interactions()},
                                        {"raw.campaign_posts", info.campaign_posts()},
                                        {"raw.contacts", info.contacts()}}) {
    const int64_t stored = Count(*db->pool, table);
    if (stored != expected) {
      std::printf("%s: %lld stored, the marketplace has %lld\n", table, static_cast<long long>(stored),
                  static_cast<long long>(expected));
    }
    missing += std::max<int64_t>(0, expected - std::max<int64_t>(0, stored));
  }
  const bool complete = missing == 0;
  std::printf("crawl %s: %lld pages, %lld items, %.0f requests (%lld retries) in %.1f s\n", row.state.c_str(),
              static_cast<long long>(row.pages), static_cast<long long>(row.items), requests,
              static_cast<long long>(row.retries), wall);
  std::printf(
      "rate limit allows %.0f requests in %.1f s ((requests - burst %.0f) / %.1f per s); "
      "without the burst credit %.1f s\n",
      requests, allowed, burst, rate, requests / rate);
  std::printf("crawl_time_ratio=%.3f (target <= 1.1: %s) resource_exhausted=%lld (target 0) complete=%s\n",
              wall / allowed, wall / allowed <= 1.1 ? "met" : "NOT met",
              static_cast<long long>(row.rate_limited), complete ? "yes" : "NO");
  // Headline figures for bench/run.sh's table (its targets are checked against the value, so the value here
  // is the ratio itself; the seconds are on the lines above). docs/budgets.md: within 110% of the time the
  // rate limit allows, zero RESOURCE_EXHAUSTED, zero loss under 10% injected faults.
  const std::string suffix =
      faults > 0 ? absl::StrCat("_faults", static_cast<int>(std::lround(faults * 100)), "pct") : "";
  std::printf(
      "figure: name=collector_crawl_time_vs_rate_limit%s value=%.3f unit=x target=<=1.1 baseline=- "
      "baseline_value=-\n",
      suffix.c_str(), wall / std::max(allowed, 1e-3));  // no credit for a crawl within the burst
  std::printf(
      "figure: name=collector_crawl_resource_exhausted%s value=%lld unit=answers target=<=0 baseline=- "
      "baseline_value=-\n",
      suffix.c_str(), static_cast<long long>(row.rate_limited));
  std::printf(
      "figure: name=collector_crawl_rows_missing%s value=%lld unit=rows target=<=0 baseline=- "
      "baseline_value=-\n",
      suffix.c_str(), static_cast<long long>(missing));
  return row.state == "succeeded" && complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
