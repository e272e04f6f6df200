// The feedback pipeline against real Redis and PostgreSQL: durable writes through the stream (once, even
// when redelivered), fold-in on another replica within seconds, Redis down -> direct writes, ForgetUser,
// exposures and assignments.
#include "services/recommender/serving/feedback.h"

#include "absl/time/clock.h"
#include "common/testing/migrated_database.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::IsOk;
using ::marketlens::testing::SharedPostgresServer;

class FeedbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 6}).pool;
    ASSERT_NE(pg_, nullptr);
    auto server = marketlens::testing::RedisServer::Create();
    ASSERT_THAT(server, IsOk());
    redis_server_ = *std::move(server);
    redis::RedisOptions options;
    options.port = redis_server_->port();
    redis_ = std::make_unique<redis::RedisClient>(options);
  }
  int64_t Count(const std::string& sql) {
    auto r = pg_->Exec(sql);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }
  std::unique_ptr<postgres::PgPool> pg_;
  std::unique_ptr<marketlens::testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
};

TEST_F(FeedbackTest, StreamToPostgresOnceAndLocalStateAtOnce) {
  OnlineState online;
  FeedbackPipeline p(redis_.get(), pg_.get(), &online, {.instance = "a", .block_ms = 50});
  ASSERT_TRUE(p.RecordEvent({.user_id = "u1",
                             .item_id = "i1",
                             .type = EventType::kPurchase,
                             .experiment_id = "e",
                             .variant = "b",
                             .surface = "home"})
                  .ok());
  ASSERT_THAT(p.RecordEvent({.user_id = "u1", .item_id = "i2", .type = EventType::kDoNotShow}), IsOk());
  EXPECT_TRUE(online.Get("u1").bought.contains("i1"));  // no wait for the writer
  EXPECT_TRUE(online.Get("u1").do_not_show.contains("i2"));
  EXPECT_EQ(p.stats().streamed, 2);
  auto written = p.WriteOnce(50);
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(*written, 2);
  EXPECT_EQ(
      Count(
          "SELECT count(*) FROM recsys.events WHERE user_id = 'u1' AND experiment_id = 'e' AND variant = 'b' "
          "AND surface = 'home' AND event = 'purchase'"),
      1);
  // A redelivered entry (e.g. the writer died before XACK) is not written twice.
  auto again = redis_->Command({"XADD", "recsys:feedback", "*", "kind", "event", "user", "u2", "item", "i1",
                                "event", "view", "time", "1700000000"});
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT(p.WriteOnce(50), IsOk());
  ASSERT_THAT(pg_->Exec("UPDATE recsys.events SET item_id = item_id"), IsOk());
  auto id = pg_->Exec("SELECT stream_id FROM recsys.events WHERE user_id = 'u2'");
  ASSERT_THAT(id, IsOk());
  ASSERT_EQ(id->size(), 1u);
  auto dup = pg_->Exec(
      "INSERT INTO recsys.events (user_id, item_id, event, stream_id) VALUES ('u2', 'i1', 'view', $1) "
      "ON CONFLICT (stream_id) WHERE stream_id IS NOT NULL DO NOTHING",
      (*id)[0][0].as<std::string>());
  ASSERT_THAT(dup, IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.events WHERE user_id = 'u2'"), 1);
}

TEST_F(FeedbackTest, OtherReplicasFoldInWithinSeconds) {
  OnlineState a_state, b_state;
  FeedbackPipeline a(redis_.get(), pg_.get(), &a_state, {.instance = "a", .block_ms = 100});
  FeedbackPipeline b(redis_.get(), pg_.get(), &b_state, {.instance = "b", .block_ms = 100});
  a.Start();
  b.Start();
  absl::SleepFor(absl::Milliseconds(300));  // the fold-in readers have found the stream's end
  ASSERT_THAT(a.RecordEvent({.user_id = "shopper", .item_id = "i9", .type = EventType::kAddToCart}), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && b_state.Get("shopper").events.empty())
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(b_state.Get("shopper").events.size(), 1u);
  EXPECT_EQ(b_state.Get("shopper").events[0].item_id, "i9");
  // Exactly one replica wrote it to Postgres.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (absl::Now() < until && Count("SELECT count(*) FROM recsys.events") == 0)
    absl::SleepFor(absl::Milliseconds(20));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.events"), 1);
  EXPECT_EQ(a.stats().written + b.stats().written, 1);
  // ForgetUser on a reaches b.
  auto deleted = a.ForgetUser("shopper");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 1);
  const absl::Time forget_deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < forget_deadline && !b_state.IsForgotten("shopper"))
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(b_state.IsForgotten("shopper"));
  EXPECT_TRUE(b_state.Get("shopper").empty());
  a.Stop();
  b.Stop();
}

TEST_F(FeedbackTest, RedisDownWritesDirectly) {
  OnlineState online;
  FeedbackPipeline p(redis_.get(), pg_.get(), &online, {.instance = "a"});
  ASSERT_THAT(redis_server_->Stop(), IsOk());
  ASSERT_THAT(p.RecordEvent({.user_id = "u", .item_id = "i", .type = EventType::kClick}), IsOk());
  EXPECT_EQ(p.stats().direct, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.events WHERE user_id = 'u' AND stream_id IS NULL"), 1);
  // No Redis configured at all: the same.
  FeedbackPipeline none(nullptr, pg_.get(), &online, {.instance = "n"});
  ASSERT_THAT(none.RecordEvent({.user_id = "v", .item_id = "i", .type = EventType::kClick}), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.events"), 2);
}

TEST_F(FeedbackTest, ForgetUserErasesEverythingAndStaysForgotten) {
  OnlineState online;
  FeedbackPipeline p(redis_.get(), pg_.get(), &online, {.instance = "a", .block_ms = 50});
  ASSERT_TRUE(
      pg_->Exec("INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES "
                "('x1', 'gone', 'i1', 'view', now()), ('x2', 'gone', 'i2', 'purchase', now()), "
                "('x3', 'stays', 'i1', 'view', now())")
          .ok());
  ASSERT_THAT(p.RecordEvent({.user_id = "gone", .item_id = "i3", .type = EventType::kLike}), IsOk());
  // Forgotten while the event is still in the stream: the writer must not bring it back.
  auto deleted = p.ForgetUser("gone");
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(*deleted, 2);
  ASSERT_THAT(p.WriteOnce(50), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.events WHERE user_id = 'gone'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.interactions WHERE customer_id = 'gone'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM raw.interactions"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.forgotten_users WHERE user_id = 'gone'"), 1);
  EXPECT_EQ(p.RecordEvent({.user_id = "gone", .item_id = "i3", .type = EventType::kLike}).code(),
            absl::StatusCode::kFailedPrecondition);
  // A restarted replica knows it from Postgres.
  OnlineState fresh;
  FeedbackPipeline restarted(redis_.get(), pg_.get(), &fresh, {.instance = "r"});
  ASSERT_THAT(restarted.LoadPersistentState(), IsOk());
  EXPECT_TRUE(fresh.IsForgotten("gone"));
  EXPECT_EQ(p.ForgetUser("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FeedbackTest, DoNotShowSurvivesRestartsAndExposuresAreBatched) {
  OnlineState online;
  FeedbackPipeline p(redis_.get(), pg_.get(), &online, {.instance = "a", .block_ms = 50});
  ASSERT_THAT(p.RecordEvent({.user_id = "u", .item_id = "hide-me", .type = EventType::kDoNotShow}), IsOk());
  ASSERT_THAT(p.WriteOnce(50), IsOk());
  OnlineState fresh;
  FeedbackPipeline restarted(redis_.get(), pg_.get(), &fresh, {.instance = "r"});
  ASSERT_THAT(restarted.LoadPersistentState(), IsOk());
  EXPECT_TRUE(fresh.Get("u").do_not_show.contains("hide-me"));

  ASSERT_THAT(pg_->Exec("INSERT INTO recsys.experiments (id, state) VALUES ('e1', 'running')"), IsOk());
  for (int k = 0; k < 3; ++k)
    p.RecordExposure({.experiment_id = "e1", .variant = "a", .user_id = "u", .items = 10});
  p.RecordExposure({.experiment_id = "e1", .variant = "b", .user_id = "w", .items = 10});
  ASSERT_THAT(p.FlushExposures(), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.exposures"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM recsys.assignments"), 2);
  EXPECT_EQ(p.stats().exposures_written, 4);
}

}  // namespace
}  // namespace marketlens::recommender
