// The recommender's gRPC service end to end, in process, against real PostgreSQL and Redis: the paths and
// their errors, feedback changing the next answer, privacy erasure, A/B experiments with results, and
// promote / rollback under load without a single failed call.
#include "services/recommender/serving/service.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/grpc_status_matchers.h"
#include "common/testing/migrated_database.h"
#include "common/testing/redis_fixture.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/client_unary_call.h"
#include "gtest/gtest.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/serving/serving_fixture.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;
using ::marketlens::testing::SharedPostgresServer;

using ::marketlens::testing::IsOk;
using testing::World;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = CreateMigratedDatabaseOrFail(SharedPostgresServer(), {.pool_size = 12}).pool;
    ASSERT_NE(pg_, nullptr);
    auto redis_server = marketlens::testing::RedisServer::Create();
    ASSERT_THAT(redis_server, IsOk());
    redis_server_ = *std::move(redis_server);
    redis::RedisOptions options;
    options.port = redis_server_->port();
    redis_ = std::make_unique<redis::RedisClient>(options);

    // The catalogue in raw.products (as the collector writes it).
    for (const CatalogItem& item : World().items) {
      ASSERT_TRUE(
          pg_->Exec("INSERT INTO raw.products (id, title, category, description, price_cents, stock, margin, "
                    "updated_at) VALUES ($1, $2, $3, $4, 1000, $5, $6, now())",
                    item.id, item.info.title, item.info.category, item.info.description, item.stock,
                    item.margin.value_or(0.2))
              .ok());
    }
    // Two registered model versions, v1 promoted.
    registry_ = std::make_unique<ModelRegistry>(pg_.get());
    for (const char* version : {"v1", "v2"}) {
      ModelBundle bundle = World().model->bundle();
      bundle.version = version;
      const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", version, ".mlrec");
      ASSERT_THAT(WriteBundleFile(bundle, path), IsOk());
      ASSERT_THAT(registry_->Register(RecordFromBundle(bundle, "file://" + path)), IsOk());
    }
    ASSERT_THAT(registry_->Promote("v1"), IsOk());

    online_ = std::make_unique<OnlineState>();
    cache_ = std::make_unique<HotListCache>(redis_.get(), absl::Minutes(1),
                                            std::make_shared<prometheus::Registry>());
    engine_ = std::make_unique<Engine>(EngineOptions{.rules = {.max_per_category = 0}}, online_.get(),
                                       cache_.get());
    models_ = std::make_unique<ModelManager>(
        pg_.get(), ModelManagerOptions{.poll_interval = absl::Milliseconds(100), .bootstrap_train = false});
    models_->Start();
    ASSERT_NE(models_->Current(), nullptr);
    feedback_ = std::make_unique<FeedbackPipeline>(redis_.get(), pg_.get(), online_.get(),
                                                   FeedbackOptions{.instance = "test", .block_ms = 50});
    feedback_->Start();
    experiments_ = std::make_unique<ExperimentStore>(pg_.get());
    service_ = std::make_unique<RecommenderServiceImpl>(engine_.get(), models_.get(), feedback_.get(),
                                                        registry_.get(), experiments_.get(),
                                                        std::make_shared<prometheus::Registry>(), pg_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::RecommenderService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (feedback_) feedback_->Stop();
    if (models_) models_->Stop();
  }

  grpc::Status Recommend(const v1::RecommendRequest& req, v1::RecommendResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub_->Recommend(&ctx, req, resp);
  }
  v1::RecommendResponse MustRecommend(const std::string& user, int n = 10) {
    v1::RecommendRequest req;
    req.set_user_id(user);
    req.set_n(n);
    req.set_surface("home");
    v1::RecommendResponse resp;
    grpc::Status s = Recommend(req, &resp);
    EXPECT_THAT(s, IsOk());
    return resp;
  }
  grpc::Status Feedback(const std::string& user, const std::string& item, v1::FeedbackEvent event,
                        const std::string& experiment = "") {
    grpc::ClientContext ctx;
    v1::RecordFeedbackRequest req;
    req.set_user_id(user);
    req.set_item_id(item);
    req.set_event(event);
    req.set_experiment_id(experiment);
    v1::RecordFeedbackResponse resp;
    return stub_->RecordFeedback(&ctx, req, &resp);
  }
  int InCluster(const v1::RecommendResponse& r, int cluster) {
    int n = 0;
    for (const auto& item : r.items()) n += World().Cluster(item.item_id()) == cluster;
    return n;
  }
  int64_t Count(const std::string& sql) {
    auto r = pg_->Exec(sql);
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  }
  // Exposures and feedback reach Postgres asynchronously (a batch the background flusher has taken may
  // still be in flight when FlushExposures returns): waits until `sql` counts `want`, failing the test
  // with what it counted at the deadline.
  bool WaitForCount(const std::string& sql, int64_t want, absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      (void)feedback_->FlushExposures();
      const int64_t n = Count(sql);
      if (n == want) return true;
      if (absl::Now() >= deadline) {
        ADD_FAILURE() << sql << " counted " << n << ", want " << want << " within " << timeout;
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  std::unique_ptr<postgres::PgPool> pg_;
  std::unique_ptr<marketlens::testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<OnlineState> online_;
  std::unique_ptr<HotListCache> cache_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<FeedbackPipeline> feedback_;
  std::unique_ptr<ExperimentStore> experiments_;
  std::unique_ptr<RecommenderServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RecommenderService::Stub> stub_;
};

TEST_F(ServiceTest, PathsReasonsAndErrors) {
  const std::string user = World().UserInCluster(3);
  v1::RecommendResponse known = MustRecommend(user);
  EXPECT_EQ(known.model_version(), "v1");
  EXPECT_EQ(known.items_size(), 10);
  EXPECT_GE(InCluster(known, 3), 8);
  EXPECT_TRUE(known.experiment_id().empty());
  for (const auto& item : known.items()) {
    EXPECT_FALSE(item.reason().empty());
    // Product details from the catalogue (raw.products), so clients need not look the ids up.
    const CatalogItem* product = models_->Catalog()->Find(item.item_id());
    ASSERT_NE(product, nullptr) << item.item_id();
    EXPECT_EQ(item.title(), product->info.title);
    EXPECT_FALSE(item.title().empty());
    EXPECT_EQ(item.category(), product->info.category);
    EXPECT_DOUBLE_EQ(item.price(), 10.0);  // price_cents 1000
  }

  v1::RecommendRequest cold;
  cold.set_user_id("brand-new-shopper");
  cold.set_n(5);
  cold.mutable_context()->set_category("cat1");
  v1::RecommendResponse cold_resp;
  ASSERT_THAT(Recommend(cold, &cold_resp), IsOk());
  ASSERT_EQ(cold_resp.items_size(), 5);
  EXPECT_EQ(InCluster(cold_resp, 1), 5);
  EXPECT_EQ(cold_resp.items(0).reason(), "popular in cat1 this week");
  EXPECT_EQ(cold_resp.items(0).source(), "popular");
  // Asked again on this replica, it comes from the in-process memo; another replica (or this one after a
  // restart) finds it in the Redis hot-list cache.
  const int64_t hits = cache_->hits(), misses = cache_->misses();
  ASSERT_THAT(Recommend(cold, &cold_resp), IsOk());
  EXPECT_EQ(cache_->hits() + cache_->misses(), hits + misses);
  Engine other_replica(EngineOptions{.rules = {.max_per_category = 0}}, online_.get(), cache_.get());
  auto again = other_replica.Recommend(models_->Current().get(), models_->Catalog().get(),
                                       {.user_id = "brand-new-shopper", .n = 5, .category = "cat1"});
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(cache_->hits(), hits + 1);
  EXPECT_EQ(again->items[0].item_id, cold_resp.items(0).item_id());

  v1::RecommendRequest bad;
  bad.set_n(101);
  v1::RecommendResponse ignored;
  grpc::Status s = Recommend(bad, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "n must be 1..100, got 101");

  grpc::ClientContext c1;
  v1::SimilarItemsRequest sim;
  sim.set_item_id("no-such-item");
  v1::ItemsResponse items;
  s = stub_->SimilarItems(&c1, sim, &items);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown item `no-such-item`");

  grpc::ClientContext c2;
  sim.set_item_id("i7");
  sim.set_n(5);
  ASSERT_THAT(stub_->SimilarItems(&c2, sim, &items), IsOk());
  EXPECT_EQ(items.items_size(), 5);
  EXPECT_EQ(items.model_version(), "v1");
  for (const auto& item : items.items()) {
    EXPECT_EQ(item.title(), models_->Catalog()->DisplayName(item.item_id()));
    EXPECT_FALSE(item.category().empty());
    EXPECT_DOUBLE_EQ(item.price(), 10.0);
  }
  // Asked again, the list comes from the in-process memo: Redis is not read, the answer is the same.
  const int64_t cache_calls = cache_->hits() + cache_->misses();
  grpc::ClientContext c_again;
  v1::ItemsResponse similar_again;
  ASSERT_THAT(stub_->SimilarItems(&c_again, sim, &similar_again), IsOk());
  EXPECT_EQ(cache_->hits() + cache_->misses(), cache_calls);
  EXPECT_EQ(similar_again.SerializeAsString(), items.SerializeAsString());

  grpc::ClientContext c5;
  v1::FrequentlyBoughtTogetherRequest fbt_ok;
  fbt_ok.add_item_ids("i7");
  fbt_ok.set_n(3);
  v1::ItemsResponse fbt_items;
  ASSERT_THAT(stub_->FrequentlyBoughtTogether(&c5, fbt_ok, &fbt_items), IsOk());
  for (const auto& item : fbt_items.items()) {
    EXPECT_FALSE(item.title().empty());
    EXPECT_DOUBLE_EQ(item.price(), 10.0);
  }

  grpc::ClientContext c3;
  v1::FrequentlyBoughtTogetherRequest fbt;
  v1::ItemsResponse fbt_resp;
  EXPECT_EQ(stub_->FrequentlyBoughtTogether(&c3, fbt, &fbt_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext c4;
  v1::RerankRequest rerank;
  rerank.set_user_id(user);
  for (const char* id : {"i0", "i1", "i3", "i8"}) rerank.add_item_ids(id);
  v1::ItemsResponse reranked;
  ASSERT_THAT(stub_->Rerank(&c4, rerank, &reranked), IsOk());
  ASSERT_EQ(reranked.items_size(), 4);
  EXPECT_EQ(World().Cluster(reranked.items(0).item_id()), 3);
  for (const auto& item : reranked.items()) {
    EXPECT_EQ(item.title(), models_->Catalog()->DisplayName(item.item_id()));
    EXPECT_EQ(item.category(), models_->Catalog()->Find(item.item_id())->info.category);
    EXPECT_DOUBLE_EQ(item.price(), 10.0);
  }

  EXPECT_EQ(Feedback(user, "i1", v1::FEEDBACK_EVENT_UNSPECIFIED).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Feedback("", "i1", v1::FEEDBACK_EVENT_CLICK).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Feedback(user, "ghost", v1::FEEDBACK_EVENT_CLICK).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Recommend reads raw bytes (response_encoding.h): bytes that are not a RecommendRequest are refused.
TEST_F(ServiceTest, RecommendRefusesBytesThatAreNotARequest) {
  const std::string garbage = "\xff\xff\xff\xff";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status s = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(),
      grpc::internal::RpcMethod("/marketlens.recommender.v1.RecommenderService/Recommend",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      &ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // A well-formed request on the same channel is answered.
  EXPECT_EQ(MustRecommend(World().UserInCluster(2)).items_size(), 10);
}

TEST_F(ServiceTest, FeedbackChangesTheNextAnswerAndIsStored) {
  const std::string user = World().UserInCluster(0);
  v1::RecommendResponse before = MustRecommend(user);
  for (const char* item : {"i4", "i9", "i14", "i19", "i24", "i29"}) {
    ASSERT_THAT(Feedback(user, item, v1::FEEDBACK_EVENT_PURCHASE), IsOk());
  }
  v1::RecommendResponse after = MustRecommend(user);  // no waiting: the very next call
  EXPECT_GT(InCluster(after, 4), InCluster(before, 4) + 2);
  const std::string hidden = after.items(0).item_id();
  ASSERT_THAT(Feedback(user, hidden, v1::FEEDBACK_EVENT_DO_NOT_SHOW), IsOk());
  v1::RecommendResponse without = MustRecommend(user);
  for (const auto& item : without.items()) EXPECT_NE(item.item_id(), hidden);
  // Durable within seconds.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && Count("SELECT count(*) FROM recsys.events") < 7)
    absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM recsys.events WHERE user_id = '", user, "'")), 7);
}

// The recommender's step of a privacy erasure (docs/privacy.md): export first, then erase with counts per
// kind; idempotent; the user is cold-start afterwards and their feedback refused.
TEST_F(ServiceTest, ExportThenEraseUser) {
  const std::string user = World().UserInCluster(1);
  ASSERT_THAT(Feedback(user, "i3", v1::FEEDBACK_EVENT_CLICK), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto events = [&] {
    auto r = pg_->Exec("SELECT count(*) FROM recsys.events WHERE user_id = $1", user);
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  };
  while (absl::Now() < deadline && events() < 1) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(events(), 1);

  grpc::ClientContext ex;
  privacy::v1::ExportUserRequest export_req;
  export_req.set_user_id(user);
  privacy::v1::ExportUserResponse exported;
  ASSERT_THAT(stub_->ExportUser(&ex, export_req, &exported), IsOk());
  EXPECT_EQ(exported.service(), "recommender");
  ASSERT_GE(exported.tables_size(), 1);
  EXPECT_EQ(exported.tables(0).name(), "recsys.events");
  ASSERT_EQ(exported.tables(0).rows_size(), 1);
  EXPECT_EQ(exported.tables(0).rows(0).fields().at("item_id").string_value(), "i3");

  privacy::v1::EraseUserRequest req;
  req.set_user_id(user);
  req.set_erasure_id("job-1");
  for (int round = 0; round < 2; ++round) {
    grpc::ClientContext ctx;
    privacy::v1::EraseUserResponse resp;
    ASSERT_THAT(stub_->EraseUser(&ctx, req, &resp), IsOk());
    std::map<std::string, int64_t> kinds;
    for (const auto& e : resp.erased()) kinds[e.kind()] = e.count();
    EXPECT_EQ(kinds["recsys.events"], round == 0 ? 1 : 0) << round;
    EXPECT_TRUE(kinds.contains("recsys.exposures"));
    EXPECT_TRUE(kinds.contains("raw.interactions"));
  }
  EXPECT_EQ(events(), 0);
  const v1::RecommendResponse after = MustRecommend(user, 5);  // their vector is no longer used
  for (const auto& item : after.items()) EXPECT_EQ(item.source(), "popular");
  EXPECT_EQ(Feedback(user, "i2", v1::FEEDBACK_EVENT_LIKE).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext bad;
  privacy::v1::EraseUserRequest empty;
  privacy::v1::EraseUserResponse resp;
  EXPECT_EQ(stub_->EraseUser(&bad, empty, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// An event of a user tombstoned by the gateway (privacy.tombstones) is never written, even before the
// recommender's own step ran.
TEST_F(ServiceTest, FeedbackOfATombstonedUserIsNotWritten) {
  const std::string user = World().UserInCluster(3);
  ASSERT_TRUE(
      pg_->Exec("INSERT INTO privacy.tombstones (subject_hash) VALUES (privacy.subject_hash($1))", user)
          .ok());
  (void)Feedback(user, "i4", v1::FEEDBACK_EVENT_CLICK);
  const std::string other = World().UserInCluster(0);
  ASSERT_THAT(Feedback(other, "i4", v1::FEEDBACK_EVENT_CLICK), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto count = [&](const std::string& u) {
    auto r = pg_->Exec("SELECT count(*) FROM recsys.events WHERE user_id = $1 AND item_id = 'i4'", u);
    return r.ok() ? (*r)[0][0].as<int64_t>() : -1;
  };
  while (absl::Now() < deadline && count(other) < 1) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(count(other), 1);  // the writer has passed both events
  EXPECT_EQ(count(user), 0);
}

TEST_F(ServiceTest, ForgetUser) {
  const std::string user = World().UserInCluster(2);
  ASSERT_THAT(Feedback(user, "i2", v1::FEEDBACK_EVENT_LIKE), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && Count("SELECT count(*) FROM recsys.events") < 1)
    absl::SleepFor(absl::Milliseconds(50));
  grpc::ClientContext ctx;
  v1::ForgetUserRequest req;
  req.set_user_id(user);
  v1::ForgetUserResponse resp;
  ASSERT_THAT(stub_->ForgetUser(&ctx, req, &resp), IsOk());
  EXPECT_EQ(resp.events_deleted(), 1);
  // Their vector is no longer used: they get the cold-start answer.
  v1::RecommendResponse after = MustRecommend(user, 5);
  for (const auto& item : after.items()) EXPECT_EQ(item.source(), "popular");
  EXPECT_EQ(Feedback(user, "i2", v1::FEEDBACK_EVENT_LIKE).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext bad;
  v1::ForgetUserRequest empty;
  EXPECT_EQ(stub_->ForgetUser(&bad, empty, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, ExperimentsAssignServeAndReport) {
  grpc::ClientContext ctx;
  v1::CreateExperimentRequest create;
  v1::Experiment* e = create.mutable_experiment();
  e->set_id("exp-home");
  e->set_state("running");
  e->add_surfaces("home");
  auto* control = e->add_variants();
  control->set_name("control");
  control->set_weight(1);
  auto* treatment = e->add_variants();
  treatment->set_name("treatment");
  treatment->set_weight(1);
  treatment->set_model_version("v2");
  v1::Experiment created;
  grpc::Status s = stub_->CreateExperiment(&ctx, create, &created);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(created.salt(), "exp-home");

  std::map<std::string, int> per_variant;
  for (int u = 0; u < 200; ++u) {
    const std::string user = absl::StrCat("u", u);
    v1::RecommendResponse r = MustRecommend(user, 5);
    ASSERT_EQ(r.experiment_id(), "exp-home");
    ++per_variant[r.variant()];
    EXPECT_EQ(r.model_version(), r.variant() == "treatment" ? "v2" : "v1");
    EXPECT_EQ(MustRecommend(user, 5).variant(), r.variant());  // stable
    if (u % 4 == 0) {
      ASSERT_THAT(Feedback(user, r.items(0).item_id(), v1::FEEDBACK_EVENT_PURCHASE, "exp-home"), IsOk());
    }
  }
  EXPECT_GT(per_variant["control"], 70);
  EXPECT_GT(per_variant["treatment"], 70);
  // Other surfaces are outside the experiment.
  v1::RecommendRequest email;
  email.set_user_id("u1");
  email.set_surface("email");
  v1::RecommendResponse email_resp;
  ASSERT_THAT(Recommend(email, &email_resp), IsOk());
  EXPECT_TRUE(email_resp.experiment_id().empty());

  // Every exposure (2 lists x 200 users) and purchase (50) must have landed before results are read.
  ASSERT_TRUE(WaitForCount("SELECT count(*) FROM recsys.exposures WHERE experiment_id = 'exp-home'", 400));
  ASSERT_TRUE(WaitForCount(
      "SELECT count(*) FROM recsys.events WHERE event = 'purchase' AND experiment_id = 'exp-home'", 50));
  grpc::ClientContext rctx;
  v1::GetExperimentResultsRequest rreq;
  rreq.set_experiment_id("exp-home");
  v1::ExperimentResults results;
  ASSERT_THAT(stub_->GetExperimentResults(&rctx, rreq, &results), IsOk());
  ASSERT_EQ(results.variants_size(), 2);
  EXPECT_EQ(results.control(), "control");
  EXPECT_EQ(results.variants(0).users() + results.variants(1).users(), 200);
  EXPECT_EQ(results.variants(0).impressions() + results.variants(1).impressions(), 400);
  EXPECT_EQ(results.variants(0).converted_users() + results.variants(1).converted_users(), 50);
  EXPECT_EQ(results.variants(1).model_version(), "v2");
  EXPECT_GE(results.p_value(), 0);
  EXPECT_LE(results.p_value(), 1);
  EXPECT_LE(results.variants(0).conversion_ci_low(), results.variants(0).conversion());

  grpc::ClientContext lctx;
  v1::ListExperimentsResponse list;
  ASSERT_THAT(stub_->ListExperiments(&lctx, {}, &list), IsOk());
  EXPECT_EQ(list.experiments_size(), 1);
  grpc::ClientContext sctx;
  v1::SetExperimentStateRequest stop;
  stop.set_experiment_id("exp-home");
  stop.set_state("stopped");
  v1::Experiment stopped;
  ASSERT_THAT(stub_->SetExperimentState(&sctx, stop, &stopped), IsOk());
  EXPECT_EQ(stopped.state(), "stopped");
  EXPECT_TRUE(MustRecommend("u1").experiment_id().empty());

  grpc::ClientContext bctx;
  create.mutable_experiment()->set_id("exp-bad");
  create.mutable_experiment()->mutable_variants(1)->set_model_version("v404");
  EXPECT_EQ(stub_->CreateExperiment(&bctx, create, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, PromoteAndRollbackUnderLoadWithoutErrors) {
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, calls{0};
  std::mutex mu;
  std::set<std::string> versions_seen;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      int k = 0;
      while (!stop) {
        v1::RecommendRequest req;
        req.set_user_id(absl::StrCat("u", (t * 97 + k++) % 400));
        req.set_n(10);
        v1::RecommendResponse resp;
        grpc::Status s = Recommend(req, &resp);
        ++calls;
        if (!s.ok() || resp.items_size() != 10) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        versions_seen.insert(resp.model_version());
      }
    });
  }
  for (int round = 0; round < 4; ++round) {
    absl::SleepFor(absl::Milliseconds(150));
    grpc::ClientContext pctx;
    v1::PromoteModelRequest promote;
    promote.set_version("v2");
    v1::Model model;
    grpc::Status s = stub_->PromoteModel(&pctx, promote, &model);
    ASSERT_THAT(s, IsOk());
    EXPECT_TRUE(model.promoted());
    EXPECT_EQ(models_->Current()->version(), "v2");  // swapped before the call returns
    absl::SleepFor(absl::Milliseconds(150));
    grpc::ClientContext rctx;
    s = stub_->RollbackModel(&rctx, {}, &model);
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ(model.version(), "v1");
    EXPECT_EQ(models_->Current()->version(), "v1");
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(errors.load(), 0) << "of " << calls.load();
  EXPECT_GT(calls.load(), 100);
  EXPECT_EQ(versions_seen, (std::set<std::string>{"v1", "v2"}));

  // A broken artifact is refused before anything changes; unknown versions are NOT_FOUND.
  const std::string broken = absl::StrCat(std::getenv("TEST_TMPDIR"), "/broken.mlrec");
  std::ofstream(broken) << "not a model";
  ModelRecord record;
  record.version = "v3";
  record.algorithm = "hybrid";
  record.artifact_uri = "file://" + broken;
  ASSERT_THAT(registry_->Register(record), IsOk());
  grpc::ClientContext bctx;
  v1::PromoteModelRequest bad;
  bad.set_version("v3");
  v1::Model model;
  grpc::Status s = stub_->PromoteModel(&bctx, bad, &model);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ((*registry_->Promoted())->version, "v1");
  EXPECT_EQ(models_->Current()->version(), "v1");
  grpc::ClientContext nctx;
  bad.set_version("v404");
  EXPECT_EQ(stub_->PromoteModel(&nctx, bad, &model).error_code(), grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext lctx;
  v1::ListModelsResponse list;
  ASSERT_THAT(stub_->ListModels(&lctx, {}, &list), IsOk());
  EXPECT_EQ(list.models_size(), 3);
}

// NCF is registered (artifact in Postgres, as the CronJob does), promoted through the RPC and served through
// Recommend like the other models: a known shopper gets their trained NCF scores, a shopper with fresh
// feedback is folded in through the users who share the items.
TEST_F(ServiceTest, NcfModelIsRegisteredPromotedAndServed) {
  TrainConfig config;
  config.algorithm = "ncf";
  config.params = {{"ncf.factors", "16"}, {"ncf.hidden", "16"}, {"ncf.epochs", "15"}};
  config.hygiene.min_user_interactions = 3;
  config.hygiene.min_item_interactions = 3;
  config.version = "v-ncf";
  config.threads = 2;
  auto trained = TrainBundle({.log = &World().data.log, .catalog = &World().data.catalog}, config);
  ASSERT_THAT(trained, IsOk());
  const ModelBundle& b = trained->bundle;
  EXPECT_EQ(b.algorithm, "ncf");
  EXPECT_EQ(b.ncf_factors, 16);
  EXPECT_EQ(b.ncf_hidden, 16);
  EXPECT_EQ(b.factors, 0);
  EXPECT_EQ(b.params.at("ncf.epochs"), "15");
  EXPECT_GT(b.metrics.at("ndcg@10"), b.metrics.at("popularity.ndcg@10"));
  auto record = registry_->RegisterWithArtifact(b);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->algorithm, "ncf");

  grpc::ClientContext pctx;
  v1::PromoteModelRequest promote;
  promote.set_version("v-ncf");
  v1::Model model;
  grpc::Status s = stub_->PromoteModel(&pctx, promote, &model);
  ASSERT_THAT(s, IsOk());
  EXPECT_TRUE(model.promoted());
  ASSERT_NE(models_->Current()->ncf(), nullptr);

  // Users are 90% in their taste cluster (of 5): a known shopper's list is mostly from their cluster.
  int in_cluster = 0;
  for (int c = 0; c < 5; ++c) {
    const std::string user = World().UserInCluster(c);
    v1::RecommendResponse resp = MustRecommend(user);
    EXPECT_EQ(resp.model_version(), "v-ncf");
    ASSERT_EQ(resp.items_size(), 10);
    EXPECT_GE(InCluster(resp, c), 5) << user;
    in_cluster += InCluster(resp, c);
  }
  EXPECT_GE(in_cluster, 35);  // of 50
  // Fresh feedback: the shopper is no longer the trained row, so NCF folds them in from their history.
  const std::string user = World().UserInCluster(4);
  ASSERT_THAT(Feedback(user, "i9", v1::FEEDBACK_EVENT_PURCHASE), IsOk());
  v1::RecommendResponse after = MustRecommend(user);
  EXPECT_EQ(after.model_version(), "v-ncf");
  ASSERT_EQ(after.items_size(), 10);
  EXPECT_GE(InCluster(after, 4), 6);
}

TEST_F(ServiceTest, PromotionOnAnotherReplicaIsPickedUpByPolling) {
  ASSERT_THAT(registry_->Promote("v2"), IsOk());  // as if another replica or the CLI did it
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && models_->Current()->version() != "v2")
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(MustRecommend("u1").model_version(), "v2");
}

}  // namespace
}  // namespace marketlens::recommender
