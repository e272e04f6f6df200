// Analyzer benchmark (bench/analyzer_bench.sh):
//  1. Local engine throughput, one thread: reviews/s for the whole analysis (rules + weak-label model +
//     aspects + issues + flags) and for rules alone, next to the tokenizer alone as the baseline, on the
//     generated marketplace's reviews (seed 7). Target >= 20,000 reviews/s per core.
//  2. Catch-up throughput into a throwaway PostgreSQL (analyse + upsert + per-product recompute).
//  3. End-to-end lag from a review announced on the Redis stream to its product's insights being updated,
//     with the real pipeline polling the stream: p50 / p95 / max over --lag_reviews sequential reviews.
//  Also the retrieval index (rag/corpus_index.h) at --index_docs documents (the generated reviews repeated
//  under new ids): build rate, memory per document, and a product-scoped search's latency.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/redis/client.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/redis_fixture.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/model_gate.h"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/pipeline.h"
#include "services/analyzer/rag/corpus_index.h"
#include "services/marketplace/generator.h"

ABSL_FLAG(int, products, 300, "generated products (reviews scale with it)");
ABSL_FLAG(double, seconds, 3, "seconds per throughput measurement");
ABSL_FLAG(std::string, migrations, "deploy/migrations", "migrations directory");
ABSL_FLAG(int, lag_reviews, 50, "reviews announced one at a time for the lag measurement");
ABSL_FLAG(bool, engine_only, false, "skip the Postgres/Redis parts");
ABSL_FLAG(int, index_docs, 200000, "documents in the retrieval index measurement (0: skip it)");

namespace {

using namespace marketlens;  // NOLINT: benchmark main

template <typename Fn>
double Rate(const std::vector<analyzer::ReviewInput>& inputs, double seconds, Fn fn) {
  size_t n = 0;
  const absl::Time start = absl::Now();
  const absl::Time until = start + absl::Seconds(seconds);
  while (absl::Now() < until) {
    for (const auto& in : inputs) fn(in);
    n += inputs.size();
  }
  return n / absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  logging::SetMinLevel(logging::Level::kWarning);
  marketplace::GeneratorOptions go;
  go.seed = 7;
  go.products = absl::GetFlag(FLAGS_products);
  auto world = marketplace::Generate(go);
  if (!world.ok()) {
    std::fprintf(stderr, "generate: %s\n", world.status().ToString().c_str());
    return 1;
  }
  const auto& data = world->data;
  absl::flat_hash_map<std::string, std::string> category;
  for (const auto& p : data.products) category[p.id()] = p.category();
  std::vector<analyzer::ReviewInput> inputs;
  std::vector<analyzer::RatedText> rated;
  size_t bytes = 0;
  for (const auto& r : data.reviews) {
    inputs.push_back(
        {.title = r.title(), .text = r.text(), .category = category[r.product_id()], .rating = r.rating()});
    rated.push_back({r.title() + ".\n" + r.text(), r.rating()});
    bytes += r.title().size() + r.text().size();
  }
  auto engine = analyzer::Engine::Create();
  auto rules = analyzer::Engine::Create();
  if (!engine.ok() || !rules.ok()) return 1;
  const absl::Time t0 = absl::Now();
  // Trained as the service trains it (gated, with the lexicon stacked in).
  auto model = analyzer::TrainGatedModel(**engine, rated);
  if (!model.ok() || !model->info().gate.passed) return 1;
  const double train_s = absl::ToDoubleSeconds(absl::Now() - t0);
  (*engine)->SetModel(std::make_shared<analyzer::TextModel>(*std::move(model)));
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("engine: %zu generated reviews (%.0f bytes on average), model trained in %.2f s\n",
              inputs.size(), static_cast<double>(bytes) / inputs.size(), train_s);
  analyzer::TokenizedText tt;
  const auto topts = (*engine)->tokenizer_options();
  const double tok = Rate(inputs, seconds,
                          [&](const analyzer::ReviewInput& in) { analyzer::Tokenize(in.text, topts, &tt); });
  const double rule_rate =
      Rate(inputs, seconds, [&](const analyzer::ReviewInput& in) { (*rules)->Analyze(in); });
  const double full = Rate(inputs, seconds, [&](const analyzer::ReviewInput& in) { (*engine)->Analyze(in); });
  std::printf("  baseline tokenizer only       %10.0f reviews/s\n", tok);
  std::printf("  rules + aspects + issues      %10.0f reviews/s\n", rule_rate);
  std::printf("  full local engine (+ model)   %10.0f reviews/s per core  (target >= 20000: %s)\n", full,
              full >= 20000 ? "met" : "NOT met");
  // Headline figures for bench/run.sh's table.
  std::printf(
      "figure: name=analyzer_engine_reviews_per_s_per_core value=%.0f unit=reviews/s target=>=20000 "
      "baseline=tokenizer_only baseline_value=%.0f\n",
      full, tok);

  // ---- Retrieval index -------------------------------------------------------------------------------
  if (const int target = absl::GetFlag(FLAGS_index_docs); target > 0) {
    std::vector<analyzer::rag::CorpusDoc> docs;
    docs.reserve(target);
    for (int i = 0; static_cast<int>(docs.size()) < target; ++i) {
      const auto& r = data.reviews[i % data.reviews.size()];
      const int copy = i / static_cast<int>(data.reviews.size());
      docs.push_back({analyzer::rag::Source::kReview, absl::StrCat(r.id(), "-", copy),
                      absl::StrCat(r.product_id(), "-", copy % 5), r.customer_id(), r.rating(), 1, i,
                      absl::StrCat(r.title(), ". ", r.text())});
    }
    analyzer::rag::CorpusIndex index({.max_docs = static_cast<size_t>(target)});
    const absl::Time b0 = absl::Now();
    for (size_t start = 0; start < docs.size(); start += 5000) {
      index.UpsertBatch(std::vector<analyzer::rag::CorpusDoc>(
          docs.begin() + start, docs.begin() + std::min(docs.size(), start + 5000)));
    }
    const double build_s = absl::ToDoubleSeconds(absl::Now() - b0);
    const analyzer::rag::CorpusStats st = index.stats();
    // Product-scoped searches as GenerateBrief asks them.
    const std::vector<std::string> queries = {"battery charge charging", "sound bass audio",
                                              "value price money", "comfort softness",
                                              "delivery shipping arrival"};
    std::vector<double> micros;
    size_t hits = 0;
    for (int i = 0; i < 2000; ++i) {
      const auto& r = data.reviews[(i * 7919) % data.reviews.size()];
      const absl::Time q0 = absl::Now();
      hits += index
                  .Search(queries[i % queries.size()],
                          {.source = analyzer::rag::Source::kReview,
                           .product_id = absl::StrCat(r.product_id(), "-", i % 5),
                           .min_rating = 4},
                          3)
                  .size();
      micros.push_back(absl::ToDoubleMicroseconds(absl::Now() - q0));
    }
    std::sort(micros.begin(), micros.end());
    std::printf(
        "retrieval index: %zu documents built in %.2f s (%.0f docs/s), %zu terms, %zu postings, ~%.0f bytes "
        "per "
        "document (~%.0f MB); product-scoped search p50 %.0f us, p99 %.0f us (%zu hits)\n",
        st.documents, build_s, st.documents / build_s, st.terms, st.postings,
        static_cast<double>(st.approx_bytes) / st.documents, st.approx_bytes / 1048576.0,
        micros[micros.size() / 2], micros[micros.size() * 99 / 100], hits);
    std::printf(
        "figure: name=analyzer_retrieval_search_p99 value=%.0f unit=us target=- baseline=- "
        "baseline_value=-\n",
        micros[micros.size() * 99 / 100]);
  }
  if (absl::GetFlag(FLAGS_engine_only)) return 0;

  // ---- Postgres + Redis
  // -------------------------------------------------------------------------------------
  auto pg = testing::PostgresServer::StartOrDie();
  auto redis_server = testing::RedisServer::Create();
  if (!redis_server.ok()) {
    std::fprintf(stderr, "redis: %s\n", redis_server.status().ToString().c_str());
    return 1;
  }
  auto pool = postgres::PgPool::Create({.dsn = pg->dsn(), .max_size = 4});
  if (!pool.ok() || !migrate::ApplyMigrationsFromDir(**pool, absl::GetFlag(FLAGS_migrations)).ok()) {
    std::fprintf(stderr, "database setup failed (run from the repository root or pass --migrations)\n");
    return 1;
  }
  {
    std::vector<std::string> ids, titles, brands, cats;
    for (const auto& p : data.products) {
      ids.push_back(p.id());
      titles.push_back(p.title());
      brands.push_back(p.brand());
      cats.push_back(p.category());
    }
    auto r = (*pool)->Exec(
        "INSERT INTO raw.products (id, title, brand, category, price_cents, updated_at)"
        " SELECT i, t, b, c, 1000, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(i, "
        "t, b, c)",
        analyzer::PgTextArray(ids), analyzer::PgTextArray(titles), analyzer::PgTextArray(brands),
        analyzer::PgTextArray(cats));
    if (!r.ok()) return 1;
    const size_t batch = 2000;
    for (size_t start = 0; start < data.reviews.size(); start += batch) {
      std::vector<std::string> rid, pid, rating, title, text, at;
      for (size_t i = start; i < std::min(data.reviews.size(), start + batch); ++i) {
        const auto& rv = data.reviews[i];
        rid.push_back(rv.id());
        pid.push_back(rv.product_id());
        rating.push_back(absl::StrCat(rv.rating()));
        title.push_back(rv.title());
        text.push_back(rv.text());
        at.push_back(absl::StrCat(rv.created_at().seconds()));
      }
      auto w = (*pool)->Exec(
          "INSERT INTO raw.reviews (id, product_id, rating, title, text, created_at, updated_at)"
          " SELECT i, p, r, t, x, to_timestamp(a), to_timestamp(a)"
          " FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::float8[]) AS u(i, p, "
          "r, t, x, a)",
          analyzer::PgTextArray(rid), analyzer::PgTextArray(pid), analyzer::PgTextArray(rating),
          analyzer::PgTextArray(title), analyzer::PgTextArray(text), analyzer::PgTextArray(at));
      if (!w.ok()) {
        std::fprintf(stderr, "insert: %s\n", w.status().ToString().c_str());
        return 1;
      }
    }
  }
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  redis::RedisClient redis(ro);
  analyzer::InsightsStore store(pool->get());
  analyzer::PipelineOptions po;
  po.stream_block = absl::Milliseconds(100);
  po.catchup_interval = absl::Hours(1);
  analyzer::Pipeline pipeline(&store, engine->get(), &redis, po);
  absl::Time t1 = absl::Now();
  if (!pipeline.Init().ok()) return 1;
  const double init_s = absl::ToDoubleSeconds(absl::Now() - t1);
  t1 = absl::Now();
  auto caught = pipeline.CatchUp();
  if (!caught.ok()) {
    std::fprintf(stderr, "catch-up: %s\n", caught.status().ToString().c_str());
    return 1;
  }
  const double catchup_s = absl::ToDoubleSeconds(absl::Now() - t1);
  std::printf(
      "catch-up into PostgreSQL: pipeline start-up %.2f s; %d reviews, %d products in %.2f s"
      " (%.0f reviews/s incl. upserts and recomputes)\n",
      init_s, caught->reviews, caught->products, catchup_s, caught->reviews / catchup_s);
  std::printf(
      "figure: name=analyzer_catchup_reviews_per_s value=%.0f unit=reviews/s target=- "
      "baseline=engine_alone_one_core baseline_value=%.0f\n",
      caught->reviews / catchup_s, full);

  pipeline.Start();
  std::vector<double> lags;
  const std::string product = data.products[0].id();
  for (int i = 0; i < absl::GetFlag(FLAGS_lag_reviews); ++i) {
    const std::string id = absl::StrCat("bench-", i);
    auto count = [&]() {
      auto r =
          (*pool)->Exec("SELECT review_count FROM insights.product_summary WHERE product_id = $1", product);
      return r.ok() && !r->empty() ? (*r)[0][0].as<int>() : -1;
    };
    const int before = count();
    if (!(*pool)
             ->Exec("INSERT INTO raw.reviews (id, product_id, rating, title, text, created_at, updated_at)"
                    " VALUES ($1, $2, 2, 'Meh', 'It stopped working after a week.', now(), now())",
                    id, product)
             .ok()) {
      return 1;
    }
    const absl::Time sent = absl::Now();
    if (!redis.XAdd(analyzer::kReviewStream, {{"review_id", id}, {"product_id", product}, {"version", "1"}})
             .ok())
      return 1;
    while (count() == before && absl::Now() - sent < absl::Seconds(10)) absl::SleepFor(absl::Milliseconds(1));
    lags.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
  }
  pipeline.Stop();
  std::sort(lags.begin(), lags.end());
  std::printf(
      "end-to-end lag, stream entry -> product insights (%zu reviews): p50 %.1f ms, p95 %.1f ms, max %.1f "
      "ms\n",
      lags.size(), lags[lags.size() / 2], lags[lags.size() * 95 / 100], lags.back());
  // Target: our own (insights follow a new review within a second); no baseline.
  std::printf(
      "figure: name=analyzer_stream_to_insights_lag_p95 value=%.1f unit=ms target=<1000 baseline=- "
      "baseline_value=-\n",
      lags[lags.size() * 95 / 100]);
  return 0;
}
