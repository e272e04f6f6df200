// The collector's part of the privacy flow against a real PostgreSQL with the real migrations
// (docs/privacy.md): export, erasure (idempotent, reviews pseudonymised), a tombstoned person kept out of
// ingest (both load modes) and the crawl's SQL, and the retention limit.
#include "services/collector/person_data.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/postgres/pool.h"
#include "common/testing/migrated_database.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/collector/ingest.h"
#include "services/collector/ingest_schema.h"

namespace marketlens::collector {
namespace {

using ::marketlens::testing::IsOk;

ChunkSource WholeSource(std::string content) {
  auto done = std::make_shared<bool>(false);
  auto data = std::make_shared<std::string>(std::move(content));
  return [=](std::string* out) -> absl::StatusOr<bool> {
    if (*done) return false;
    *done = true;
    *out = *data;
    return true;
  };
}

class PersonDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = ::marketlens::testing::CreateMigratedDatabaseOrFail(
        ::marketlens::testing::SharedPostgresServer(), {.pool_size = 4});
    ASSERT_NE(db.pool, nullptr);
    pool_ = std::move(db.pool);
    Exec(
        "INSERT INTO raw.customers (id, name, email) VALUES ('c1', 'Ada Lovelace', 'ada@example.com'),"
        " ('c2', 'Bob', 'bob@example.com')");
    Exec(
        "INSERT INTO raw.contacts (id, customer_id, started_at, channel, notes) VALUES"
        " ('k1', 'c1', now() - interval '3 days', 'email', 'Ada called about her order'),"
        " ('k2', 'c1', now() - interval '900 days', 'call', 'old call'),"
        " ('k3', 'c2', now() - interval '900 days', 'chat', 'Bob, old')");
    Exec(
        "INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES"
        " ('i1', 'c1', 'p1', 'view', now()), ('i2', 'c2', 'p1', 'purchase', now())");
    Exec(
        "INSERT INTO raw.reviews (id, product_id, customer_id, rating, text, created_at, updated_at) VALUES"
        " ('r1', 'p1', 'c1', 5, 'lovely', now(), now()), ('r2', 'p1', 'c1', 2, 'meh', now(), now()),"
        " ('r3', 'p1', 'c2', 4, 'fine', now(), now())");
    Exec("INSERT INTO ingest.files (id, kind) VALUES ('00000000-0000-0000-0000-000000000001', 'contacts')");
    Exec(
        "INSERT INTO ingest.rejects (file_id, line, reason, raw_line) VALUES"
        " ('00000000-0000-0000-0000-000000000001', 2, 'bad date', 'k9,c1,someday,email'),"
        " ('00000000-0000-0000-0000-000000000001', 3, 'bad date', 'k8,c12,someday,email')");
  }

  void Exec(const std::string& sql) {
    auto r = pool_->Exec(sql);
    ASSERT_THAT(r, IsOk()) << sql << ": " << r.status();
  }
  int64_t Count(const std::string& sql) {
    auto r = pool_->Exec(sql);
    EXPECT_THAT(r, IsOk()) << sql << ": " << r.status();
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }
  void Tombstone(const std::string& id) {
    auto r =
        pool_->Exec("INSERT INTO privacy.tombstones (subject_hash) VALUES (privacy.subject_hash($1))", id);
    ASSERT_THAT(r, IsOk());
  }

  std::unique_ptr<postgres::PgPool> pool_;
};

std::map<std::string, int64_t> Kinds(const privacy::v1::EraseUserResponse& r) {
  std::map<std::string, int64_t> out;
  for (const auto& e : r.erased()) out[e.kind()] = e.count();
  return out;
}

TEST_F(PersonDataTest, ExportThenEraseEverythingLinkedAndStayIdempotent) {
  auto exported = ExportPerson(*pool_, "c1");
  ASSERT_THAT(exported, IsOk());
  std::map<std::string, int> rows;
  for (const auto& t : exported->tables()) rows[t.name()] = t.rows_size();
  EXPECT_EQ(rows["raw.customers"], 1);
  EXPECT_EQ(rows["raw.contacts"], 2);
  EXPECT_EQ(rows["raw.interactions"], 1);
  EXPECT_EQ(rows["raw.reviews"], 2);
  EXPECT_EQ(rows["ingest.rejects"], 1);  // 'c12' is someone else
  EXPECT_EQ(exported->tables(0).rows(0).fields().at("email").string_value(), "ada@example.com");

  auto erased = ErasePerson(*pool_, "c1");
  ASSERT_THAT(erased, IsOk());
  EXPECT_THAT(Kinds(*erased),
              ::testing::UnorderedElementsAre(
                  ::testing::Pair("raw.customers", 1), ::testing::Pair("raw.contacts", 2),
                  ::testing::Pair("raw.interactions", 1), ::testing::Pair("ingest.rejects", 1),
                  ::testing::Pair("raw.reviews:pseudonymised", 2)));
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers WHERE id = 'c1' OR email LIKE 'ada%'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts WHERE customer_id = 'c1'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.reviews WHERE customer_id = 'c1'"), 0);
  // Reviews keep their text, each under its own random pseudonym (not even linkable to each other).
  EXPECT_EQ(Count("SELECT count(DISTINCT customer_id) FROM raw.reviews WHERE id IN ('r1', 'r2') "
                  "AND customer_id LIKE 'erased-%' AND text IN ('lovely', 'meh')"),
            2);
  // Others untouched.
  EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts WHERE customer_id = 'c2'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.reviews WHERE customer_id = 'c2'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM ingest.rejects"), 1);

  auto again = ErasePerson(*pool_, "c1");
  ASSERT_THAT(again, IsOk());
  for (const auto& [kind, n] : Kinds(*again)) EXPECT_EQ(n, 0) << kind;
  EXPECT_EQ(ErasePerson(*pool_, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PersonDataTest, IngestDropsRowsAndRejectsOfATombstonedPersonInBothModes) {
  ASSERT_THAT(ErasePerson(*pool_, "c1"), IsOk());
  Tombstone("c1");
  const KindSpec* spec = FindKind("contacts");
  ASSERT_NE(spec, nullptr);
  const std::string csv =
      "id,customer_id,started_at,channel,notes\n"
      "n1,c1,2024-01-05T10:00:00Z,email,Ada again\n"
      "n2,c2,2024-01-05T10:00:00Z,email,Bob\n"
      "n3,c1,not-a-date,email,refused\n";
  // First into empty-ish tables (direct COPY when possible), then again (staged upsert).
  for (int round = 0; round < 2; ++round) {
    auto r = IngestCsv(*pool_, *spec, "contacts.csv", WholeSource(csv));
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->erased_subject, 1) << "round " << round;
    EXPECT_EQ(r->rejected, 0) << "round " << round;  // the refused line names the forgotten person
    EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts WHERE customer_id = 'c1'"), 0);
    EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts WHERE id = 'n2'"), 1);
    EXPECT_EQ(Count("SELECT count(*) FROM ingest.rejects WHERE raw_line LIKE '%c1,%'"), 0);
  }
  // Customers sheet: keyed by id.
  auto customers = IngestCsv(*pool_, *FindKind("customers"), "customers.csv",
                             WholeSource("id,occupation\nc1,Mathematician\nc3,Baker\n"));
  ASSERT_THAT(customers, IsOk());
  EXPECT_EQ(customers->erased_subject, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers WHERE id = 'c1'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.customers WHERE id = 'c3'"), 1);
}

TEST_F(PersonDataTest, RetentionDeletesOnlyOldContactsAndInteractions) {
  Exec("UPDATE raw.interactions SET occurred_at = now() - interval '1000 days' WHERE id = 'i2'");
  auto done = EnforceRetention(*pool_, absl::Hours(24) * 730);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(done->contacts, 2);  // k2, k3
  EXPECT_EQ(done->interactions, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.contacts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.interactions"), 1);
  EXPECT_EQ(EnforceRetention(*pool_, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::collector
