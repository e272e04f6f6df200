// Workbooks and exports as users have them, written at test time by a real spreadsheet library
// (testdata/make_workbooks.py, openpyxl): the .xlsx reader cell by cell, brief 002's workbook and brief 001's
// CSV through the library and through the CLI, into a real PostgreSQL; every row accepted or rejected with
// its line and reason.
#include "services/collector/workbook_ingest.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/postgres/pool.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/collector/xlsx_reader.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::IsOk;

std::string Dir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    auto* d = new std::string(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/workbooks"));
    const std::string command = absl::StrCat(
        "mkdir -p ", *d, " && /usr/bin/python3 services/collector/testdata/make_workbooks.py ", *d);
    const int rc = std::system(command.c_str());
    if (rc != 0) {
      std::fprintf(stderr, "FAILED: %s (is python3-openpyxl installed? deploy/local/install_deps.sh)\n",
                   command.c_str());
      std::abort();
    }
    return d;
  }();
  return *dir;
}

std::vector<std::vector<std::string>> AllRows(const XlsxWorkbook& wb, size_t sheet,
                                              std::vector<int64_t>* numbers = nullptr) {
  auto rows = wb.ReadSheet(sheet);
  EXPECT_THAT(rows, IsOk());
  std::vector<std::vector<std::string>> out;
  if (!rows.ok()) return out;
  int64_t n = 0;
  std::vector<std::string> cells;
  for (;;) {
    auto more = (*rows)->Next(&n, &cells);
    EXPECT_THAT(more, IsOk());
    if (!more.ok() || !*more) break;
    out.push_back(cells);
    if (numbers != nullptr) numbers->push_back(n);
  }
  return out;
}

TEST(XlsxReader, EveryCellType) {
  auto wb = XlsxWorkbook::Open(Dir() + "/cells.xlsx");
  ASSERT_THAT(wb, IsOk());
  ASSERT_EQ((*wb)->sheets().size(), 1u);
  EXPECT_EQ((*wb)->sheets()[0].name, "Cells");
  EXPECT_FALSE((*wb)->date1904());
  std::vector<int64_t> numbers;
  auto rows = AllRows(**wb, 0, &numbers);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 3, 4}));  // row 2 is not in the sheet at all
  // Shared string, number, decimal, booleans, a date-formatted serial, a formula without a cached value.
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"text", "42", "2.5", "TRUE", "FALSE", "2019-04-10 09:30:00", ""}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"after a gap", "", "skipped B"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"inline text"}));

  auto mac = XlsxWorkbook::Open(Dir() + "/mac1904.xlsx");
  ASSERT_THAT(mac, IsOk());
  EXPECT_TRUE((*mac)->date1904());
  auto mac_rows = AllRows(**mac, 0);
  ASSERT_FALSE(mac_rows.empty());
  EXPECT_EQ(mac_rows[0][5], "2019-04-10 09:30:00");  // the same date from a serial 1462 days smaller
}

TEST(XlsxReader, SharedStringsJoinRunsAndSkipPhonetics) {
  auto wb = XlsxWorkbook::Open(Dir() + "/brief002.xlsx");
  ASSERT_THAT(wb, IsOk());
  std::vector<std::string> names;
  for (const auto& s : (*wb)->sheets()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Customers", "External interactions", "Products of discussion",
                                             "Notes"}));
  auto rows = AllRows(**wb, 0);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0][0], "Customer list, exported 2019-12-01");  // two rich-text runs, no "PHONETIC"
}

TEST(XlsxReader, NotAWorkbookIsAClearError) {
  const std::string path = Dir() + "/brief001.csv";
  auto wb = XlsxWorkbook::Open(path);
  ASSERT_FALSE(wb.ok());
  EXPECT_EQ(wb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wb.status().message().find("not a readable .xlsx workbook"), std::string::npos) << wb.status();
}

class WorkbookIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = ::marketlens::testing::CreateMigratedDatabaseOrFail(
        ::marketlens::testing::SharedPostgresServer(), {.pool_size = 4});
    ASSERT_NE(db.pool, nullptr);
    dsn_ = db.dsn;
    pool_ = std::move(db.pool);
  }
  pqxx::result Query(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : pqxx::result();
  }
  std::string One(const std::string& sql) {
    auto r = Query(sql);
    return r.empty() || r[0][0].is_null() ? "<null>" : r[0][0].as<std::string>();
  }
  std::vector<std::pair<int64_t, std::string>> Rejects(const std::string& file_id) {
    std::vector<std::pair<int64_t, std::string>> out;
    for (const auto& r : Query(absl::StrCat("SELECT line, column_name FROM ingest.rejects WHERE file_id = '",
                                            file_id, "' ORDER BY line"))) {
      out.emplace_back(r[0].as<int64_t>(), r[1].as<std::string>());
    }
    return out;
  }

  std::string dsn_;
  std::unique_ptr<postgres::PgPool> pool_;
};

TEST_F(WorkbookIngestTest, Brief002WorkbookLoadsSheetBySheet) {
  // The marketplace already knows C001 (name, region): the sheet adds occupation and type, keeps the rest.
  Query(
      "INSERT INTO raw.customers (id, name, region, occupation, segment) VALUES "
      "('C001', 'Luke Skywalker', 'Tatooine', '', 'new')");
  auto outcomes = IngestUploadedFile(*pool_, Dir() + "/brief002.xlsx", "brief002.xlsx", {});
  ASSERT_THAT(outcomes, IsOk());
  std::vector<std::string> lines;
  for (const auto& o : *outcomes) lines.push_back(o.Line());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "sheet=\"Customers\" kind=customers rows=5 accepted=4 rejected=1 duplicates=0");
  EXPECT_EQ(lines[1],
            "sheet=\"External interactions\" kind=contacts rows=10 accepted=7 rejected=3 duplicates=0");
  EXPECT_EQ(
      lines[2],
      "sheet=\"Products of discussion\" kind=discussed_products rows=5 accepted=4 rejected=1 duplicates=0");
  EXPECT_TRUE((*outcomes)[3].skipped);
  EXPECT_NE(lines[3].find("sheet=\"Notes\" skipped: no header of a known kind"), std::string::npos)
      << lines[3];

  // Customers: header on row 3 under a title and a blank row; row 8 has no id.
  EXPECT_EQ((*outcomes)[0].result->header_line, 3);
  EXPECT_EQ(Rejects((*outcomes)[0].result->file_id),
            (std::vector<std::pair<int64_t, std::string>>{{8, "id"}}));
  EXPECT_EQ(One("SELECT name || '|' || region || '|' || occupation || '|' || segment FROM raw.customers "
                "WHERE id = 'C001'"),
            "Luke Skywalker|Tatooine|Jedi|Loyal");
  EXPECT_EQ(One("SELECT occupation || '|' || segment FROM raw.customers WHERE id = 'C002'"), "Sith Lord|New");
  EXPECT_EQ(One("SELECT count(*) FROM raw.customers"), "4");

  // Interactions: typed dates, text dates read day first (decided by row 5), a serial, words, a new channel.
  const IngestResult& ext = *(*outcomes)[1].result;
  EXPECT_EQ(Rejects(ext.file_id), (std::vector<std::pair<int64_t, std::string>>{
                                      {9, "customer_id"}, {10, "sentiment"}, {11, "started_at"}}));
  EXPECT_EQ(absl::StrJoin(ext.notes, " / "),
            "dates: day/month order inferred from the file: day first (decided by '13/10/2019 10:00') / "
            "channels: 1 rows with a channel other than email/call/chat kept: social media (1)");
  auto rows = Query(
      "SELECT customer_id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), channel, topic, "
      "sentiment FROM raw.contacts ORDER BY started_at");
  std::vector<std::string> got;
  for (const auto& r : rows) {
    got.push_back(absl::StrCat(r[0].as<std::string>(), " ", r[1].as<std::string>(), " ",
                               r[2].as<std::string>(), " ", r[3].as<std::string>(), " ", r[4].as<double>()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "C001 2019-04-10 09:00 email Lightsaber repair 1",
                     "C002 2019-10-04 09:00 call Refund -1",
                     "C003 2019-10-13 10:00 call Delivery 1",
                     "C003 2019-10-14 00:00 social media Complaint -1",
                     "C004 2019-10-16 00:00 email Invoice 0.5",
                     "C002 2019-10-19 00:00 chat Lightsaber repair 0",
                     "C001 2019-11-05 14:30 chat Delivery 0",
                 }));

  // Products of discussion: MM-YYYY text and a typed month cell; month 13 refused.
  EXPECT_EQ(Rejects((*outcomes)[2].result->file_id),
            (std::vector<std::pair<int64_t, std::string>>{{6, "month"}}));
  EXPECT_EQ(
      One("SELECT string_agg(to_char(month, 'YYYY-MM') || ' ' || product, ', ' ORDER BY month, product) "
          "FROM raw.discussed_products"),
      "2019-04 Lightsaber, 2019-10 Hyperdrive, 2019-10 Lightsaber, 2019-11 Hyperdrive");
  EXPECT_EQ(One("SELECT string_agg(sheet || ':' || kind, ',' ORDER BY sheet) FROM ingest.files"),
            "Customers:customers,External interactions:contacts,Products of discussion:discussed_products");

  // Loading the same workbook again changes nothing.
  auto again = IngestUploadedFile(*pool_, Dir() + "/brief002.xlsx", "brief002.xlsx", {});
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)[1].Line(), lines[1]);
  EXPECT_EQ(One("SELECT count(*) FROM raw.contacts"), "7");
}

TEST_F(WorkbookIngestTest, SheetMappingOverridesTheHeader) {
  WorkbookOptions options;
  ASSERT_THAT(ParseSheetMapping("Notes=customers", &options.sheet_kinds), IsOk());
  options.only_sheets = {"Notes"};
  auto outcomes = IngestUploadedFile(*pool_, Dir() + "/brief002.xlsx", "brief002.xlsx", options);
  ASSERT_THAT(outcomes, IsOk());
  ASSERT_EQ(outcomes->size(), 1u);
  ASSERT_FALSE((*outcomes)[0].result.ok());
  EXPECT_NE((*outcomes)[0].result.status().message().find("missing required column(s) id (accepted names"),
            std::string::npos)
      << (*outcomes)[0].result.status();
  EXPECT_NE((*outcomes)[0].result.status().message().find("header read: Whatever the analyst wrote"),
            std::string::npos);

  WorkbookOptions bad;
  EXPECT_FALSE(ParseSheetMapping("Customers=people", &bad.sheet_kinds).ok());
  ASSERT_THAT(ParseSheetMapping("Nope=customers", &bad.sheet_kinds), IsOk());
  auto missing = IngestUploadedFile(*pool_, Dir() + "/brief002.xlsx", "brief002.xlsx", bad);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no sheet \"Nope\""), std::string::npos);
}

TEST_F(WorkbookIngestTest, UndecidedDayMonthOrderIsReportedOrGiven) {
  auto outcomes = IngestUploadedFile(*pool_, Dir() + "/undecided.xlsx", "undecided.xlsx", {});
  ASSERT_THAT(outcomes, IsOk());
  EXPECT_EQ((*outcomes)[0].Line(),
            "sheet=\"Contacts\" kind=contacts rows=3 accepted=1 rejected=2 duplicates=0");
  const IngestResult& r = *(*outcomes)[0].result;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("order unknown (no day > 12 in the file); 2 rows"), std::string::npos)
      << r.notes[0];
  ASSERT_EQ(r.rejects.size(), 2u);
  EXPECT_EQ(r.rejects[0].line, 2);
  EXPECT_NE(r.rejects[0].reason.find("ambiguous date '04/10/2019 09:00'"), std::string::npos);

  WorkbookOptions mdy;
  mdy.ingest.dates.order = DayMonthOrder::kMonthFirst;
  auto given = IngestUploadedFile(*pool_, Dir() + "/undecided.xlsx", "undecided.xlsx", mdy);
  ASSERT_THAT(given, IsOk());
  EXPECT_EQ((*given)[0].Line(), "sheet=\"Contacts\" kind=contacts rows=3 accepted=3 rejected=0 duplicates=0");
  EXPECT_EQ(One("SELECT to_char(min(started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM raw.contacts "
                "WHERE customer_id = 'C1'"),
            "2019-04-10");
}

TEST_F(WorkbookIngestTest, Brief001InfluencerCsvWithoutKind) {
  auto outcomes = IngestUploadedFile(*pool_, Dir() + "/brief001.csv", "brief001.csv", {});
  ASSERT_THAT(outcomes, IsOk());
  ASSERT_EQ(outcomes->size(), 1u);
  ASSERT_THAT((*outcomes)[0].result, IsOk());
  const IngestResult& r = *(*outcomes)[0].result;
  EXPECT_EQ(r.kind, "campaign_posts");
  EXPECT_EQ(r.Summary(), "rows=10002 accepted=9966 rejected=34 duplicates=2");
  EXPECT_TRUE(r.ignored_columns.empty());
  // The 30 short rows by line (data row i is on line i + 2), and the 4 bad values.
  auto rejects = Rejects(r.file_id);
  ASSERT_EQ(rejects.size(), 34u);
  int malformed = 0;
  for (const auto& [line, column] : rejects) {
    if (column.empty()) {
      EXPECT_EQ((line - 2 - 100) % 330, 0) << line;
      ++malformed;
    }
  }
  EXPECT_EQ(malformed, 30);
  EXPECT_EQ(
      One(absl::StrCat("SELECT reason FROM ingest.rejects WHERE file_id = '", r.file_id, "' AND line = 102")),
      "malformed line: 6 fields but the header has 8 (the row is cut short)");
  EXPECT_EQ(One("SELECT count(*) FROM raw.campaign_posts"), "9966");
  EXPECT_EQ(One("SELECT influencer || ' ' || platform || ' ' || views FROM raw.campaign_posts "
                "WHERE posted_at = '2019-01-01 00:37+00'"),
            "inf0001 tiktok 1001");
  EXPECT_EQ(One("SELECT count(*) FROM raw.campaign_posts WHERE comments IS NULL OR shares IS NULL"), "0");
}

// The CLI as a user runs it on both files: one summary line per sheet, no --kind.
std::string RunCli(const std::string& args, int* exit_code) {
  const std::string command = absl::StrCat("services/collector/cli ", args, " 2>/dev/null");
  FILE* p = popen(command.c_str(), "r");
  std::string out;
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(WorkbookIngestTest, CliIngestsWorkbookAndCsvWithoutKind) {
  int rc = -1;
  std::string out = RunCli(absl::StrCat("ingest --dsn '", dsn_, "' ", Dir(), "/brief002.xlsx"), &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(
      out,
      "sheet=\"Customers\" kind=customers rows=5 accepted=4 rejected=1 duplicates=0\n"
      "sheet=\"External interactions\" kind=contacts rows=10 accepted=7 rejected=3 duplicates=0\n"
      "sheet=\"Products of discussion\" kind=discussed_products rows=5 accepted=4 rejected=1 duplicates=0\n"
      "sheet=\"Notes\" skipped: no header of a known kind in the first 10 rows (row 1: Whatever the analyst "
      "wrote); name its kind with --sheet \"Notes=KIND\" (kinds: campaign_posts, contacts, interactions, "
      "customers, discussed_products)\n");
  out = RunCli(absl::StrCat("ingest --dsn '", dsn_, "' ", Dir(), "/brief001.csv"), &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "rows=10002 accepted=9966 rejected=34 duplicates=2\n");
  out = RunCli(absl::StrCat("ingest --dsn '", dsn_, "' --sheet 'Nope=contacts' ", Dir(), "/brief002.xlsx"),
               &rc);
  EXPECT_EQ(rc, 1);
}

}  // namespace
}  // namespace marketlens::collector
