// Stream helpers against a real redis-server: the collector -> analyzer hand-off (XADD, consumer group,
// XREADGROUP, XACK), redelivery of unacknowledged entries after a consumer restart, and blocking reads.
#include "common/redis/streams.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis/client.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::redis {
namespace {

using ::marketlens::testing::IsOk;

using ::marketlens::testing::RedisServer;

class StreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Create();
    ASSERT_THAT(server, IsOk()) << server.status();
    server_ = *std::move(server);
    client_ = NewClient();
  }

  std::unique_ptr<RedisClient> NewClient() const {
    RedisOptions options;
    options.host = server_->host();
    options.port = server_->port();
    options.name = "streams_test";
    return std::make_unique<RedisClient>(options);
  }

  std::vector<std::string> Ids(const std::vector<StreamEntry>& entries) {
    std::vector<std::string> ids;
    for (const auto& e : entries) ids.push_back(e.id);
    return ids;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(StreamsTest, AddReadAck) {
  ASSERT_THAT(client_->XGroupCreate("reviews", "analyzer", /*mkstream=*/true), IsOk());
  // Every consumer calls this at start-up: an existing group (BUSYGROUP) is fine.
  ASSERT_THAT(client_->XGroupCreate("reviews", "analyzer", /*mkstream=*/true), IsOk());

  const std::string binary("\0\r\n\xff", 4);
  auto id1 = client_->XAdd("reviews", {{"review_id", "r1"}, {"text", "great"}, {"blob", binary}});
  auto id2 = client_->XAdd("reviews", {{"review_id", "r2"}});
  ASSERT_THAT(id1, IsOk()) << id1.status();
  ASSERT_THAT(id2, IsOk()) << id2.status();
  EXPECT_LT(*id1, *id2);

  auto entries = client_->XReadGroup("analyzer", "c1", "reviews", 10, /*block_ms=*/0);
  ASSERT_THAT(entries, IsOk()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].id, *id1);
  StreamFields expected = {{"review_id", "r1"}, {"text", "great"}, {"blob", binary}};
  EXPECT_EQ((*entries)[0].fields, expected);
  EXPECT_EQ(*(*entries)[1].Find("review_id"), "r2");

  // Delivered once per group: nothing new now.
  auto again = client_->XReadGroup("analyzer", "c2", "reviews", 10, 0);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->empty());

  auto acked = client_->XAck("reviews", "analyzer", {*id1, *id2});
  ASSERT_THAT(acked, IsOk()) << acked.status();
  EXPECT_EQ(*acked, 2);
  auto pending = client_->XReadGroup("analyzer", "c1", "reviews", 10, 0, "0");
  ASSERT_THAT(pending, IsOk());
  EXPECT_TRUE(pending->empty());
  EXPECT_EQ(*client_->XAck("reviews", "analyzer", {}), 0);
}

TEST_F(StreamsTest, GroupCreatedAfterEntriesSeesThemFromZero) {
  ASSERT_THAT(client_->XAdd("s", {{"n", "1"}}), IsOk());
  ASSERT_THAT(client_->XGroupCreate("s", "from_zero"), IsOk());
  ASSERT_THAT(client_->XGroupCreate("s", "from_now", true, "$"), IsOk());
  EXPECT_EQ(client_->XReadGroup("from_zero", "c", "s", 10, 0)->size(), 1u);
  EXPECT_EQ(client_->XReadGroup("from_now", "c", "s", 10, 0)->size(), 0u);
}

TEST_F(StreamsTest, PendingEntriesAreRedeliveredAfterConsumerRestart) {
  ASSERT_THAT(client_->XGroupCreate("work", "g"), IsOk());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*client_->XAdd("work", {{"n", absl::StrCat(i)}}));

  {
    // A consumer reads three entries, processes only the first, then dies (its client goes away).
    auto consumer = NewClient();
    auto got = consumer->XReadGroup("g", "analyzer-0", "work", 3, 0);
    ASSERT_THAT(got, IsOk()) << got.status();
    ASSERT_EQ(Ids(*got), (std::vector<std::string>{ids[0], ids[1], ids[2]}));
    ASSERT_EQ(*consumer->XAck("work", "g", {ids[0]}), 1);
  }

  // Restarted with the same name, it first drains its own pending entries ("0"), then new ones (">").
  auto restarted = NewClient();
  auto pending = restarted->XReadGroup("g", "analyzer-0", "work", 10, 0, "0");
  ASSERT_THAT(pending, IsOk()) << pending.status();
  EXPECT_EQ(Ids(*pending), (std::vector<std::string>{ids[1], ids[2]}));
  EXPECT_EQ(*(*pending)[0].Find("n"), "1");
  ASSERT_EQ(*restarted->XAck("work", "g", Ids(*pending)), 2);

  auto fresh = restarted->XReadGroup("g", "analyzer-0", "work", 10, 0);
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(Ids(*fresh), (std::vector<std::string>{ids[3], ids[4]}));
  ASSERT_EQ(*restarted->XAck("work", "g", Ids(*fresh)), 2);
  EXPECT_TRUE(restarted->XReadGroup("g", "analyzer-0", "work", 10, 0, "0")->empty());
}

TEST_F(StreamsTest, AnotherConsumerClaimsADeadConsumersEntries) {
  ASSERT_THAT(client_->XGroupCreate("work", "g"), IsOk());
  std::string a = *client_->XAdd("work", {{"n", "a"}});
  std::string b = *client_->XAdd("work", {{"n", "b"}});
  ASSERT_EQ(client_->XReadGroup("g", "dead-pod", "work", 10, 0)->size(), 2u);
  // b is deleted from the stream while pending: it is reported, not delivered.
  ASSERT_EQ(client_->Command({"XDEL", "work", b})->integer(), 1);

  absl::SleepFor(absl::Milliseconds(20));
  auto claimed = client_->XAutoClaim("work", "g", "new-pod", absl::Milliseconds(10));
  ASSERT_THAT(claimed, IsOk()) << claimed.status();
  EXPECT_EQ(claimed->next_start_id, "0-0");
  ASSERT_EQ(claimed->entries.size(), 1u);
  EXPECT_EQ(claimed->entries[0].id, a);
  EXPECT_EQ(*claimed->entries[0].Find("n"), "a");
  EXPECT_EQ(claimed->deleted_ids, std::vector<std::string>{b});
  // Now pending for new-pod.
  EXPECT_EQ(client_->XReadGroup("g", "new-pod", "work", 10, 0, "0")->size(), 1u);
  EXPECT_TRUE(client_->XReadGroup("g", "dead-pod", "work", 10, 0, "0")->empty());
}

TEST_F(StreamsTest, BlockingReadTimesOutEmptyOrWakesOnAdd) {
  ASSERT_THAT(client_->XGroupCreate("s", "g"), IsOk());
  absl::Time start = absl::Now();
  // Longer than the 200 ms command timeout: the call's timeout is block + command timeout.
  auto empty = client_->XReadGroup("g", "c", "s", 10, /*block_ms=*/300);
  absl::Duration elapsed = absl::Now() - start;
  ASSERT_THAT(empty, IsOk()) << empty.status();
  EXPECT_TRUE(empty->empty());
  EXPECT_GE(elapsed, absl::Milliseconds(280));
  EXPECT_LT(elapsed, absl::Milliseconds(1000));

  std::thread producer([&] {
    absl::SleepFor(absl::Milliseconds(100));
    auto producer_client = NewClient();
    EXPECT_THAT(producer_client->XAdd("s", {{"k", "v"}}), IsOk());
  });
  start = absl::Now();
  auto woke = client_->XReadGroup("g", "c", "s", 10, /*block_ms=*/2000);
  elapsed = absl::Now() - start;
  producer.join();
  ASSERT_THAT(woke, IsOk()) << woke.status();
  ASSERT_EQ(woke->size(), 1u);
  EXPECT_LT(elapsed, absl::Milliseconds(1500));
}

TEST_F(StreamsTest, ApproximateMaxlenTrims) {
  for (int i = 0; i < 1000; ++i) {
    ASSERT_THAT(client_->XAdd("capped", {{"i", absl::StrCat(i)}}, /*approx_maxlen=*/100), IsOk());
  }
  int64_t len = client_->Command({"XLEN", "capped"})->integer();
  EXPECT_GE(len, 100);
  EXPECT_LE(len, 300);  // "~" trims whole radix-tree nodes (100 entries each by default).
}

TEST_F(StreamsTest, Errors) {
  EXPECT_EQ(client_->XReadGroup("nogroup", "c", "s", 1, 0).status().code(), absl::StatusCode::kNotFound);
  ASSERT_THAT(client_->Set("plain", "x"), IsOk());
  EXPECT_EQ(client_->XAdd("plain", {{"k", "v"}}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client_->XAdd("s", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(client_->XGroupCreate("no_stream", "g", /*mkstream=*/false).ok());
}

}  // namespace
}  // namespace marketlens::redis
