// The CLI as a user runs it: `cli ingest --kind K FILE` against a real PostgreSQL, summary line on stdout,
// rejects on stderr, exit codes.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/postgres/pool.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::IsOk;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CliRun RunCli(const std::string& args) {
  char err_path[] = "/tmp/collector_cli_test_XXXXXX";
  const int fd = mkstemp(err_path);
  close(fd);
  CliRun run;
  const std::string command = absl::StrCat("services/collector/cli ", args, " 2>", err_path);
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  run.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  unlink(err_path);
  return run;
}

std::string LastLine(const std::string& s) {
  std::vector<std::string> lines = absl::StrSplit(absl::StripSuffix(s, "\n"), '\n');
  return lines.empty() ? "" : lines.back();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = ::marketlens::testing::CreateMigratedDatabaseOrFail(
        ::marketlens::testing::SharedPostgresServer(), {.pool_size = 2});
    ASSERT_NE(db.pool, nullptr);
    dsn_ = db.dsn;
    pool_ = std::move(db.pool);
    path_ = absl::StrCat(::testing::TempDir(), "/posts.csv");
  }
  void Write(const std::string& content) {
    std::ofstream out(path_, std::ios::binary);
    out << content;
  }
  std::string dsn_;
  std::string path_;
  std::unique_ptr<postgres::PgPool> pool_;
};

TEST_F(CliTest, IngestPrintsRejectsAndEndsWithTheSummary) {
  Write(
      "Campaign ID,influencer,platform,views,likes,date\n"
      "C1,anna,ig,100,10,2024-01-15\n"
      "C1,bob,ig,lots,10,2024-01-15\n"
      "C1,anna,ig,100,10,2024-01-15\n");
  CliRun run = RunCli(absl::StrCat("ingest --kind campaign_posts --dsn '", dsn_, "' ", path_));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(LastLine(run.out), "rows=3 accepted=1 rejected=1 duplicates=1");
  EXPECT_NE(run.err.find("line 3, column views: views: not a number 'lots'"), std::string::npos) << run.err;

  run = RunCli(absl::StrCat("ingest --kind=campaign_posts --json --dsn='", dsn_, "' ", path_));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::string json = LastLine(run.out);
  EXPECT_NE(json.find("\"rows\":3,\"accepted\":1,\"rejected\":1,\"duplicates\":1"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"rejects\":[{\"line\":3,\"column\":\"views\""), std::string::npos) << json;
  auto count = pool_->Exec("SELECT count(*) FROM raw.campaign_posts");
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ((*count)[0][0].as<int>(), 1);
}

// The retention command the CronJob runs (docs/privacy.md): old contacts and interactions go, the password
// may come from a file (as the mounted Secret), bad values are usage errors.
TEST_F(CliTest, RetentionDeletesOldContactsAndInteractions) {
  ASSERT_TRUE(pool_
                  ->Exec("INSERT INTO raw.contacts (id, customer_id, started_at, channel) VALUES"
                         " ('old', 'c1', now() - interval '40 days', 'email'), ('new', 'c1', now(), 'email')")
                  .ok());
  ASSERT_TRUE(
      pool_
          ->Exec("INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES"
                 " ('i-old', 'c1', 'p1', 'view', now() - interval '31 days')")
          .ok());
  const std::string password = absl::StrCat(::testing::TempDir(), "/pg_password");
  std::ofstream(password) << "\n";  // an empty password (the test server trusts local connections)
  CliRun run = RunCli(
      absl::StrCat("retention --retention_days=30 --pg_password_file='", password, "' --dsn '", dsn_, "'"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(LastLine(run.out), "contacts=1 interactions=1");
  auto left = pool_->Exec("SELECT string_agg(id, ',') FROM raw.contacts");
  ASSERT_THAT(left, IsOk());
  EXPECT_EQ((*left)[0][0].as<std::string>(), "new");
  run = RunCli(absl::StrCat("retention --retention_days=30 --json --dsn '", dsn_, "'"));
  EXPECT_EQ(LastLine(run.out), "{\"retention_days\":30,\"contacts\":0,\"interactions\":0}");
  EXPECT_EQ(RunCli("retention").exit_code, 2);
  EXPECT_EQ(RunCli("retention --retention_days=0").exit_code, 2);
}

TEST_F(CliTest, FailuresAndUsageErrors) {
  Write("name,age\nx,1\n");
  CliRun run = RunCli(absl::StrCat("ingest --kind contacts --dsn '", dsn_, "' ", path_));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("missing required column(s) customer_id (accepted names, any case, spacing or _: "
                         "customer_id/customer/customers/"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("; started_at (accepted names"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("; channel (accepted names"), std::string::npos) << run.err;
  run = RunCli(absl::StrCat("ingest --kind contacts --dsn '", dsn_, "' /nonexistent.csv"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("cannot open /nonexistent.csv"), std::string::npos) << run.err;
  EXPECT_EQ(RunCli("ingest --kind nope x.csv").exit_code, 2);
  EXPECT_EQ(RunCli("ingest --kind contacts").exit_code, 2);
  EXPECT_EQ(RunCli("frobnicate").exit_code, 2);
}

}  // namespace
}  // namespace marketlens::collector
