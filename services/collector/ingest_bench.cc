// Batch ingest throughput (docs/budgets.md: >= 200k rows/s including COPY): a generated campaign-posts
// file of --rows rows (messy on purpose: mixed date formats, counts like "1,234" and "1.2K", quoted fields,
// --bad_fraction bad rows) goes through IngestCsv into a throwaway PostgreSQL (or --dsn), twice (first load,
// then the idempotent re-ingest). The baseline, in the same run, is plain `psql \copy` of the same rows
// already clean (what our parser produced) into a table of the same shape, indexes included. Then three
// files of --malformed_rows rows with malformed lines (docs/budgets.md: 10k of them in well under 1 s).
//
//   bazel run -c opt //services/collector:ingest_bench -- --rows=1000000 (bench/collector_ingest_bench.sh)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"
#include "services/collector/ingest.h"

ABSL_FLAG(int, rows, 1000000, "rows in the generated file");
ABSL_FLAG(double, bad_fraction, 0.01, "share of bad rows");
ABSL_FLAG(std::string, dsn, "", "ingest into this database (migrated); empty: a throwaway PostgreSQL");
ABSL_FLAG(std::string, migrations, "deploy/migrations", "migrations directory (for the throwaway database)");
ABSL_FLAG(bool, parse_only, false, "only time parsing and validation (no database), for profiling");
ABSL_FLAG(std::string, psql, "/usr/bin/psql", "psql for the \\copy baseline");
ABSL_FLAG(int, malformed_rows, 10000, "rows in each small file with malformed lines (0: skip that part)");

namespace {

using namespace marketlens;  // NOLINT: benchmark main

int Run() {
  logging::SetMinLevel(logging::Level::kWarning);
  std::unique_ptr<testing::PostgresServer> server;
  std::string dsn = absl::GetFlag(FLAGS_dsn);
  if (dsn.empty()) {
    testing::PostgresServer::Options o;
    o.extra_config = {"shared_buffers = 256MB", "max_wal_size = 4GB", "checkpoint_timeout = 30min"};
    server = testing::PostgresServer::StartOrDie(o);
    dsn = server->dsn();
  }
  auto pool = postgres::PgPool::Create({.dsn = dsn, .max_size = 2, .statement_timeout = absl::Minutes(10)});
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
    return 1;
  }
  if (server != nullptr) {
    auto applied = migrate::ApplyMigrationsFromDir(**pool, absl::GetFlag(FLAGS_migrations));
    if (!applied.ok()) {
      std::fprintf(stderr, "migrations: %s\n", applied.status().ToString().c_str());
      return 1;
    }
  }

  logging::SetMinLevel(logging::Level::kInfo);  // shows the "ingest phases" lines (which path, how long)

  // The messy file and the clean one (the baseline's input).
  const int rows = absl::GetFlag(FLAGS_rows);
  const int bad_every =
      absl::GetFlag(FLAGS_bad_fraction) > 0 ? static_cast<int>(1 / absl::GetFlag(FLAGS_bad_fraction)) : 0;
  const std::string dir = server != nullptr ? server->dir() : "/tmp";
  const std::string messy_path = dir + "/bench_posts.csv";
  const std::string clean_path = dir + "/bench_posts_clean.tsv";
  int64_t good = 0;
  {
    std::ofstream messy(messy_path), clean(clean_path);
    messy << "\xEF\xBB\xBFPost ID,Campaign ID,Influencer,Platform,Caption,Views,Likes,Comments,Shares,Date "
             "Posted\r\n";
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::string line;
    for (int i = 0; i < rows; ++i) {
      const int month = 1 + i % 12, day = 1 + i % 28;
      const int64_t views = 1000 + (i * 7919LL) % 1000000, likes = (i * 31) % 5000, comments = i % 300,
                    shares = i % 97;
      line.clear();
      if (bad_every > 0 && i % bad_every == bad_every - 1) {
        absl::StrAppend(&line, "bad", i, ",C", i % 500, ",@inf", i % 20000,
                        ",instagram,x,lots,1,1,1,2024-02-30\r\n");
        messy << line;
        continue;
      }
      std::string date;
      switch (i % 3) {
        case 0:
          date = absl::StrFormat("2024-%02d-%02d", month, day);
          break;
        case 1:
          date = absl::StrFormat("%d %s 2024", day, kMonths[month - 1]);
          break;
        default:
          date = absl::StrFormat("%s %d, 2024 10:%02d AM", kMonths[month - 1], day, i % 60);
          break;
      }
      const std::string views_text =
          i % 5 == 0 ? absl::StrFormat("\"%d,%03d\"", views / 1000, views % 1000) : absl::StrCat(views);
      absl::StrAppend(&line, "p", i, ",C", i % 500, ",@inf", i % 20000, ",", i % 2 ? "Instagram" : "TikTok",
                      ",\"Look at this, it's great\",", views_text, ",", likes, ",", comments, ",", shares,
                      ",\"", date, "\"\r\n");
      messy << line;
      const std::string ts = i % 3 == 2 ? absl::StrFormat("2024-%02d-%02d 10:%02d:00+00", month, day, i % 60)
                                        : absl::StrFormat("2024-%02d-%02d 00:00:00+00", month, day);
      clean << "p" << i << "\tC" << i % 500 << "\t@inf" << i % 20000 << "\t"
            << (i % 2 ? "instagram" : "tiktok") << "\t\t" << views << "\t" << likes << "\t" << comments
            << "\t" << shares << "\t" << ts << "\tLook at this, it's great\t{}\n";
      ++good;
    }
  }
  std::ifstream sizer(messy_path, std::ios::ate | std::ios::binary);
  const double mb = static_cast<double>(sizer.tellg()) / (1 << 20);

  const collector::KindSpec* spec = collector::FindKind("campaign_posts");
  if (absl::GetFlag(FLAGS_parse_only)) {
    const absl::Time start = absl::Now();
    const std::clock_t cpu_start = std::clock();
    collector::ChunkSource source = collector::FileChunkSource(messy_path);
    collector::CsvReader reader;
    std::optional<collector::RowValidator> validator;
    collector::RowValues values;
    std::string chunk;
    int64_t ok = 0, bad = 0;
    collector::CsvRecord record;
    for (;;) {
      auto next = reader.Next(&record);
      if (next == collector::CsvReader::Result::kEnd) break;
      if (next == collector::CsvReader::Result::kNeedMore) {
        auto more = source(&chunk);
        if (!more.ok() || !*more) {
          reader.Finish();
        } else {
          reader.Feed(chunk);
        }
        continue;
      }
      if (!validator) {
        validator.emplace(*collector::RowValidator::Create(spec, record.fields));
        continue;
      }
      if (validator->Validate(record.fields, &values)) {
        ++bad;
      } else {
        ++ok;
      }
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::printf(
        "parse+validate only: %lld ok, %lld bad in %.2f s (%.2f s CPU) = %.0f rows/s (%.0f per CPU second)\n",
        static_cast<long long>(ok), static_cast<long long>(bad), seconds, cpu, (ok + bad) / seconds,
        (ok + bad) / cpu);
    return 0;
  }
  auto run = [&](const char* what) -> double {
    auto result =
        collector::IngestCsv(**pool, *spec, "bench_posts.csv", collector::FileChunkSource(messy_path));
    if (!result.ok()) {
      std::fprintf(stderr, "ingest failed: %s\n", result.status().ToString().c_str());
      std::exit(1);
    }
    const double seconds = absl::ToDoubleSeconds(result->elapsed);
    std::printf("collector IngestCsv (%s): %s in %.2f s = %.0f rows/s (%.1f MB/s)\n", what,
                result->Summary().c_str(), seconds, result->rows / seconds, mb / seconds);
    return result->rows / seconds;
  };
  // Baseline: psql \copy of the clean rows into a table of the same shape (indexes included), and, for
  // reference, into one without indexes. Run before and after ours (the machine's load drifts); the mean is
  // the baseline.
  auto psql_copy = [&](const std::string& table, const char* like) -> double {
    auto drop = (*pool)->Exec(absl::StrCat("DROP TABLE IF EXISTS ", table));
    auto create =
        (*pool)->Exec(absl::StrCat("CREATE TABLE ", table, " (LIKE raw.campaign_posts ", like, ")"));
    if (!drop.ok() || !create.ok()) {
      std::fprintf(stderr, "cannot create %s\n", table.c_str());
      std::exit(1);
    }
    const std::string command =
        absl::StrCat(absl::GetFlag(FLAGS_psql), " -X -q -v ON_ERROR_STOP=1 '", dsn, "' -c \"\\copy ", table,
                     " (id, campaign_id, influencer, platform, product_id, views, likes, comments, shares, "
                     "posted_at, caption, hashtags) FROM '",
                     clean_path, "'\"");
    const absl::Time start = absl::Now();
    const int rc = std::system(command.c_str());
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (rc != 0) {
      std::fprintf(stderr, "psql \\copy failed (%d): %s\n", rc, command.c_str());
      std::exit(1);
    }
    return seconds;
  };
  const double before =
      psql_copy("public.bench_plain_posts", "INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS");
  const double first = run("first load");
  const double again = run("re-ingest, no change");
  const double after =
      psql_copy("public.bench_plain_posts", "INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS");
  const double no_index = psql_copy("public.bench_noindex_posts", "INCLUDING DEFAULTS");
  const double baseline = good / ((before + after) / 2);
  std::printf(
      "baseline psql \\copy of the %lld clean rows into a table of the same shape: %.2f s before, %.2f s "
      "after ours = %.0f rows/s; into a table without indexes: %.2f s = %.0f rows/s\n",
      static_cast<long long>(good), before, after, baseline, no_index, good / no_index);
  std::printf(
      "ingest_rows_per_second=%.0f (target >= 200000: %s) re_ingest_rows_per_second=%.0f "
      "vs_psql_copy=%.2f\n",
      first, first >= 200000 ? "met" : "NOT met", again, first / baseline);
  // Headline figure for bench/run.sh's table: the target (docs/budgets.md: >= 200k rows/s including COPY) is
  // absolute and checked against the value; the psql \copy baseline of the same run gives the ratio column.
  std::printf(
      "figure: name=collector_ingest_rows_per_s value=%.0f unit=rows/s target=>=200000 baseline=psql_copy "
      "baseline_value=%.0f\n",
      first, baseline);

  // docs/budgets.md: "10k rows with malformed lines in well under 1 s". Three files of 10k new rows (into the
  // table the big load filled), each with a bad value every 50th row, an unclosed quote every 97th and a
  // short row every 89th; the whole IngestCsv call is timed, the median of the three counts.
  const int small_rows = absl::GetFlag(FLAGS_malformed_rows);
  std::vector<double> small_ms;
  for (int f = 0; f < 3 && small_rows > 0; ++f) {
    const std::string path = absl::StrCat(dir, "/bench_malformed_", f, ".csv");
    int64_t bad = 0;
    {
      std::ofstream out(path);
      out << "id,campaign_id,influencer,platform,views,likes,comments,shares,posted_at\n";
      std::string line;
      for (int i = 0; i < small_rows; ++i) {
        line.clear();
        if (i % 50 == 7) {
          absl::StrAppend(&line, "m", f, "b", i, ",C", i % 10, ",inf", i, ",ig,lots,1,1,1,2024-01-15\n");
          ++bad;
        } else if (i % 97 == 3) {
          absl::StrAppend(&line, "m", f, "q", i, ",C", i % 10, ",\"inf", i, ",ig,1,1,1,1,2024-01-15\n");
          ++bad;
        } else if (i % 89 == 5) {
          absl::StrAppend(&line, "m", f, "s", i, ",C", i % 10, "\n");
          ++bad;
        } else {
          absl::StrAppend(&line, "m", f, "g", i, ",C", i % 10, ",inf", i, ",ig,", 100 + i, ",", i % 7,
                          ",1,1,2024-01-", 10 + i % 18, "\n");
        }
        out << line;
      }
    }
    const absl::Time start = absl::Now();
    auto result = collector::IngestCsv(**pool, *spec, absl::StrCat("bench_malformed_", f, ".csv"),
                                       collector::FileChunkSource(path));
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    std::remove(path.c_str());
    if (!result.ok()) {
      std::fprintf(stderr, "malformed-lines ingest failed: %s\n", result.status().ToString().c_str());
      return 1;
    }
    std::printf("collector IngestCsv (%d rows, %lld malformed): %s in %.1f ms\n", small_rows,
                static_cast<long long>(bad), result->Summary().c_str(), ms);
    if (result->rows != small_rows || result->rejected != bad) {
      std::fprintf(stderr, "malformed-lines ingest: expected %d rows, %lld rejected\n", small_rows,
                   static_cast<long long>(bad));
      return 1;
    }
    small_ms.push_back(ms);
  }
  if (!small_ms.empty()) {
    std::sort(small_ms.begin(), small_ms.end());
    // "Well under 1 s": half of it.
    std::printf(
        "figure: name=collector_ingest_malformed_%drows_ms value=%.1f unit=ms target=<500 baseline=- "
        "baseline_value=-\n",
        small_rows, small_ms[small_ms.size() / 2]);
  }
  std::remove(messy_path.c_str());
  std::remove(clean_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
