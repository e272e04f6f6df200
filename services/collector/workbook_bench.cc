// Workbook ingest throughput: a generated 100k-row "External interactions" sheet (openpyxl,
// testdata/make_bench_workbook.py) through the real path (zip + XML streaming, header detection, validation,
// COPY into raw.contacts) into a throwaway PostgreSQL, next to the same rows as CSV through IngestCsv in the
// same run (the baseline: what reading .xlsx costs on top of the ingest itself). Also the .xlsx reading
// alone (no database). Prints figure lines for bench/run.sh.
//
//   bench/collector_workbook_bench.sh [--rows=100000]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/migrate/migrate.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"
#include "services/collector/ingest.h"
#include "services/collector/workbook_ingest.h"
#include "services/collector/xlsx_reader.h"

ABSL_FLAG(int, rows, 100000, "rows in the generated sheet");
ABSL_FLAG(std::string, migrations, "deploy/migrations", "migrations directory");
ABSL_FLAG(std::string, generator, "services/collector/testdata/make_bench_workbook.py", "workbook generator");
ABSL_FLAG(std::string, workdir, "/tmp", "where the generated files go");

namespace {

using namespace marketlens;  // NOLINT: benchmark main

std::unique_ptr<postgres::PgPool> FreshDatabase(testing::PostgresServer& server, const std::string& name) {
  auto dsn = server.CreateDatabase(name);
  if (!dsn.ok()) return nullptr;
  auto pool = postgres::PgPool::Create({.dsn = *dsn, .max_size = 2, .statement_timeout = absl::Minutes(10)});
  if (!pool.ok()) return nullptr;
  if (!migrate::ApplyMigrationsFromDir(**pool, absl::GetFlag(FLAGS_migrations)).ok()) return nullptr;
  return *std::move(pool);
}

int Run() {
  logging::SetMinLevel(logging::Level::kWarning);
  const int rows = absl::GetFlag(FLAGS_rows);
  const std::string base =
      absl::StrCat(absl::GetFlag(FLAGS_workdir), "/marketlens_workbook_bench_", getpid());
  const absl::Time gen_start = absl::Now();
  const std::string command =
      absl::StrCat("/usr/bin/python3 ", absl::GetFlag(FLAGS_generator), " ", base, " ", rows);
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "cannot generate the workbook (%s)\n", command.c_str());
    return 1;
  }
  std::printf("generated %d rows (.xlsx and .csv) in %.1f s\n", rows,
              absl::ToDoubleSeconds(absl::Now() - gen_start));
  const std::string xlsx = base + ".xlsx", csv = base + ".csv";

  // Reading alone.
  absl::Time t0 = absl::Now();
  int64_t cells = 0, read_rows = 0;
  {
    auto wb = collector::XlsxWorkbook::Open(xlsx);
    if (!wb.ok()) {
      std::fprintf(stderr, "%s\n", wb.status().ToString().c_str());
      return 1;
    }
    auto sheet = (*wb)->ReadSheet(0);
    if (!sheet.ok()) return 1;
    int64_t n = 0;
    std::vector<std::string> row;
    for (;;) {
      auto more = (*sheet)->Next(&n, &row);
      if (!more.ok() || !*more) break;
      ++read_rows;
      cells += static_cast<int64_t>(row.size());
    }
  }
  const double read_s = absl::ToDoubleSeconds(absl::Now() - t0);

  testing::PostgresServer::Options o;
  o.extra_config = {"shared_buffers = 256MB", "max_wal_size = 4GB", "checkpoint_timeout = 30min"};
  auto server = testing::PostgresServer::StartOrDie(o);
  auto csv_db = FreshDatabase(*server, "bench_csv");
  auto xlsx_db = FreshDatabase(*server, "bench_xlsx");
  if (csv_db == nullptr || xlsx_db == nullptr) {
    std::fprintf(stderr, "cannot create the databases\n");
    return 1;
  }
  t0 = absl::Now();
  auto csv_result = collector::IngestCsv(*csv_db, *collector::FindKind("contacts"), "bench.csv",
                                         collector::FileChunkSource(csv));
  const double csv_s = absl::ToDoubleSeconds(absl::Now() - t0);
  t0 = absl::Now();
  auto xlsx_result = collector::IngestUploadedFile(*xlsx_db, xlsx, "bench.xlsx", {});
  const double xlsx_s = absl::ToDoubleSeconds(absl::Now() - t0);
  std::remove(xlsx.c_str());
  std::remove(csv.c_str());
  if (!csv_result.ok() || !xlsx_result.ok() || xlsx_result->size() != 1 || !(*xlsx_result)[0].result.ok()) {
    std::fprintf(stderr, "ingest failed: %s / %s\n", csv_result.status().ToString().c_str(),
                 xlsx_result.ok() && !xlsx_result->empty() ? (*xlsx_result)[0].Line().c_str()
                                                           : xlsx_result.status().ToString().c_str());
    return 1;
  }
  const collector::IngestResult& x = *(*xlsx_result)[0].result;
  std::printf("xlsx read only: %lld rows, %lld cells in %.2f s = %.0f rows/s\n",
              static_cast<long long>(read_rows), static_cast<long long>(cells), read_s, read_rows / read_s);
  std::printf("CSV ingest (baseline): %s in %.2f s = %.0f rows/s\n", csv_result->Summary().c_str(), csv_s,
              csv_result->rows / csv_s);
  std::printf("xlsx ingest: %s in %.2f s = %.0f rows/s\n", (*xlsx_result)[0].Line().c_str(), xlsx_s,
              x.rows / xlsx_s);
  // Wrong results fail the benchmark: every row accepted, the same count both ways.
  if (x.accepted != rows || csv_result->accepted != rows) {
    std::fprintf(stderr, "expected %d accepted rows both ways\n", rows);
    return 1;
  }
  std::printf(
      "figure: name=collector_workbook_ingest_rows_per_s value=%.0f unit=rows/s target=- "
      "baseline=csv_ingest_same_rows "
      "baseline_value=%.0f\n",
      x.rows / xlsx_s, csv_result->rows / csv_s);
  std::printf(
      "figure: name=collector_workbook_vs_csv_ingest_ratio value=%.2f unit=ratio target=>=0.5 "
      "baseline=csv_ingest_same_rows "
      "baseline_value=1\n",
      (x.rows / xlsx_s) / (csv_result->rows / csv_s));
  std::printf(
      "figure: name=collector_xlsx_read_rows_per_s value=%.0f unit=rows/s target=- baseline=- "
      "baseline_value=-\n",
      read_rows / read_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return Run();
}
