// Migrations against a real PostgreSQL: the real deploy/migrations files on a fresh database, and temp
// directories for the refusal rules (tampered, missing, out of order, failing file), the lock, and the
// `migrate` binary's exit codes.
#include "common/migrate/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/migrate/sha256.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::migrate {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::postgres::PgPool;
using ::marketlens::postgres::PoolOptions;
using ::marketlens::testing::PostgresServer;

constexpr char kRealDir[] = "deploy/migrations";

bool Contains(absl::string_view haystack, absl::string_view needle) {
  return haystack.find(needle) != absl::string_view::npos;
}

// ---- File names and contents (no database) -------------------------------------------------------

TEST(ParseMigrationTest, Names) {
  auto m = ParseMigration("0007_add_index.sql", "SELECT 1;");
  ASSERT_THAT(m, IsOk()) << m.status();
  EXPECT_EQ(m->version, 7);
  EXPECT_EQ(m->name, "add_index");
  EXPECT_EQ(m->filename, "0007_add_index.sql");
  EXPECT_EQ(m->checksum.size(), 64u);
  EXPECT_THAT(ParseMigration("12345_big.sql", "SELECT 1;"), IsOk());

  for (const char* bad :
       {"1_x.sql", "001_x.sql", "0001-x.sql", "0001_X.sql", "0001_.sql", "0000_x.sql", "00012_x.sql",
        "abcd_x.sql", "0001_x.SQL", "0001_x.sql.bak", "0001 x.sql", "0001_has-dash.sql"}) {
    auto r = ParseMigration(bad, "SELECT 1;");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(Contains(r.status().message(), bad)) << r.status();
  }
  EXPECT_EQ(ParseMigration("0001_empty.sql", "  \n").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseMigrationTest, RefusesTransactionControl) {
  auto r = ParseMigration("0003_x.sql", "CREATE TABLE a (id int);\ncommit;\nCREATE TABLE b (id int);\n");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), "0003_x.sql line 2")) << r.status();
  EXPECT_FALSE(ParseMigration("0003_x.sql", "BEGIN;\nSELECT 1;\n").ok());
  // A PL/pgSQL body has BEGIN / END; lines of its own: allowed.
  EXPECT_THAT(ParseMigration(
                  "0003_x.sql",
                  "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;\n"),
              IsOk());
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/migrations-XXXXXX");
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    path_ = ::mkdtemp(buf.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& contents) const {
    std::ofstream(path_ + "/" + name, std::ios::binary | std::ios::trunc) << contents;
  }
  void Remove(const std::string& name) const { std::filesystem::remove(path_ + "/" + name); }

 private:
  std::string path_;
};

TEST(LoadMigrationsTest, SortsIgnoresOtherFilesAndRejectsBadOnes) {
  TempDir dir;
  dir.Write("0002_b.sql", "SELECT 2;");
  dir.Write("0001_a.sql", "SELECT 1;");
  dir.Write("README.md", "not a migration");
  dir.Write("BUILD", "");
  auto loaded = LoadMigrations(dir.path());
  ASSERT_THAT(loaded, IsOk()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].filename, "0001_a.sql");
  EXPECT_EQ((*loaded)[1].filename, "0002_b.sql");

  dir.Write("01_bad.sql", "SELECT 1;");
  auto bad = LoadMigrations(dir.path());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.status().message(), "01_bad.sql")) << bad.status();
  dir.Remove("01_bad.sql");

  dir.Write("0002_c.sql", "SELECT 3;");
  auto dup = LoadMigrations(dir.path());
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(dup.status().message(), "0002_b.sql")) << dup.status();
  EXPECT_TRUE(Contains(dup.status().message(), "0002_c.sql")) << dup.status();

  EXPECT_EQ(LoadMigrations(dir.path() + "/nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadMigrationsTest, RealFilesAreValid) {
  auto loaded = LoadMigrations(kRealDir);
  ASSERT_THAT(loaded, IsOk()) << loaded.status();
  ASSERT_GE(loaded->size(), 6u);
  // The foundation's files are 0001..0006; each service owns a range of later numbers (0010-0019
  // collector, 0020-0029 recommender, ...), so gaps are expected but the order must be strict.
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ((*loaded)[i].version, static_cast<int64_t>(i + 1));
  for (size_t i = 1; i < loaded->size(); ++i) EXPECT_LT((*loaded)[i - 1].version, (*loaded)[i].version);
}

// ---- Comment-only edits (comment_edits.txt), no database -----------------------------------------

TEST(StripSqlCommentsTest, RemovesCommentsOutsideLiteralsAndBodies) {
  EXPECT_EQ(StripSqlComments("-- head (first version)\nCREATE TABLE a (\n  id int  -- the key\n);\n"),
            "CREATE TABLE a ( id int );");
  EXPECT_EQ(StripSqlComments("SELECT 1 /* a /* nested */ comment */ + 2;"), "SELECT 1 + 2;");
  EXPECT_EQ(StripSqlComments("SELECT a--x\n+b;"), "SELECT a +b;");
  // Inside literals, quoted identifiers and dollar-quoted bodies nothing is a comment, and nothing moves.
  EXPECT_EQ(StripSqlComments("SELECT '-- kept',  'it''s /* kept */', \"a--b\";  -- gone"),
            "SELECT '-- kept', 'it''s /* kept */', \"a--b\";");
  EXPECT_EQ(StripSqlComments("SELECT E'\\'-- kept', 1; -- gone"), "SELECT E'\\'-- kept', 1;");
  EXPECT_EQ(StripSqlComments("SELECT 'a\\'; -- gone"), "SELECT 'a\\';") << "a backslash escapes only in E''";
  const std::string body =
      "$fn$\nBEGIN\n  -- kept: part of the function\n  RETURN 1;  /* kept */\nEND;\n$fn$;";
  EXPECT_EQ(StripSqlComments("CREATE FUNCTION f() RETURNS int\n  LANGUAGE plpgsql AS " + body + " -- gone\n"),
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS " + body);
  EXPECT_EQ(StripSqlComments("DO $$ -- kept $$; /* gone */"), "DO $$ -- kept $$;");
  // $1 is a parameter and a$b an identifier, not dollar quotes.
  EXPECT_EQ(StripSqlComments("SELECT $1 -- gone\n, a$b -- gone\n;"), "SELECT $1 , a$b ;");
}

TEST(StripSqlCommentsTest, StatementsChecksumSeesStatementsOnly) {
  const std::string base = "CREATE TABLE a (id int);\nCREATE INDEX a_idx ON a (id);\n";
  EXPECT_EQ(
      StatementsChecksum(base),
      StatementsChecksum("-- Collector (services/collector): table a\n\nCREATE TABLE a (id int);  -- key\n"
                         "/* why the index */\nCREATE INDEX a_idx\n  ON a (id);"));
  EXPECT_NE(StatementsChecksum(base),
            StatementsChecksum("CREATE TABLE a (id bigint);\nCREATE INDEX a_idx ON a (id);"));
  EXPECT_NE(StatementsChecksum(base), StatementsChecksum("CREATE TABLE a (id int);\n"));
  EXPECT_NE(StatementsChecksum("SELECT 'a  b';"), StatementsChecksum("SELECT 'a b';"));
  EXPECT_NE(StatementsChecksum("SELECT '-- x';"), StatementsChecksum("SELECT '';"));
  EXPECT_NE(StatementsChecksum("DO $$ -- x $$;"), StatementsChecksum("DO $$ $$;"));
  EXPECT_EQ(StatementsChecksum(base), Sha256Hex(StripSqlComments(base)));
}

TEST(CommentEditsTest, Parses) {
  const std::string a(64, 'a'), b(64, 'b');
  auto edits = ParseCommentEdits(absl::StrCat("# version old_sha256 statements_sha256\n\n1 ", a, " ", b,
                                              "\n  42  ", b, "\t", a, "  \n"));
  ASSERT_THAT(edits, IsOk()) << edits.status();
  ASSERT_EQ(edits->size(), 2u);
  EXPECT_EQ((*edits)[0].version, 1);
  EXPECT_EQ((*edits)[0].old_checksum, a);
  EXPECT_EQ((*edits)[0].statements_checksum, b);
  EXPECT_EQ((*edits)[1].version, 42);
  for (const std::string& bad :
       {absl::StrCat("1 ", a), absl::StrCat("x ", a, " ", b), absl::StrCat("0 ", a, " ", b),
        absl::StrCat("1 ", std::string(64, 'A'), " ", b), absl::StrCat("1 ", a, " ", b, "0"),
        absl::StrCat("1 ", a, " ", b, " extra")}) {
    auto r = ParseCommentEdits(absl::StrCat("# ok\n", bad, "\n"));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(Contains(r.status().message(), "comment_edits.txt line 2")) << r.status();
  }
}

TEST(CommentEditsTest, LoadMigrationsChecksEachEntryAgainstItsFile) {
  TempDir dir;
  const std::string old_text = "-- table a, first version\nCREATE TABLE a (id int);\n";
  const std::string new_text = "-- Collector: table a\nCREATE TABLE a (id int);\n";
  dir.Write("0001_a.sql", new_text);
  dir.Write(kCommentEditsFile,
            absl::StrCat("1 ", Sha256Hex(old_text), " ", StatementsChecksum(old_text), "\n"));
  auto loaded = LoadMigrations(dir.path());
  ASSERT_THAT(loaded, IsOk()) << loaded.status();
  EXPECT_EQ((*loaded)[0].comment_edited_from, std::vector<std::string>{Sha256Hex(old_text)});

  // An entry cannot vouch for a statement change...
  dir.Write("0001_a.sql", "-- Collector: table a\nCREATE TABLE a (id bigint);\n");
  auto changed = LoadMigrations(dir.path());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(changed.status().message(), "0001_a.sql")) << changed.status();
  EXPECT_TRUE(Contains(changed.status().message(), "only comments")) << changed.status();
  // ...nor name a version without a file.
  dir.Write("0001_a.sql", new_text);
  dir.Write(kCommentEditsFile,
            absl::StrCat("2 ", Sha256Hex(old_text), " ", StatementsChecksum(old_text), "\n"));
  auto orphan = LoadMigrations(dir.path());
  EXPECT_EQ(orphan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(orphan.status().message(), "version 2")) << orphan.status();
}

// The committed list: every entry is for an earlier text of its file with the same statements.
TEST(CommentEditsTest, RealListMatchesTheFiles) {
  std::ifstream in(absl::StrCat(kRealDir, "/", kCommentEditsFile));
  ASSERT_TRUE(in) << "deploy/migrations/" << kCommentEditsFile << " is missing";
  std::stringstream contents;
  contents << in.rdbuf();
  auto edits = ParseCommentEdits(contents.str());
  ASSERT_THAT(edits, IsOk()) << edits.status();
  auto files = LoadMigrations(kRealDir);
  ASSERT_THAT(files, IsOk()) << files.status();
  for (const CommentEdit& edit : *edits) {
    auto m = std::find_if(files->begin(), files->end(),
                          [&](const Migration& x) { return x.version == edit.version; });
    ASSERT_NE(m, files->end()) << edit.version;
    EXPECT_EQ(StatementsChecksum(m->sql), edit.statements_checksum) << m->filename;
    EXPECT_NE(m->checksum, edit.old_checksum) << m->filename << ": an entry is for an earlier text";
  }
}

// ---- Against PostgreSQL --------------------------------------------------------------------------

class MigrateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    dsn_ = server_->CreateTestDatabaseOrFail();
    ASSERT_FALSE(dsn_.empty());
    pool_ = MakePool();
  }
  std::unique_ptr<PgPool> MakePool() {
    PoolOptions options;
    options.dsn = dsn_;
    options.max_size = 3;
    return *PgPool::Create(options);
  }
  std::string Scalar(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk()) << r.status();
    if (!r.ok() || r->empty() || (*r)[0][0].is_null()) return "<null>";
    return (*r)[0][0].c_str();
  }
  absl::StatusOr<std::vector<Migration>> ApplyDir(const std::string& dir, Options options = {}) {
    return ApplyMigrationsFromDir(*pool_, dir, options);
  }
  static std::vector<int64_t> Versions(const std::vector<Migration>& ms) {
    std::vector<int64_t> v;
    for (const Migration& m : ms) v.push_back(m.version);
    return v;
  }

  static PostgresServer* server_;
  std::string dsn_;
  std::unique_ptr<PgPool> pool_;
};

PostgresServer* MigrateTest::server_ = nullptr;

TEST_F(MigrateTest, FreshDatabaseGetsEverythingThenNothing) {
  auto files = LoadMigrations(kRealDir);
  ASSERT_THAT(files, IsOk()) << files.status();
  auto applied = ApplyDir(kRealDir);
  ASSERT_THAT(applied, IsOk()) << applied.status();
  EXPECT_EQ(applied->size(), files->size());

  EXPECT_EQ(
      Scalar("SELECT count(*) FROM pg_namespace WHERE nspname IN ('raw','ingest','insights','recsys','ops')"),
      "5");
  for (const char* table : {"raw.products",
                            "raw.product_snapshots",
                            "raw.reviews",
                            "raw.review_versions",
                            "raw.customers",
                            "raw.interactions",
                            "raw.campaign_posts",
                            "raw.contacts",
                            "ingest.files",
                            "ingest.rejects",
                            "insights.review_analysis",
                            "insights.product_weekly",
                            "insights.product_summary",
                            "insights.issues",
                            "insights.alerts",
                            "recsys.events",
                            "recsys.models",
                            "recsys.experiments",
                            "recsys.assignments",
                            "ops.crawls",
                            "ops.crawl_checkpoints"}) {
    EXPECT_EQ(Scalar(absl::StrCat("SELECT to_regclass('", table, "') IS NOT NULL")), "t") << table;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM public.schema_migrations"), std::to_string(files->size()));
  for (const Migration& m : *files) {
    auto r = pool_->Exec("SELECT name, checksum FROM public.schema_migrations WHERE version = $1", m.version);
    ASSERT_TRUE(r.ok() && r->size() == 1) << m.filename;
    EXPECT_EQ((*r)[0][0].as<std::string>(), m.name);
    EXPECT_EQ((*r)[0][1].as<std::string>(), m.checksum);
  }

  // Running again applies nothing, and the status says so.
  auto again = ApplyDir(kRealDir);
  ASSERT_THAT(again, IsOk()) << again.status();
  EXPECT_TRUE(again->empty());
  auto states = Migrator(pool_.get()).Status(*files);
  ASSERT_THAT(states, IsOk()) << states.status();
  for (const MigrationState& s : *states) EXPECT_EQ(s.state, State::kApplied) << s.filename;
  EXPECT_TRUE(Contains(FormatStatus(*states), "0002_raw.sql")) << FormatStatus(*states);
}

TEST_F(MigrateTest, CommentOnlyEditIsAcceptedWhenListed) {
  TempDir dir;
  const std::string old_text = "-- Collector: table a, first version\nCREATE TABLE a (id int);\n";
  const std::string new_text =
      "-- Collector (services/collector): table a, one row per crawl\nCREATE TABLE a (id int);  -- the key\n";
  dir.Write("0001_a.sql", old_text);
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());

  // Not listed: a changed file, refused.
  dir.Write("0001_a.sql", new_text);
  auto unlisted = ApplyDir(dir.path());
  EXPECT_EQ(unlisted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(unlisted.status().message(), "changed")) << unlisted.status();

  // Listed: accepted, and the recorded checksum becomes the new file's.
  dir.Write(kCommentEditsFile, absl::StrCat("# version old_sha256 statements_sha256\n1 ", Sha256Hex(old_text),
                                            " ", StatementsChecksum(old_text), "\n"));
  auto loaded = LoadMigrations(dir.path());
  ASSERT_THAT(loaded, IsOk()) << loaded.status();
  auto before = Migrator(pool_.get()).Status(*loaded);
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ((*before)[0].state, State::kCommentsEdited);
  EXPECT_TRUE(Contains(FormatStatus(*before), "comments")) << FormatStatus(*before);
  EXPECT_THAT(Migrator(pool_.get()).AwaitApplied(*loaded, absl::Now()), IsOk());
  auto applied = ApplyDir(dir.path());
  ASSERT_THAT(applied, IsOk()) << applied.status();
  EXPECT_TRUE(applied->empty());
  EXPECT_EQ(Scalar("SELECT checksum FROM public.schema_migrations WHERE version = 1"), Sha256Hex(new_text));
  auto after = Migrator(pool_.get()).Status(*loaded);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ((*after)[0].state, State::kApplied);
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());

  // A statement change is still refused: by the list (its entry no longer matches the file)...
  dir.Write("0001_a.sql", "-- Collector (services/collector): table a\nCREATE TABLE a (id bigint);\n");
  auto changed = ApplyDir(dir.path());
  EXPECT_EQ(changed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(changed.status().message(), "only comments")) << changed.status();
  // ...and by the runner, when an entry matches the new statements but not what the database recorded.
  const std::string other = "CREATE TABLE a (id bigint);\n";
  dir.Write(kCommentEditsFile, absl::StrCat("1 ", Sha256Hex(old_text), " ", StatementsChecksum(other), "\n"));
  auto refused = ApplyDir(dir.path());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(refused.status().message(), "changed")) << refused.status();
  EXPECT_EQ(Scalar("SELECT checksum FROM public.schema_migrations WHERE version = 1"), Sha256Hex(new_text));
}

// A database migrated with the texts before their comments were edited (its recorded checksums are the
// listed old ones) accepts today's files, and then records their checksums.
TEST_F(MigrateTest, DatabaseMigratedWithTheOldTextsAcceptsTheCommentEditedFiles) {
  auto files = LoadMigrations(kRealDir);
  ASSERT_THAT(files, IsOk()) << files.status();
  ASSERT_THAT(ApplyDir(kRealDir), IsOk());
  std::ifstream in(absl::StrCat(kRealDir, "/", kCommentEditsFile));
  std::stringstream contents;
  contents << in.rdbuf();
  auto edits = ParseCommentEdits(contents.str());
  ASSERT_THAT(edits, IsOk()) << edits.status();
  ASSERT_FALSE(edits->empty());
  for (const CommentEdit& edit : *edits) {
    ASSERT_THAT(pool_->Exec("UPDATE public.schema_migrations SET checksum = $1 WHERE version = $2",
                            edit.old_checksum, edit.version),
                IsOk());
  }
  auto before = Migrator(pool_.get()).Status(*files);
  ASSERT_THAT(before, IsOk());
  for (const MigrationState& s : *before) {
    const bool listed = std::any_of(edits->begin(), edits->end(),
                                    [&](const CommentEdit& e) { return e.version == s.version; });
    EXPECT_EQ(s.state, listed ? State::kCommentsEdited : State::kApplied) << s.filename;
  }
  auto applied = ApplyDir(kRealDir);
  ASSERT_THAT(applied, IsOk()) << applied.status();
  EXPECT_TRUE(applied->empty());
  auto after = Migrator(pool_.get()).Status(*files);
  ASSERT_THAT(after, IsOk());
  for (const MigrationState& s : *after) EXPECT_EQ(s.state, State::kApplied) << s.filename;
}

TEST_F(MigrateTest, SchemaBehaves) {
  ASSERT_THAT(ApplyDir(kRealDir), IsOk());
  ASSERT_THAT(
      pool_->Exec("INSERT INTO raw.products (id, title, price_cents, updated_at) VALUES ('p1', 'Kettle', "
                  "1999, now())"),
      IsOk());
  ASSERT_THAT(pool_->Exec("INSERT INTO raw.product_snapshots (product_id, seen_at, price_cents, stock, "
                          "rating_average, rating_count) VALUES ('p1', now(), 1999, 5, 4.5, 10)"),
              IsOk());
  // Append-only history.
  absl::Status update = pool_->Exec("UPDATE raw.product_snapshots SET price_cents = 1").status();
  EXPECT_EQ(update.code(), absl::StatusCode::kFailedPrecondition) << update;
  EXPECT_TRUE(Contains(update.message(), "append-only")) << update;
  EXPECT_FALSE(pool_->Exec("DELETE FROM raw.product_snapshots").ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.product_snapshots"), "1");
  // Checks on enumerations.
  EXPECT_EQ(pool_
                ->Exec("INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) "
                       "VALUES ('i1', 'c1', 'p1', 'teleport', now())")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Generated ids and the file -> rejects relation.
  auto file =
      pool_->Exec("INSERT INTO ingest.files (kind, filename) VALUES ('contacts', 'c.csv') RETURNING id");
  ASSERT_THAT(file, IsOk()) << file.status();
  const std::string file_id = (*file)[0][0].c_str();
  EXPECT_THAT(pool_->Exec("INSERT INTO ingest.rejects (file_id, line, column_name, reason, raw_line) VALUES "
                          "($1, 3, 'sentiment', 'not a number', 'x,y,z')",
                          file_id),
              IsOk());
  // At most one promoted model.
  EXPECT_THAT(pool_->Exec("INSERT INTO recsys.models (version, algorithm, artifact_uri, promoted) VALUES "
                          "('v1', 'als', 'file:///m/v1', true)"),
              IsOk());
  EXPECT_EQ(pool_
                ->Exec("INSERT INTO recsys.models (version, algorithm, artifact_uri, promoted) VALUES "
                       "('v2', 'als', 'file:///m/v2', true)")
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(MigrateTest, TamperedOrMissingAppliedFileIsRefused) {
  TempDir dir;
  dir.Write("0001_a.sql", "CREATE TABLE a (id int);\n");
  dir.Write("0002_b.sql", "CREATE TABLE b (id int);\n");
  auto first = ApplyDir(dir.path());
  ASSERT_THAT(first, IsOk()) << first.status();
  EXPECT_EQ(Versions(*first), (std::vector<int64_t>{1, 2}));

  dir.Write("0001_a.sql", "CREATE TABLE a (id int, extra int);\n");
  dir.Write("0003_c.sql", "CREATE TABLE c (id int);\n");
  auto tampered = ApplyDir(dir.path());
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(tampered.status().message(), "0001_a.sql")) << tampered.status();
  EXPECT_TRUE(Contains(tampered.status().message(), "changed")) << tampered.status();
  EXPECT_EQ(Scalar("SELECT to_regclass('c') IS NULL"), "t") << "nothing may run once the history is refused";

  auto states = Migrator(pool_.get()).Status(*LoadMigrations(dir.path()));
  ASSERT_THAT(states, IsOk());
  ASSERT_EQ(states->size(), 3u);
  EXPECT_EQ((*states)[0].state, State::kChanged);
  EXPECT_EQ((*states)[1].state, State::kApplied);
  EXPECT_EQ((*states)[2].state, State::kPending);

  // Restored: fine again. Then the applied 0002 disappears.
  dir.Write("0001_a.sql", "CREATE TABLE a (id int);\n");
  dir.Remove("0003_c.sql");
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());
  dir.Remove("0002_b.sql");
  auto missing = ApplyDir(dir.path());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(missing.status().message(), "0002_b.sql")) << missing.status();
  EXPECT_TRUE(Contains(missing.status().message(), "missing")) << missing.status();

  // Renaming an applied file is a change too.
  dir.Write("0002_renamed.sql", "CREATE TABLE b (id int);\n");
  auto renamed = ApplyDir(dir.path());
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(renamed.status().message(), "0002_renamed.sql")) << renamed.status();
}

TEST_F(MigrateTest, OnlyNewFilesAreApplied) {
  TempDir dir;
  dir.Write("0001_a.sql", "CREATE TABLE a (id int);\n");
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());
  dir.Write("0002_b.sql", "CREATE TABLE b (id int);\nINSERT INTO a VALUES (1);\n");
  auto second = ApplyDir(dir.path());
  ASSERT_THAT(second, IsOk()) << second.status();
  EXPECT_EQ(Versions(*second), (std::vector<int64_t>{2}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM a"), "1");
  auto third = ApplyDir(dir.path());
  ASSERT_THAT(third, IsOk());
  EXPECT_TRUE(third->empty());
  EXPECT_EQ(Scalar("SELECT count(*) FROM a"), "1");

  // A file slipped in below the newest applied version of its group would run out of order.
  dir.Write("0004_d.sql", "CREATE TABLE d (id int);\n");
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());
  dir.Write("0003_late.sql", "CREATE TABLE late (id int);\n");
  auto late = ApplyDir(dir.path());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(late.status().message(), "0003_late.sql")) << late.status();
  std::filesystem::remove(std::filesystem::path(dir.path()) / "0003_late.sql");

  // Groups of ten belong to different owners and are independent: a later group applied first does not
  // block an earlier group's new file.
  dir.Write("0021_other_owner.sql", "CREATE TABLE other (id int);\n");
  ASSERT_THAT(ApplyDir(dir.path()), IsOk());
  dir.Write("0012_first_owner.sql", "CREATE TABLE first_owner (id int);\n");
  auto independent = ApplyDir(dir.path());
  ASSERT_THAT(independent, IsOk()) << independent.status();
  EXPECT_EQ(Versions(*independent), (std::vector<int64_t>{12}));
  // ...but within the group the order stays strict.
  dir.Write("0011_too_late.sql", "CREATE TABLE too_late (id int);\n");
  auto too_late = ApplyDir(dir.path());
  EXPECT_EQ(too_late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(too_late.status().message(), "0011_too_late.sql")) << too_late.status();
}

TEST_F(MigrateTest, FailingMigrationRollsBackEntirely) {
  TempDir dir;
  dir.Write("0001_ok.sql", "CREATE TABLE ok (id int);\n");
  dir.Write(
      "0002_bad.sql",
      "CREATE SCHEMA half;\nCREATE TABLE half.t (id int);\nINSERT INTO half.t VALUES (1);\nSELECT 1/0;\n");
  dir.Write("0003_after.sql", "CREATE TABLE after_bad (id int);\n");
  auto r = ApplyDir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "0002_bad.sql")) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "rolled back")) << r.status();
  EXPECT_TRUE(Contains(r.status().message(), "22012")) << r.status();  // division_by_zero
  EXPECT_EQ(Scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'half'"), "0");
  EXPECT_EQ(Scalar("SELECT string_agg(version::text, ',' ORDER BY version) FROM public.schema_migrations"),
            "1");
  EXPECT_EQ(Scalar("SELECT to_regclass('after_bad') IS NULL"), "t") << "nothing runs after a failure";
  EXPECT_EQ(Scalar("SELECT to_regclass('ok') IS NOT NULL"), "t");

  // The failed file was never applied, so it may be fixed; then the rest follows.
  dir.Write("0002_bad.sql", "CREATE SCHEMA half;\nCREATE TABLE half.t (id int);\n");
  auto fixed = ApplyDir(dir.path());
  ASSERT_THAT(fixed, IsOk()) << fixed.status();
  EXPECT_EQ(Versions(*fixed), (std::vector<int64_t>{2, 3}));
}

TEST_F(MigrateTest, ConcurrentRunnersApplyEachFileOnce) {
  auto files = LoadMigrations(kRealDir);
  ASSERT_THAT(files, IsOk());
  std::unique_ptr<PgPool> other = MakePool();
  absl::StatusOr<std::vector<Migration>> a, b;
  std::thread ta([&] { a = ApplyMigrationsFromDir(*pool_, kRealDir); });
  std::thread tb([&] { b = ApplyMigrationsFromDir(*other, kRealDir); });
  ta.join();
  tb.join();
  ASSERT_THAT(a, IsOk()) << a.status();
  ASSERT_THAT(b, IsOk()) << b.status();
  EXPECT_EQ(a->size() + b->size(), files->size());
  EXPECT_TRUE(a->empty() || b->empty()) << "the lock serialises whole runs";
  EXPECT_EQ(Scalar("SELECT count(*) FROM public.schema_migrations"), std::to_string(files->size()));
}

TEST_F(MigrateTest, WaitsForTheLockThenGivesUp) {
  // Another session holds the migration lock.
  std::unique_ptr<PgPool> holder_pool = MakePool();
  auto holder = holder_pool->Acquire(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(holder, IsOk());
  ASSERT_THAT(
      holder_pool->TransactOnce(
          *holder,
          [](postgres::Tx& tx) { return tx.Exec("SELECT pg_advisory_lock($1)", kAdvisoryLockKey).status(); },
          postgres::TxOptions(), absl::Now() + absl::Seconds(5), 1),
      IsOk());
  Options options;
  options.lock_timeout = absl::Milliseconds(400);
  absl::Time start = absl::Now();
  auto blocked = ApplyDir(kRealDir, options);
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
  EXPECT_TRUE(Contains(blocked.status().message(), "lock")) << blocked.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(Scalar("SELECT to_regclass('public.schema_migrations') IS NULL"), "t");

  // Released (the holder's session ends): the run goes through, and its own lock is released after.
  holder->Discard();
  { PgPool::Lease released = *std::move(holder); }
  auto ok = ApplyDir(kRealDir);
  ASSERT_THAT(ok, IsOk()) << ok.status();
  EXPECT_EQ(Scalar(absl::StrCat("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")), "0");
}

// ---- The binary ------------------------------------------------------------------------------------

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

RunResult RunMigrate(const std::string& args, const std::string& env = "") {
  std::string cmd = absl::StrCat(env, " common/migrate/migrate ", args, " 2>&1");
  FILE* pipe = ::popen(cmd.c_str(), "r");
  RunResult result{-1, ""};
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST_F(MigrateTest, AwaitAppliedWaitsForAnotherRunner) {
  TempDir dir;
  dir.Write("0001_a.sql", "CREATE TABLE a (id int);\n");
  dir.Write("0002_b.sql", "CREATE TABLE b (id int);\n");
  auto migrations = LoadMigrations(dir.path());
  ASSERT_THAT(migrations, IsOk()) << migrations.status();
  Migrator waiter(pool_.get());

  absl::Status early =
      waiter.AwaitApplied(*migrations, absl::Now() + absl::Milliseconds(300), absl::Milliseconds(50));
  EXPECT_EQ(early.code(), absl::StatusCode::kDeadlineExceeded) << early;
  EXPECT_TRUE(Contains(early.message(), "2 migrations still pending")) << early;

  // Another runner applies them while we wait.
  std::unique_ptr<PgPool> other = MakePool();
  std::thread runner([&] {
    absl::SleepFor(absl::Milliseconds(300));
    EXPECT_THAT(ApplyMigrationsFromDir(*other, dir.path()), IsOk());
  });
  const absl::Time start = absl::Now();
  absl::Status waited =
      waiter.AwaitApplied(*migrations, absl::Now() + absl::Seconds(20), absl::Milliseconds(50));
  runner.join();
  EXPECT_THAT(waited, IsOk()) << waited;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));

  // A changed file is an error at once, not a wait.
  dir.Write("0002_b.sql", "CREATE TABLE b (id bigint);\n");
  auto changed = LoadMigrations(dir.path());
  ASSERT_THAT(changed, IsOk());
  absl::Status refused = waiter.AwaitApplied(*changed, absl::Now() + absl::Seconds(20));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
}

TEST_F(MigrateTest, Binary) {
  const std::string dsn_flag = absl::StrCat("--dsn='", dsn_, "'");
  RunResult first = RunMigrate(absl::StrCat(dsn_flag, " --dir=", kRealDir));
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(Contains(first.output, "applied 0001_schemas.sql")) << first.output;

  // The DSN from the environment; nothing left to do.
  RunResult second =
      RunMigrate(absl::StrCat("--dir=", kRealDir), absl::StrCat("MARKETLENS_PG_DSN='", dsn_, "'"));
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(Contains(second.output, "up to date")) << second.output;

  RunResult status = RunMigrate(absl::StrCat(dsn_flag, " --status"));  // default --dir, from runfiles
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(Contains(status.output, "0002_raw.sql")) << status.output;
  EXPECT_TRUE(Contains(status.output, "applied")) << status.output;
  EXPECT_TRUE(Contains(status.output, "0 pending")) << status.output;

  // A tampered file: non-zero, and the message names it.
  TempDir dir;
  for (const auto& entry : std::filesystem::directory_iterator(kRealDir)) {
    std::ifstream in(entry.path());
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    dir.Write(entry.path().filename().string(), contents);
  }
  dir.Write("0002_raw.sql", "-- edited\n");
  RunResult tampered = RunMigrate(absl::StrCat(dsn_flag, " --dir=", dir.path()));
  EXPECT_EQ(tampered.exit_code, 1) << tampered.output;
  EXPECT_TRUE(Contains(tampered.output, "migrate: error:")) << tampered.output;
  EXPECT_TRUE(Contains(tampered.output, "0002_raw.sql")) << tampered.output;
  RunResult tampered_status = RunMigrate(absl::StrCat(dsn_flag, " --status --dir=", dir.path()));
  EXPECT_EQ(tampered_status.exit_code, 1) << tampered_status.output;
  EXPECT_TRUE(Contains(tampered_status.output, "CHANGED")) << tampered_status.output;

  // No server there: fails fast with a clear message.
  absl::Time start = absl::Now();
  RunResult down = RunMigrate(absl::StrCat("--dsn='", server_->DsnFor("postgres"), " port=1'"));
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_TRUE(Contains(down.output, "cannot reach the database")) << down.output;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));

  // --await_applied applies nothing: on an up-to-date database it returns at once.
  RunResult awaited = RunMigrate(absl::StrCat(dsn_flag, " --await_applied=5s --dir=", kRealDir));
  EXPECT_EQ(awaited.exit_code, 0) << awaited.output;
  EXPECT_TRUE(Contains(awaited.output, "migrations applied")) << awaited.output;
  const std::string fresh = server_->CreateDatabase("await_fresh").value_or("");
  ASSERT_FALSE(fresh.empty());
  RunResult pending = RunMigrate(absl::StrCat("--dsn='", fresh, "' --await_applied=1s --dir=", kRealDir));
  EXPECT_EQ(pending.exit_code, 1) << pending.output;
  EXPECT_TRUE(Contains(pending.output, "still pending")) << pending.output;

  // --comment_edit_entry needs no database: the comment_edits.txt line of a file.
  const std::string text = "-- table e\nCREATE TABLE e (id int);\n";
  dir.Write("0007_e.sql", text);
  RunResult entry =
      RunMigrate(absl::StrCat("--comment_edit_entry=", dir.path(), "/0007_e.sql"), "MARKETLENS_PG_DSN=");
  EXPECT_EQ(entry.exit_code, 0) << entry.output;
  EXPECT_TRUE(
      Contains(entry.output, absl::StrCat("7 ", Sha256Hex(text), " ", StatementsChecksum(text), "\n")))
      << entry.output;
  RunResult no_entry = RunMigrate(absl::StrCat("--comment_edit_entry=", dir.path(), "/0008_none.sql"));
  EXPECT_EQ(no_entry.exit_code, 1) << no_entry.output;

  // Usage errors.
  RunResult no_dsn = RunMigrate("", "MARKETLENS_PG_DSN=");
  EXPECT_EQ(no_dsn.exit_code, 2) << no_dsn.output;
  EXPECT_TRUE(Contains(no_dsn.output, "MARKETLENS_PG_DSN")) << no_dsn.output;
  RunResult bad_dir = RunMigrate(absl::StrCat(dsn_flag, " --dir=/nonexistent"));
  EXPECT_EQ(bad_dir.exit_code, 1) << bad_dir.output;
  EXPECT_TRUE(Contains(bad_dir.output, "/nonexistent")) << bad_dir.output;
}

}  // namespace
}  // namespace marketlens::migrate
