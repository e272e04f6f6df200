// The retrieval index kept in step with a real PostgreSQL: the initial load reads every review and contact;
// a refresh picks up reviews the pipeline analysed since (new or edited) and contacts first seen since;
// before the initial load a product or customer is loaded on demand; the background thread does all that
// by itself; a small index keeps the newest documents.
#include "services/analyzer/rag/corpus_sync.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/pipeline.h"
#include "services/analyzer/raw_data_fixture.h"

namespace marketlens::analyzer::rag {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using analyzer::testing::AddProduct;
using analyzer::testing::AddReview;
using analyzer::testing::AddReviews;
using ::marketlens::testing::IsOk;

class CorpusSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = marketlens::testing::PostgresServer::StartOrDie();
    pool_ = CreateMigratedDatabaseOrFail(*pg_).pool;
    now_ = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
    ASSERT_THAT(AddProduct(*pool_, "p-1", "Voltix Bluetooth Speaker", "Voltix", "Electronics"), IsOk());
    ASSERT_THAT(AddProduct(*pool_, "p-2", "Sonara Earbuds", "Sonara", "Electronics"), IsOk());
    ASSERT_THAT(AddReviews(*pool_, "a", "p-1", 20, true, now_ - absl::Hours(24 * 100), now_), IsOk());
    ASSERT_THAT(AddReviews(*pool_, "b", "p-2", 20, false, now_ - absl::Hours(24 * 100), now_, 2), IsOk());
    ASSERT_TRUE(AddReview(*pool_, "hinge-1", "p-1", 5, "Solid", "The hinge of the carry handle is solid.",
                          now_ - absl::Hours(24 * 50), 1, "u1")
                    .ok());
    ASSERT_TRUE(
        pool_
            ->Exec("INSERT INTO raw.contacts (id, customer_id, started_at, channel, topic, notes,"
                   " product_id) VALUES ('k1', 'u1', '2025-04-01T10:00:00Z', 'email', 'delivery delay',"
                   " 'Parcel late, courier lost it.', ''), ('k2', 'u2', '2025-04-02T10:00:00Z', 'call',"
                   " 'warranty claim', 'Left earbud stopped working.', 'p-2')")
            .ok());
    engine_ = *Engine::Create();
    store_ = std::make_unique<InsightsStore>(pool_.get());
    pipeline_ =
        std::make_unique<Pipeline>(store_.get(), engine_.get(), nullptr, PipelineOptions{}, &metrics_);
    ASSERT_THAT(pipeline_->Init(), IsOk());
    ASSERT_THAT(pipeline_->CatchUp(), IsOk());
  }

  std::vector<std::string> Find(CorpusIndex& index, const std::string& query, const CorpusFilter& filter) {
    std::vector<std::string> ids;
    for (const auto& h : index.Search(query, filter, 10)) ids.push_back(h.id);
    return ids;
  }

  std::unique_ptr<marketlens::testing::PostgresServer> pg_;
  std::unique_ptr<postgres::PgPool> pool_;
  absl::Time now_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<InsightsStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
  AnalyzerMetrics metrics_{std::make_shared<prometheus::Registry>()};
};

TEST_F(CorpusSyncTest, LoadsEverythingThenFollowsNewEditedAndFirstSeenRows) {
  CorpusIndex index;
  CorpusSync sync(pool_.get(), &index, {}, &metrics_);
  ASSERT_THAT(sync.SyncAll(), IsOk());
  EXPECT_TRUE(sync.synced());
  EXPECT_EQ(index.stats().reviews, 41u);
  EXPECT_EQ(index.stats().contacts, 2u);
  EXPECT_EQ(metrics_.retrieval_documents("review").Value(), 41);
  EXPECT_EQ(Find(index, "hinge", {.product_id = "p-1"}), std::vector<std::string>{"hinge-1"});
  EXPECT_EQ(Find(index, "courier parcel", {.customer_id = "u1"}), std::vector<std::string>{"k1"});

  // A new review: searchable once the pipeline has analysed it and the index refreshed.
  ASSERT_TRUE(
      AddReview(*pool_, "new-1", "p-1", 2, "Tinny", "The tweeter sounds tinny at high volume.", now_).ok());
  ASSERT_THAT(sync.Refresh(), IsOk());
  EXPECT_TRUE(Find(index, "tweeter", {}).empty());  // stored, not analysed yet: the pipeline comes first
  ASSERT_THAT(pipeline_->ProcessReviews({"new-1"}, "stream"), IsOk());
  ASSERT_THAT(sync.Refresh(), IsOk());
  EXPECT_EQ(Find(index, "tweeter", {.product_id = "p-1"}), std::vector<std::string>{"new-1"});

  // An edit (version 2) replaces the old text.
  ASSERT_TRUE(pool_
                  ->Exec("UPDATE raw.reviews SET text = 'The hinge cracked after a month.', version = 2,"
                         " updated_at = now() WHERE id = 'hinge-1'")
                  .ok());
  ASSERT_THAT(pipeline_->ProcessReviews({"hinge-1"}, "stream"), IsOk());
  ASSERT_THAT(sync.Refresh(), IsOk());
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "hinge-1"), 2);
  EXPECT_EQ(Find(index, "cracked month", {.product_id = "p-1"}).front(), "hinge-1");
  EXPECT_TRUE(Find(index, "carry handle", {.product_id = "p-1"}).empty());

  // A new contact.
  ASSERT_TRUE(pool_
                  ->Exec("INSERT INTO raw.contacts (id, customer_id, started_at, channel, topic, notes)"
                         " VALUES ('k3', 'u1', '2025-05-01T10:00:00Z', 'chat', 'refund request',"
                         " 'Wants a refund for the speaker.')")
                  .ok());
  ASSERT_THAT(sync.Refresh(), IsOk());
  EXPECT_EQ(Find(index, "refund", {.customer_id = "u1"}), std::vector<std::string>{"k3"});
  // Nothing is read twice: a second full pass changes nothing.
  const size_t before = index.stats().postings;
  ASSERT_THAT(sync.SyncAll(), IsOk());
  EXPECT_EQ(index.stats().postings, before);
}

TEST_F(CorpusSyncTest, BeforeTheFullLoadScopesAreLoadedOnDemand) {
  CorpusIndex index;
  // No allowance: the first refresh does not re-read the analyses SetUp just wrote.
  CorpusSync sync(pool_.get(), &index, {.commit_allowance = absl::ZeroDuration()}, &metrics_);
  ASSERT_THAT(sync.EnsureProduct("p-1", absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_EQ(Find(index, "hinge", {.product_id = "p-1"}), std::vector<std::string>{"hinge-1"});
  EXPECT_TRUE(Find(index, "stopped working", {.product_id = "p-2"}).empty());  // not asked for yet
  ASSERT_THAT(sync.EnsureCustomer("u2", absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_EQ(Find(index, "earbud", {.customer_id = "u2"}), std::vector<std::string>{"k2"});
  EXPECT_EQ(index.stats().documents, 22u);  // p-1's 21 reviews and u2's contact
  EXPECT_EQ(metrics_.retrieval_syncs("scope", "ok").Value(), 2);
}

TEST_F(CorpusSyncTest, TheBackgroundThreadLoadsAndRefreshesByItself) {
  CorpusIndex index;
  CorpusSync sync(pool_.get(), &index, {.refresh_interval = absl::Milliseconds(100)}, &metrics_);
  sync.Start();
  absl::Time until = absl::Now() + absl::Seconds(10);
  while (!sync.synced() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(sync.synced());
  ASSERT_TRUE(
      AddReview(*pool_, "new-2", "p-2", 1, "Buzz", "A loud buzzing noise in the right earbud.", now_).ok());
  ASSERT_THAT(pipeline_->ProcessReviews({"new-2"}, "stream"), IsOk());
  const absl::Time analysed = absl::Now();
  until = absl::Now() + absl::Seconds(10);
  while (Find(index, "buzzing", {}).empty() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(Find(index, "buzzing", {.product_id = "p-2"}), std::vector<std::string>{"new-2"});
  std::printf("analysed review searchable after %.0f ms\n",
              absl::ToDoubleMilliseconds(absl::Now() - analysed));
  sync.Stop();
}

TEST_F(CorpusSyncTest, ASmallIndexKeepsTheNewest) {
  CorpusIndex index({.max_docs = 10});
  CorpusSync sync(pool_.get(), &index, {.batch = 7}, &metrics_);  // several keyset pages
  ASSERT_THAT(sync.SyncAll(), IsOk());
  EXPECT_EQ(index.stats().documents, 10u);
  // The newest of each product's reviews are kept; the April contacts are older than all of them.
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "a-19"), 1);
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "b-19"), 1);
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "a-0"), 0);
  EXPECT_EQ(index.IndexedVersion(Source::kContact, "k1"), 0);
}

}  // namespace
}  // namespace marketlens::analyzer::rag
