// Integration tests of PgPool against a real PostgreSQL 15 (one throwaway server for the suite, one
// fresh database per test).
#include "common/postgres/pool.h"

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::postgres {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::testing::PostgresServer;

class PgPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PostgresServer::StartOrDie().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    // A test that stopped the server must not break the next one.
    if (!server_->running()) {
      ASSERT_THAT(server_->Start(), IsOk());
    }
    dsn_ = server_->CreateTestDatabaseOrFail();
    ASSERT_FALSE(dsn_.empty());
  }

  std::unique_ptr<PgPool> MakePool(int max_size = 4, absl::Duration statement_timeout = absl::Seconds(10)) {
    PoolOptions options;
    options.dsn = dsn_;
    options.max_size = max_size;
    options.statement_timeout = statement_timeout;
    options.application_name = "pool_test";
    auto pool = PgPool::Create(options);
    EXPECT_THAT(pool, IsOk()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  static std::string Scalar(const absl::StatusOr<pqxx::result>& r) {
    EXPECT_THAT(r, IsOk()) << r.status();
    if (!r.ok() || r->empty() || (*r)[0][0].is_null()) return "<null>";
    return (*r)[0][0].c_str();
  }

  static PostgresServer* server_;
  std::string dsn_;
};

PostgresServer* PgPoolTest::server_ = nullptr;

TEST(BuildConnectionStringTest, KeywordValueAndUri) {
  PoolOptions options;
  options.dsn = "host=db port=5432 dbname=x";
  options.application_name = "it's";
  EXPECT_EQ(BuildConnectionString(options, 5),
            "host=db port=5432 dbname=x connect_timeout=5 application_name='it\\'s'");
  options.dsn = "postgresql://u@db:5432/x";
  options.application_name = "collector a";
  EXPECT_EQ(BuildConnectionString(options, 3),
            "postgresql://u@db:5432/x?connect_timeout=3&application_name=collector%20a");
  options.dsn = "postgresql://u@db/x?sslmode=disable";
  options.application_name = "";
  EXPECT_EQ(BuildConnectionString(options, 2), "postgresql://u@db/x?sslmode=disable&connect_timeout=2");
}

TEST(PgPoolCreateTest, RejectsBadOptions) {
  PoolOptions options;
  options.max_size = 0;
  EXPECT_EQ(PgPool::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PgPoolTest, BasicQueryAndSessionSettings) {
  auto pool = MakePool();
  EXPECT_EQ(Scalar(pool->Exec("SELECT 1 + 1")), "2");
  EXPECT_EQ(Scalar(pool->Exec("SELECT current_setting('application_name')")), "pool_test");
  EXPECT_EQ(Scalar(pool->Exec("SHOW statement_timeout")), "10s");
  EXPECT_THAT(pool->Ping(), IsOk());
  PgPool::Stats stats = pool->stats();
  EXPECT_EQ(stats.open, 1);  // lazily opened, and reused
  EXPECT_EQ(stats.idle, 1);
}

TEST_F(PgPoolTest, UriDsn) {
  PoolOptions options;
  options.dsn = absl::StrCat("postgresql://postgres@127.0.0.1:", server_->port(), "/",
                             Scalar(MakePool()->Exec("SELECT current_database()")));
  auto pool = PgPool::Create(options);
  ASSERT_THAT(pool, IsOk());
  EXPECT_EQ(Scalar((*pool)->Exec("SELECT 7")), "7");
}

TEST_F(PgPoolTest, Parameters) {
  auto pool = MakePool();
  ASSERT_THAT(pool->Exec("CREATE TABLE t (id int PRIMARY KEY, name text, price bigint)"), IsOk());
  const std::string tricky = "O'Brien\"; DROP TABLE t; --";
  ASSERT_THAT(pool->Exec("INSERT INTO t VALUES ($1, $2, $3)", 1, tricky, int64_t{1999}), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO t VALUES ($1, $2, $3)", 2, std::optional<std::string>(),
                         std::optional<int64_t>()),
              IsOk());
  absl::StatusOr<pqxx::result> r = pool->Exec("SELECT name, price FROM t WHERE id = $1", 1);
  ASSERT_THAT(r, IsOk()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0][0].as<std::string>(), tricky);
  EXPECT_EQ((*r)[0][1].as<int64_t>(), 1999);
  EXPECT_EQ(Scalar(pool->Exec("SELECT name FROM t WHERE id = $1", 2)), "<null>");

  std::vector<std::string> ids = {"1", "2"};
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM t WHERE id IN ($1, $2)",
                              pqxx::prepare::make_dynamic_params(ids))),
            "2");
}

TEST_F(PgPoolTest, IsolationLevelsAndReadOnly) {
  auto pool = MakePool();
  for (auto [level, name] : {std::pair{IsolationLevel::kReadCommitted, "read committed"},
                             std::pair{IsolationLevel::kRepeatableRead, "repeatable read"},
                             std::pair{IsolationLevel::kSerializable, "serializable"}}) {
    std::string seen;
    TxOptions options;
    options.isolation = level;
    ASSERT_THAT(pool->Transact(
                    [&](Tx& tx) -> absl::Status {
                      auto r = tx.Exec("SHOW transaction_isolation");
                      if (!r.ok()) return r.status();
                      seen = (*r)[0][0].c_str();
                      return absl::OkStatus();
                    },
                    options),
                IsOk());
    EXPECT_EQ(seen, name);
  }
  ASSERT_THAT(pool->Exec("CREATE TABLE ro (v int)"), IsOk());
  TxOptions read_only;
  read_only.read_only = true;
  absl::Status s =
      pool->Transact([](Tx& tx) { return tx.Exec("INSERT INTO ro VALUES (1)").status(); }, read_only);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(SqlStateOf(s), "25006");
}

TEST_F(PgPoolTest, TransactionCommitsAndRollsBack) {
  auto pool = MakePool();
  ASSERT_THAT(pool->Exec("CREATE TABLE t (v int)"), IsOk());
  ASSERT_THAT(pool->Transact([](Tx& tx) -> absl::Status {
    if (auto r = tx.Exec("INSERT INTO t VALUES (1)"); !r.ok()) return r.status();
    return tx.Exec("INSERT INTO t VALUES (2)").status();
  }),
              IsOk());
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM t")), "2");

  // The function returning an error rolls everything back, and that error is returned.
  absl::Status s = pool->Transact([](Tx& tx) -> absl::Status {
    if (auto r = tx.Exec("INSERT INTO t VALUES (3)"); !r.ok()) return r.status();
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(s, absl::InvalidArgumentError("changed my mind"));
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM t")), "2");

  // A statement error that the function ignores still fails the transaction: nothing is committed.
  s = pool->Transact([](Tx& tx) -> absl::Status {
    (void)tx.Exec("INSERT INTO t VALUES (4)");
    (void)tx.Exec("INSERT INTO t VALUES ('not a number')");
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM t")), "2");
  // And the connection is still usable afterwards.
  EXPECT_EQ(Scalar(pool->Exec("SELECT 5")), "5");
}

TEST_F(PgPoolTest, ErrorMapping) {
  auto pool = MakePool(2, absl::Milliseconds(300));
  ASSERT_THAT(pool->Exec("CREATE TABLE p (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0))"),
              IsOk());
  ASSERT_THAT(pool->Exec("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p(id))"), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO p VALUES (1, 'a', 1)"), IsOk());

  absl::Status dup = pool->Exec("INSERT INTO p VALUES (1, 'b', 1)").status();
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_EQ(SqlStateOf(dup), "23505");
  EXPECT_NE(dup.message().find("[SQLSTATE 23505]"), std::string::npos) << dup;
  EXPECT_NE(dup.message().find("duplicate key"), std::string::npos) << dup;

  // Syntax errors and unknown tables are bugs in our SQL: INTERNAL (see errors.h).
  absl::Status syntax = pool->Exec("SELEC 1").status();
  EXPECT_EQ(syntax.code(), absl::StatusCode::kInternal) << syntax;
  EXPECT_EQ(SqlStateOf(syntax), "42601");
  EXPECT_EQ(pool->Exec("SELECT * FROM missing_table").status().code(), absl::StatusCode::kInternal);

  absl::Status not_null = pool->Exec("INSERT INTO p VALUES (2, NULL, 1)").status();
  EXPECT_EQ(not_null.code(), absl::StatusCode::kInvalidArgument) << not_null;
  EXPECT_EQ(SqlStateOf(not_null), "23502");
  EXPECT_EQ(pool->Exec("INSERT INTO p VALUES (2, 'x', -1)").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status bad_int = pool->Exec("SELECT $1::int", std::string("abc")).status();
  EXPECT_EQ(bad_int.code(), absl::StatusCode::kInvalidArgument) << bad_int;
  EXPECT_EQ(SqlStateOf(bad_int), "22P02");
  absl::Status fk = pool->Exec("INSERT INTO c VALUES (1, 99)").status();
  EXPECT_EQ(fk.code(), absl::StatusCode::kFailedPrecondition) << fk;
  EXPECT_EQ(SqlStateOf(fk), "23503");

  // The pool's statement_timeout (300 ms) cancels a long statement.
  absl::Time start = absl::Now();
  absl::Status slow = pool->Exec("SELECT pg_sleep(5)").status();
  EXPECT_EQ(slow.code(), absl::StatusCode::kDeadlineExceeded) << slow;
  EXPECT_EQ(SqlStateOf(slow), "57014");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  // So does the transaction's own deadline when it is shorter.
  auto pool2 = MakePool(1);
  TxOptions short_tx;
  short_tx.timeout = absl::Milliseconds(400);
  start = absl::Now();
  slow = pool2->Transact([](Tx& tx) { return tx.Exec("SELECT pg_sleep(5)").status(); }, short_tx);
  EXPECT_EQ(slow.code(), absl::StatusCode::kDeadlineExceeded) << slow;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(PgPoolTest, PreparedStatementsOnEveryConnectionAndAfterReconnect) {
  auto pool = MakePool(3);
  ASSERT_THAT(pool->Exec("CREATE TABLE kv (k text PRIMARY KEY, v int)"), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO kv VALUES ('a', 1), ('b', 2)"), IsOk());
  // Registered after a connection was already opened: still defined on it.
  ASSERT_THAT(pool->Prepare("get", "SELECT v FROM kv WHERE k = $1"), IsOk());
  EXPECT_THAT(pool->Prepare("get", "SELECT v FROM kv WHERE k = $1"), IsOk());
  EXPECT_EQ(pool->Prepare("get", "SELECT 1").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Scalar(pool->ExecPrepared("get", std::string("a"))), "1");

  // Three connections at once: each runs the statement.
  {
    std::vector<PgPool::Lease> leases;
    for (int i = 0; i < 3; ++i) {
      auto lease = pool->Acquire(absl::Now() + absl::Seconds(5));
      ASSERT_THAT(lease, IsOk()) << lease.status();
      std::string v;
      ASSERT_THAT(pool->TransactOnce(
                      *lease,
                      [&](Tx& tx) -> absl::Status {
                        auto r = tx.ExecPrepared("get", std::string("b"));
                        if (!r.ok()) return r.status();
                        v = (*r)[0][0].c_str();
                        return absl::OkStatus();
                      },
                      TxOptions(), absl::Now() + absl::Seconds(5), 1),
                  IsOk());
      EXPECT_EQ(v, "2");
      leases.push_back(*std::move(lease));
    }
  }
  EXPECT_EQ(pool->stats().open, 3);

  ASSERT_THAT(server_->Restart(), IsOk());
  EXPECT_EQ(Scalar(pool->ExecPrepared("get", std::string("b"))), "2");
  EXPECT_GE(pool->stats().discarded_total, 1);
  // Statements prepared by a failed one are not needed: a misspelt statement name is an error.
  EXPECT_FALSE(pool->ExecPrepared("nope", 1).ok());
}

TEST_F(PgPoolTest, PoolBoundIsRespected) {
  auto pool = MakePool(2);
  auto a = pool->Acquire(absl::Now() + absl::Seconds(5));
  auto b = pool->Acquire(absl::Now() + absl::Seconds(5));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(pool->stats().open, 2);

  absl::Time start = absl::Now();
  auto c = pool->Acquire(absl::Now() + absl::Milliseconds(300));
  absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDeadlineExceeded) << c.status();
  EXPECT_GE(waited, absl::Milliseconds(290));
  EXPECT_LT(waited, absl::Seconds(2));

  // Transact waits the same way, and does not retry a full pool.
  TxOptions options;
  options.timeout = absl::Milliseconds(300);
  start = absl::Now();
  absl::Status s = pool->Transact([](Tx&) { return absl::OkStatus(); }, options);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  // A waiter gets the connection as soon as one is returned.
  std::thread releaser([lease = std::move(*a)]() mutable {
    absl::SleepFor(absl::Milliseconds(200));
    PgPool::Lease dropped = std::move(lease);
  });
  start = absl::Now();
  auto d = pool->Acquire(absl::Now() + absl::Seconds(5));
  EXPECT_THAT(d, IsOk()) << d.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  releaser.join();
  EXPECT_EQ(pool->stats().open, 2);
}

TEST_F(PgPoolTest, SerializationConflictIsRetriedAndBothSucceed) {
  auto pool = MakePool(4);
  ASSERT_THAT(pool->Exec("CREATE TABLE doctors (name text PRIMARY KEY, on_call bool)"), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO doctors VALUES ('alice', true), ('bob', true)"), IsOk());

  // Classic write skew: both read "2 on call" and take someone off call. Under SERIALIZABLE one of the
  // two must fail with 40001; the retry then sees the other's write.
  std::latch both_read(2);
  std::atomic<int> attempts{0};
  auto worker = [&](const std::string& off, absl::Status* out) {
    TxOptions options;
    options.isolation = IsolationLevel::kSerializable;
    *out = pool->Transact(
        [&](Tx& tx) -> absl::Status {
          attempts++;
          auto r = tx.Exec("SELECT count(*) FROM doctors WHERE on_call");
          if (!r.ok()) return r.status();
          if (tx.attempt() == 1) both_read.arrive_and_wait();
          int on_call = (*r)[0][0].as<int>();
          // Always write (so that both transactions conflict), but record what was seen.
          return tx.Exec("UPDATE doctors SET on_call = $2 WHERE name = $1", off, on_call < 2).status();
        },
        options);
  };
  absl::Status s1, s2;
  std::thread t1(worker, "alice", &s1);
  std::thread t2(worker, "bob", &s2);
  t1.join();
  t2.join();
  EXPECT_THAT(s1, IsOk()) << s1;
  EXPECT_THAT(s2, IsOk()) << s2;
  EXPECT_GE(attempts.load(), 3) << "one transaction should have been retried";
  // Serial outcome: the second one saw only one doctor on call and left itself on call.
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM doctors WHERE on_call")), "1");
}

TEST_F(PgPoolTest, DeadlockIsRetried) {
  auto pool = MakePool(4);
  ASSERT_THAT(pool->Exec("CREATE TABLE acct (id int PRIMARY KEY, balance int)"), IsOk());
  ASSERT_THAT(pool->Exec("INSERT INTO acct VALUES (1, 100), (2, 100)"), IsOk());
  std::latch both_locked(2);
  std::atomic<int> attempts{0};
  auto transfer = [&](int from, int to, absl::Status* out) {
    *out = pool->Transact([&](Tx& tx) -> absl::Status {
      attempts++;
      auto r = tx.Exec("UPDATE acct SET balance = balance - 10 WHERE id = $1", from);
      if (!r.ok()) return r.status();
      if (tx.attempt() == 1) both_locked.arrive_and_wait();
      return tx.Exec("UPDATE acct SET balance = balance + 10 WHERE id = $1", to).status();
    });
  };
  absl::Status s1, s2;
  std::thread t1(transfer, 1, 2, &s1);
  std::thread t2(transfer, 2, 1, &s2);
  t1.join();
  t2.join();
  EXPECT_THAT(s1, IsOk()) << s1;
  EXPECT_THAT(s2, IsOk()) << s2;
  EXPECT_GE(attempts.load(), 3);
  EXPECT_EQ(Scalar(pool->Exec("SELECT sum(balance) FROM acct")), "200");
  EXPECT_EQ(Scalar(pool->Exec("SELECT balance FROM acct WHERE id = 1")), "100");
}

TEST_F(PgPoolTest, ReconnectsAfterServerRestart) {
  auto pool = MakePool(3);
  ASSERT_THAT(pool->Exec("CREATE TABLE t (v int)"), IsOk());
  ASSERT_THAT(server_->Restart(), IsOk());
  // The pooled connection died with the old server; the next transaction reconnects.
  EXPECT_THAT(pool->Exec("INSERT INTO t VALUES (1)"), IsOk());

  // A restart in the middle of a transaction: the first try loses its connection before COMMIT, the
  // whole function runs again on a new connection and commits once.
  std::atomic<int> attempts{0};
  absl::Status s = pool->Transact([&](Tx& tx) -> absl::Status {
    attempts++;
    auto r = tx.Exec("INSERT INTO t VALUES (2)");
    if (!r.ok()) return r.status();
    if (tx.attempt() == 1) {
      if (absl::Status restarted = server_->Restart(); !restarted.ok()) return restarted;
    }
    return tx.Exec("INSERT INTO t VALUES (3)").status();
  });
  EXPECT_THAT(s, IsOk()) << s;
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(Scalar(pool->Exec("SELECT string_agg(v::text, ',' ORDER BY v) FROM t")), "1,2,3");
}

TEST_F(PgPoolTest, CommitWithUnknownOutcomeIsNotRetried) {
  auto pool = MakePool(2);
  // A deferred constraint trigger runs inside COMMIT; this one kills its own session there, so the
  // client loses the connection while committing and cannot know the outcome.
  ASSERT_THAT(pool->Exec("CREATE TABLE t (v int)"), IsOk());
  ASSERT_THAT(pool->Exec(R"sql(
      CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_terminate_backend(pg_backend_pid());
        RETURN NULL;
      END $$)sql"),
              IsOk());
  ASSERT_THAT(pool->Exec("CREATE CONSTRAINT TRIGGER die AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED "
                         "FOR EACH ROW EXECUTE FUNCTION die_at_commit()"),
              IsOk());
  std::atomic<int> attempts{0};
  absl::Status s = pool->Transact([&](Tx& tx) {
    attempts++;
    return tx.Exec("INSERT INTO t VALUES (1)").status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown) << s;
  EXPECT_EQ(attempts.load(), 1);
  // The pool recovers: the broken connection was dropped.
  EXPECT_EQ(Scalar(pool->Exec("SELECT 1")), "1");
}

TEST_F(PgPoolTest, ServerDownIsUnavailableQuickly) {
  auto pool = MakePool(2);
  EXPECT_EQ(Scalar(pool->Exec("SELECT 1")), "1");
  ASSERT_THAT(server_->Kill(), IsOk());

  TxOptions options;
  options.timeout = absl::Seconds(10);
  absl::Time start = absl::Now();
  absl::Status s = pool->Transact([](Tx& tx) { return tx.Exec("SELECT 1").status(); }, options);
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_LT(took, absl::Seconds(5)) << "gave up too slowly";
  EXPECT_NE(s.message().find("gave up after"), std::string::npos) << s;

  // A short deadline is kept even while retrying.
  options.timeout = absl::Milliseconds(300);
  start = absl::Now();
  s = pool->Transact([](Tx& tx) { return tx.Exec("SELECT 1").status(); }, options);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(pool->stats().open, 0);

  ASSERT_THAT(server_->Start(), IsOk());
  EXPECT_EQ(Scalar(pool->Exec("SELECT 2")), "2");

  // Nothing listening at all.
  PoolOptions nowhere;
  nowhere.dsn = absl::StrCat(server_->DsnFor("postgres"), " port=1");
  auto dead = PgPool::Create(nowhere);
  ASSERT_THAT(dead, IsOk());
  start = absl::Now();
  EXPECT_EQ((*dead)->Ping(absl::Seconds(3)).code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  // A database that does not exist is not worth retrying.
  PoolOptions wrong_db;
  wrong_db.dsn = server_->DsnFor("no_such_db");
  auto wrong = PgPool::Create(wrong_db);
  ASSERT_THAT(wrong, IsOk());
  EXPECT_EQ((*wrong)->Ping().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PgPoolTest, CopyTenThousandRows) {
  auto pool = MakePool(2);
  ASSERT_THAT(pool->Exec("CREATE SCHEMA raw"), IsOk());
  ASSERT_THAT(pool->Exec("CREATE TABLE raw.rows (id bigint PRIMARY KEY, note text, score double precision)"),
              IsOk());
  constexpr int kRows = 10000;
  const std::string special = "tab\there, newline\nthere, back\\slash, \xC3\xA9t\xC3\xA9 \xE2\x9C\x93";
  int64_t copied = 0;
  absl::Time start = absl::Now();
  absl::Status s = pool->Transact([&](Tx& tx) -> absl::Status {
    auto writer = tx.Copy("raw.rows", {"id", "note", "score"});
    if (!writer.ok()) return writer.status();
    for (int i = 0; i < kRows; ++i) {
      std::string id = std::to_string(i);
      std::string score = absl::StrCat(i, ".5");
      std::optional<absl::string_view> note;
      if (i == 7)
        note = special;
      else if (i % 3 != 0)
        note = "row";
      if (absl::Status w = (*writer)->WriteRow({id, note, score}); !w.ok()) return w;
    }
    auto n = (*writer)->Finish();
    if (!n.ok()) return n.status();
    copied = *n;
    return absl::OkStatus();
  });
  ASSERT_THAT(s, IsOk()) << s;
  EXPECT_EQ(copied, kRows);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM raw.rows")), "10000");
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM raw.rows WHERE note IS NULL")), "3334");
  EXPECT_EQ(Scalar(pool->Exec("SELECT note FROM raw.rows WHERE id = 7")), special);
  EXPECT_EQ(Scalar(pool->Exec("SELECT score FROM raw.rows WHERE id = 9999")), "9999.5");

  // A bad value fails the whole load: nothing of it is committed.
  s = pool->Transact([&](Tx& tx) -> absl::Status {
    auto writer = tx.Copy("raw.rows", {"id", "note", "score"});
    if (!writer.ok()) return writer.status();
    (void)(*writer)->WriteRow({"20000", "ok", "1"});
    (void)(*writer)->WriteRow({"20001", "bad", "not a number"});
    return (*writer)->Finish().status();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM raw.rows WHERE id >= 20000")), "0");

  // A writer dropped without Finish() fails the transaction (not retried: it is a bug).
  s = pool->Transact([&](Tx& tx) -> absl::Status {
    auto writer = tx.Copy("raw.rows", {"id", "note", "score"});
    if (!writer.ok()) return writer.status();
    return (*writer)->WriteRow({"30000", "lost", "1"});
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(Scalar(pool->Exec("SELECT count(*) FROM raw.rows WHERE id >= 20000")), "0");

  // Wrong width and bad names are refused before reaching the server.
  s = pool->Transact([&](Tx& tx) -> absl::Status {
    auto writer = tx.Copy("raw.rows", {"id", "note", "score"});
    if (!writer.ok()) return writer.status();
    return (*writer)->WriteRow({"1", "2"});
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = pool->Transact([&](Tx& tx) { return tx.Copy("raw.rows; DROP TABLE x", {"id"}).status(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

}  // namespace
}  // namespace marketlens::postgres
