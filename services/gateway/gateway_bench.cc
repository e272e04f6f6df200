// What HTTP/JSON through the gateway costs over calling the backend directly with gRPC, measured in one run
// on this machine (bench/gateway_bench.sh). The backends are the in-process fakes of fake_backends.h, which
// do almost no work, so the difference between the two columns is the gateway's own cost: HTTP parsing,
// auth (a real API key, checked once in Postgres and then from memory), rate limiting, binding, JSON both
// ways and the extra gRPC hop.
//
// For GET /api/v1/products (ListProductInsights, 20 products a page) and GET /api/v1/recommendations
// (Recommend, 10 items):
//   1. saturation: gRPC direct (C client threads, one channel each) vs HTTP with wrk (C connections), in
//      --rounds alternating turns (gRPC, HTTP, HTTP, gRPC, ...) so that load from other processes on a
//      shared machine falls on both sides alike; the rates are the means over the turns;
//   2. a fixed 500 req/s (open loop, latency measured from the scheduled send time, so a stall is not
//      hidden): gRPC direct vs HTTP; P50 / P99 / max;
//   3. the products list through the Redis cache (hits), for reference.
// Targets (docs/budgets.md): HTTP overhead < 30% (HTTP req/s > 0.7 x gRPC req/s), products P99 < 20 ms at
// 500 req/s. Headline figures for bench/run.sh are printed as "figure:" lines; errors fail the run.
#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/server/channel.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/fake_backends.h"
#include "services/gateway/gateway_stack.h"
#include "services/gateway/http_server.h"
#include "services/gateway/test_http_client.h"

ABSL_FLAG(int, connections, 16, "concurrent connections / client threads at saturation");
ABSL_FLAG(int, seconds, 5, "length of each measurement");
ABSL_FLAG(std::string, only, "", "run only this part: products, recommendations or cache (default: all)");
ABSL_FLAG(int, rounds, 2, "turns of each side at saturation (alternating; the rates are the means)");
ABSL_FLAG(int, http_threads, marketlens::gateway::HttpServerOptions().threads, "the gateway's HTTP threads");
ABSL_FLAG(int, rate, 500, "requests per second of the fixed-rate measurement");
ABSL_FLAG(std::string, wrk, "wrk", "the wrk binary (Debian package wrk)");
ABSL_FLAG(std::string, migrations, "deploy/migrations", "migrations directory (for the API key table)");

namespace {

using marketlens::gateway::GatewayStack;
using marketlens::gateway::GatewayStackOptions;
using marketlens::gateway::testing::TestConnection;

struct Figures {
  std::string what;
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  int errors = 0;
  // CPU time (user + system) of this process and of wrk per request: what a request costs the machine (a
  // diagnostic next to the rates; on a busy machine extra context switches inflate it too).
  double cpu_us_per_request = 0;
};

// CPU seconds used so far by this process (all threads) and by its waited-for children (wrk).
double CpuSeconds() {
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) +
         seconds(children.ru_stime);
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

void Print(const Figures& f) {
  std::printf("  %-44s %9.0f req/s   p50 %7.3f ms   p99 %7.3f ms   max %7.3f ms   cpu %5.0f us/req%s\n",
              f.what.c_str(), f.rps, f.p50_ms, f.p99_ms, f.max_ms, f.cpu_us_per_request,
              f.errors > 0 ? absl::StrCat("   ERRORS ", f.errors).c_str() : "");
  std::fflush(stdout);
}

// One gRPC call of the kind measured.
using GrpcCall = std::function<bool(marketlens::analyzer::v1::AnalyzerService::Stub*,
                                    marketlens::recommender::v1::RecommenderService::Stub*)>;

GrpcCall ProductsCall() {
  return [](auto* analyzer, auto*) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    marketlens::analyzer::v1::ListProductInsightsRequest req;
    req.set_page_size(20);
    marketlens::analyzer::v1::ListProductInsightsResponse resp;
    return analyzer->ListProductInsights(&ctx, req, &resp).ok();
  };
}

GrpcCall RecommendCall() {
  return [](auto*, auto* recommender) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    marketlens::recommender::v1::RecommendRequest req;
    req.set_user_id("u1");
    req.set_n(10);
    marketlens::recommender::v1::RecommendResponse resp;
    return recommender->Recommend(&ctx, req, &resp).ok();
  };
}

// Closed loop (threads > 0, rate = 0) or open loop at `rate` spread over `threads`.
Figures MeasureGrpc(const std::string& what, const std::string& analyzer, const std::string& recommender,
                    const GrpcCall& call, int threads, int rate, absl::Duration length) {
  std::vector<std::vector<double>> lat(threads);
  std::atomic<int> errors{0};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now() + absl::Milliseconds(200);
  const absl::Time end = start + length;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto a_channel = marketlens::server::MakeChannel(analyzer);
      auto r_channel = marketlens::server::MakeChannel(recommender);
      auto a = marketlens::analyzer::v1::AnalyzerService::NewStub(a_channel);
      auto r = marketlens::recommender::v1::RecommenderService::NewStub(r_channel);
      call(a.get(), r.get());  // connect
      absl::SleepFor(start - absl::Now());
      const absl::Duration interval = rate > 0 ? absl::Seconds(1) * threads / rate : absl::ZeroDuration();
      absl::Time next = start + (rate > 0 ? interval * t / threads : absl::ZeroDuration());
      while (true) {
        if (rate > 0) {
          if (next >= end) break;
          absl::SleepFor(next - absl::Now());
        } else if (absl::Now() >= end) {
          break;
        }
        const absl::Time sent = rate > 0 ? next : absl::Now();
        if (!call(a.get(), r.get())) errors.fetch_add(1);
        lat[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        done.fetch_add(1);
        next += interval;
      }
    });
  }
  absl::SleepFor(start - absl::Now());
  const double cpu_start = CpuSeconds();
  absl::SleepFor(end - absl::Now());
  const double cpu = CpuSeconds() - cpu_start;
  const int64_t requests = done.load();
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  Figures f;
  f.what = what;
  f.rps = done.load() / absl::ToDoubleSeconds(length);
  f.cpu_us_per_request = requests > 0 ? cpu * 1e6 / requests : 0;
  f.p50_ms = Percentile(all, 0.50);
  f.p99_ms = Percentile(all, 0.99);
  f.max_ms = all.empty() ? 0 : all.back();
  f.errors = errors.load();
  return f;
}

Figures MeasureHttpOpenLoop(const std::string& what, int port, const std::string& target,
                            const std::string& key, int threads, int rate, absl::Duration length) {
  std::vector<std::vector<double>> lat(threads);
  std::atomic<int> errors{0};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now() + absl::Milliseconds(200);
  const absl::Time end = start + length;
  const std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + key}};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto c = TestConnection::Connect(port);
      if (!c.ok()) {
        errors.fetch_add(1);
        return;
      }
      absl::SleepFor(start - absl::Now());
      const absl::Duration interval = absl::Seconds(1) * threads / rate;
      for (absl::Time next = start + interval * t / threads; next < end; next += interval) {
        absl::SleepFor(next - absl::Now());
        bool ok = c->SendRequest("GET", target, headers).ok();
        auto r =
            ok ? c->ReadResponse(absl::Seconds(5))
               : absl::StatusOr<marketlens::gateway::testing::TestResponse>(absl::UnavailableError("send"));
        if (!r.ok() || r->status != 200) errors.fetch_add(1);
        lat[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - next));
        done.fetch_add(1);
      }
    });
  }
  absl::SleepFor(start - absl::Now());
  const double cpu_start = CpuSeconds();
  absl::SleepFor(end - absl::Now());
  const double cpu = CpuSeconds() - cpu_start;
  const int64_t requests = done.load();
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  Figures f;
  f.what = what;
  f.rps = done.load() / absl::ToDoubleSeconds(length);
  f.cpu_us_per_request = requests > 0 ? cpu * 1e6 / requests : 0;
  f.p50_ms = Percentile(all, 0.50);
  f.p99_ms = Percentile(all, 0.99);
  f.max_ms = all.empty() ? 0 : all.back();
  f.errors = errors.load();
  return f;
}

// wrk at saturation; parses "Requests/sec" and the --latency percentiles.
Figures MeasureWrk(const std::string& what, int port, const std::string& target, const std::string& key,
                   int connections, absl::Duration length) {
  Figures f;
  f.what = what;
  const std::string cmd = absl::StrCat(absl::GetFlag(FLAGS_wrk), " -t2 -c", connections, " -d",
                                       absl::ToInt64Seconds(length), "s --latency -H 'Authorization: Bearer ",
                                       key, "' 'http://127.0.0.1:", port, target, "' 2>&1");
  const double cpu_start = CpuSeconds();
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    f.errors = 1;
    return f;
  }
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  const int status = pclose(p);
  const double cpu = CpuSeconds() - cpu_start;
  if (status != 0) {
    std::fprintf(stderr, "wrk failed (install it: apt-get install wrk):\n%s\n", out.c_str());
    f.errors = 1;
    return f;
  }
  auto ms = [](const std::string& value, const std::string& unit) {
    const double v = std::stod(value);
    return unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v;
  };
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) f.rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(([0-9]+) requests in)")) && std::stod(m[1]) > 0) {
    f.cpu_us_per_request = cpu * 1e6 / std::stod(m[1]);
  }
  if (std::regex_search(out, m, std::regex(R"(50%\s+([0-9.]+)(us|ms|s))"))) f.p50_ms = ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))"))) f.p99_ms = ms(m[1], m[2]);
  if (std::regex_search(out, m, std::regex(R"(Latency\s+\S+\s+\S+\s+([0-9.]+)(us|ms|s))"))) {
    f.max_ms = ms(m[1], m[2]);
  }
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))")))
    f.errors = std::stoi(m[1]);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as main.cc does
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration length = absl::Seconds(absl::GetFlag(FLAGS_seconds));

  auto pg = marketlens::testing::PostgresServer::StartOrDie();
  auto pool = marketlens::postgres::PgPool::Create({.dsn = pg->dsn(), .max_size = 4});
  if (!pool.ok() ||
      !marketlens::migrate::ApplyMigrationsFromDir(**pool, absl::GetFlag(FLAGS_migrations)).ok()) {
    std::fprintf(stderr, "cannot prepare Postgres\n");
    return 1;
  }
  auto redis_server = marketlens::testing::RedisServer::Create();
  if (!redis_server.ok()) {
    std::fprintf(stderr, "cannot start Redis: %s\n", redis_server.status().ToString().c_str());
    return 1;
  }
  marketlens::redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  marketlens::redis::RedisClient redis(ro);
  auto backends = marketlens::gateway::testing::FakeBackends::Start();

  auto options = [&](bool cache) {
    GatewayStackOptions o;
    o.http.host = "127.0.0.1";
    o.http.port = 0;
    o.http.threads = absl::GetFlag(FLAGS_http_threads);
    o.gateway.access_log = false;  // as in a production setup that samples access logs; see the report
    o.gateway.rate_limit_per_second = 1e6;
    if (cache) {
      for (const auto& m : GatewayStack::DefaultCachedMethods()) o.gateway.cached_methods.insert(m);
    }
    o.backends = {{"marketlens.analyzer.v1.AnalyzerService", backends->analyzer_address()},
                  {"marketlens.recommender.v1.RecommenderService", backends->recommender_address()},
                  {"marketlens.collector.v1.CollectorService", backends->collector_address()}};
    return o;
  };
  auto direct = GatewayStack::Start(options(false), pool->get(), nullptr);
  auto cached = GatewayStack::Start(options(true), pool->get(), &redis);
  if (!direct.ok() || !cached.ok()) {
    std::fprintf(stderr, "cannot start the gateway\n");
    return 1;
  }
  auto key = (*direct)->api_keys()->Create("bench", {marketlens::gateway::Scope::kRead}, 0);
  if (!key.ok()) return 1;
  const int port = (*direct)->http_port();
  const std::string products = "/api/v1/products?page_size=20";
  const std::string recs = "/api/v1/recommendations?user_id=u1&n=10";

  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  std::printf(
      "gateway benchmark: %u cores, %d s per measurement, %d connections at saturation (%d turns each), "
      "%d HTTP threads\n",
      std::thread::hardware_concurrency(), absl::GetFlag(FLAGS_seconds), connections, rounds,
      absl::GetFlag(FLAGS_http_threads));
  std::printf("(fake backends in-process doing almost nothing: the gaps are the gateway's own cost)\n\n");

  struct Pair {
    std::string name, id, target;
    GrpcCall call;
  };
  const std::vector<Pair> pairs = {{"GET /api/v1/products", "products", products, ProductsCall()},
                                   {"GET /api/v1/recommendations", "recommendations", recs, RecommendCall()}};
  bool targets_met = true;
  int errors = 0;
  std::vector<std::string> figures;
  const std::string only = absl::GetFlag(FLAGS_only);
  for (const Pair& p : pairs) {
    if (!only.empty() && p.id != only) continue;
    std::printf("%s\n", p.name.c_str());
    // Alternating turns: gRPC, HTTP, then HTTP, gRPC, ...
    double g_sum = 0, h_sum = 0, g_cpu = 0, h_cpu = 0;
    auto grpc_turn = [&] {
      Figures g = MeasureGrpc(absl::StrCat("gRPC direct, saturation (", connections, " threads)"),
                              backends->analyzer_address(), backends->recommender_address(), p.call,
                              connections, 0, length);
      Print(g);
      g_sum += g.rps;
      g_cpu += g.cpu_us_per_request;
      errors += g.errors;
    };
    auto http_turn = [&] {
      Figures h = MeasureWrk(absl::StrCat("HTTP via gateway, wrk saturation (c=", connections, ")"), port,
                             p.target, key->secret, connections, length);
      Print(h);
      h_sum += h.rps;
      h_cpu += h.cpu_us_per_request;
      errors += h.errors;
    };
    for (int r = 0; r < rounds; ++r) {
      if (r % 2 == 0) {
        grpc_turn();
        http_turn();
      } else {
        http_turn();
        grpc_turn();
      }
    }
    const double g_rps = g_sum / rounds, h_rps = h_sum / rounds;
    const double overhead = g_rps > 0 && h_rps > 0 ? 1.0 - h_rps / g_rps : 1.0;
    Figures g_rate =
        MeasureGrpc(absl::StrCat("gRPC direct at ", rate, " req/s"), backends->analyzer_address(),
                    backends->recommender_address(), p.call, 8, rate, length);
    Print(g_rate);
    Figures h_rate = MeasureHttpOpenLoop(absl::StrCat("HTTP via gateway at ", rate, " req/s"), port, p.target,
                                         key->secret, 8, rate, length);
    Print(h_rate);
    errors += g_rate.errors + h_rate.errors;
    std::printf(
        "  -> throughput overhead %.0f%% (1 - HTTP/gRPC req/s at saturation, means of %d turns: %.0f / %.0f; "
        "target < 30%%)\n",
        overhead * 100, rounds, h_rps, g_rps);
    std::printf(
        "  -> CPU per request at saturation (this process + wrk): HTTP %.0f us, gRPC %.0f us (%.2fx)\n",
        h_cpu / rounds, g_cpu / rounds, g_cpu > 0 ? h_cpu / g_cpu : 0.0);
    std::printf("  -> added latency at %d req/s: p50 +%.3f ms, p99 +%.3f ms\n\n", rate,
                h_rate.p50_ms - g_rate.p50_ms, h_rate.p99_ms - g_rate.p99_ms);
    if (p.target == products && rate == 500 && h_rate.p99_ms >= 20) targets_met = false;
    if (overhead >= 0.30) targets_met = false;
    // Headline figures (bench/run.sh checks each target against the value; the ratio column is context).
    figures.push_back(absl::StrFormat(
        "figure: name=gateway_%s_p99_at_%drps value=%.2f unit=ms target=%s baseline=grpc_direct_%s_p99 "
        "baseline_value=%.2f",
        p.id, rate, h_rate.p99_ms, p.target == products && rate == 500 ? "<20" : "-", p.id, g_rate.p99_ms));
    figures.push_back(absl::StrFormat(
        "figure: name=gateway_%s_http_req_per_s value=%.0f unit=req/s target=- baseline=grpc_direct_%s "
        "baseline_value=%.0f",
        p.id, h_rps, p.id, g_rps));
    figures.push_back(absl::StrFormat(
        "figure: name=gateway_%s_http_over_grpc_req_per_s value=%.3f unit=x target=>0.7 baseline=- "
        "baseline_value=-",
        p.id, g_rps > 0 ? h_rps / g_rps : 0.0));
  }
  if (only.empty() || only == "cache") {
    std::printf("GET /api/v1/products through the Redis cache (hits)\n");
    Figures cached_sat = MeasureWrk(absl::StrCat("HTTP via gateway + cache, wrk (c=", connections, ")"),
                                    (*cached)->http_port(), products, key->secret, connections, length);
    Print(cached_sat);
    Figures cached_rate = MeasureHttpOpenLoop(absl::StrCat("HTTP via gateway + cache at ", rate, " req/s"),
                                              (*cached)->http_port(), products, key->secret, 8, rate, length);
    Print(cached_rate);
    errors += cached_sat.errors + cached_rate.errors;
  }
  std::printf("\ntargets (HTTP overhead < 30%%, products p99 < 20 ms at %d req/s): %s\n", rate,
              targets_met ? "met" : "NOT met");
  for (const std::string& f : figures) std::printf("%s\n", f.c_str());
  std::fflush(stdout);
  // A failed call is a broken gateway, not a slow one: the run fails.
  if (errors > 0) {
    std::fprintf(stderr, "gateway_bench: %d failed requests\n", errors);
    return 1;
  }
  return 0;
}
