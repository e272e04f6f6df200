// Grounded content against a real PostgreSQL: summaries, emails and briefs are built only from retrieved
// rows (every citation is a real row; no product is named that was not retrieved), with the local engine and
// with the openai backend (a real HTTP server started by the test), including its fallbacks.
#include "services/analyzer/rag/content_service.h"

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/migrated_database.h"
#include "common/testing/postgres_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/llm/fake_llm_server.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/pipeline.h"
#include "services/analyzer/raw_data_fixture.h"

namespace marketlens::analyzer::rag {
namespace {

using ::marketlens::testing::CreateMigratedDatabaseOrFail;

using analyzer::testing::AddProduct;
using analyzer::testing::AddReview;
using analyzer::testing::AddReviews;
using analyzer::testing::Scalar;
using ::marketlens::testing::IsOk;

class ContentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = marketlens::testing::PostgresServer::StartOrDie().release();
    pool_ = CreateMigratedDatabaseOrFail(*pg_).pool.release();
    const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
    ASSERT_TRUE(AddProduct(*pool_, "p-1", "Voltix Bluetooth Speaker, 360 Degree Sound - Black", "Voltix",
                           "Electronics")
                    .ok());
    ASSERT_TRUE(
        AddProduct(*pool_, "p-2", "Sonara Wireless Earbuds, 30H Playtime", "Sonara", "Electronics").ok());
    ASSERT_THAT(AddProduct(*pool_, "p-3", "Kinetek Smartwatch", "Kinetek", "Electronics"), IsOk());
    ASSERT_THAT(AddProduct(*pool_, "p-4", "Zentro Power Bank", "Zentro", "Electronics"), IsOk());
    ASSERT_THAT(AddReviews(*pool_, "p1", "p-1", 30, true, now - absl::Hours(24 * 100), now), IsOk());
    ASSERT_THAT(AddReviews(*pool_, "p2", "p-2", 20, true, now - absl::Hours(24 * 100), now, 2), IsOk());
    ASSERT_THAT(AddReviews(*pool_, "p4", "p-4", 30, false, now - absl::Hours(24 * 100), now, 3), IsOk());
    ASSERT_TRUE(AddReview(*pool_, "anna-r1", "p-2", 2, "Left earbud died",
                          "The left earbud stopped working after a month.", now - absl::Hours(24 * 10), 1,
                          "u1")
                    .ok());
    ASSERT_TRUE(pool_
                    ->Exec("INSERT INTO raw.customers (id, name, segment, region) VALUES ('u1', 'Anna "
                           "Smith', 'loyal', 'UK'),"
                           " ('u2', 'Bo Chen', 'new', 'DE')")
                    .ok());
    ASSERT_TRUE(pool_
                    ->Exec("INSERT INTO raw.contacts (id, customer_id, started_at, channel, topic, "
                           "sentiment, notes, product_id) VALUES"
                           " ('k1', 'u1', '2025-04-01T10:00:00Z', 'email', 'delivery delay', -0.3, 'Parcel "
                           "late, courier lost it.', ''),"
                           " ('k2', 'u1', '2025-04-20T10:00:00Z', 'email', 'delivery delay', -0.1, 'Asked "
                           "for tracking again.', ''),"
                           " ('k3', 'u1', '2025-05-25T10:00:00Z', 'call', 'warranty claim', -0.6,"
                           "  'Cust called re: Sonara earbuds - left earbud stopped working after a month. "
                           "Replacement offered.', 'p-2')")
                    .ok());
    ASSERT_TRUE(
        pool_
            ->Exec("INSERT INTO raw.interactions (id, customer_id, product_id, type, occurred_at) VALUES"
                   " ('i1', 'u1', 'p-2', 'view', '2025-03-01T10:00:00Z'), ('i2', 'u1', 'p-2', 'purchase', "
                   "'2025-03-01T10:05:00Z'),"
                   " ('i3', 'u1', 'p-1', 'view', '2025-05-30T10:00:00Z'), ('i4', 'u1', 'p-1', 'add_to_cart', "
                   "'2025-05-30T10:02:00Z'),"
                   " ('i5', 'u2', 'p-1', 'purchase', '2025-05-01T10:00:00Z'), ('i6', 'u2', 'p-1', "
                   "'purchase', '2025-05-02T10:00:00Z')")
            .ok());
    ASSERT_TRUE(pool_
                    ->Exec("INSERT INTO raw.campaign_posts (id, campaign_id, influencer, platform, "
                           "product_id, views, likes, comments,"
                           " shares, posted_at) VALUES"
                           " ('cp1', 'c', 'ann', 'tiktok', 'p-1', 1000, 100, 10, 10, now()), ('cp2', 'c', "
                           "'bob', 'tiktok', 'p-1', 1000, 30, 0, 0, now()),"
                           " ('cp3', 'c', 'cid', 'instagram', 'p-1', 1000, 10, 0, 0, now())")
                    .ok());
    auto engine = Engine::Create();
    ASSERT_THAT(engine, IsOk());
    engine_ = engine->release();
    store_ = new InsightsStore(pool_);
    metrics_ = new AnalyzerMetrics(std::make_shared<prometheus::Registry>());
    Pipeline pipeline(store_, engine_, nullptr, {}, metrics_);
    ASSERT_THAT(pipeline.Init(), IsOk());
    ASSERT_THAT(pipeline.CatchUp(), IsOk());
    auto prompts = llm::PromptLibrary::Embedded();
    ASSERT_THAT(prompts, IsOk());
    prompts_ = new llm::PromptLibrary(*std::move(prompts));
  }
  static void TearDownTestSuite() {
    delete prompts_;
    delete metrics_;
    delete store_;
    delete engine_;
    delete pool_;
    delete pg_;
  }

  // Every citation is a real row of its table.
  static void ExpectCitationsExist(const google::protobuf::RepeatedPtrField<v1::Citation>& citations) {
    for (const auto& c : citations) {
      std::string table;
      if (c.source() == "contact") table = "raw.contacts";
      if (c.source() == "review") table = "raw.reviews";
      if (c.source() == "interaction") table = "raw.interactions";
      if (c.source() == "product_insight" || c.source() == "recommendation") table = "raw.products";
      if (c.source() == "campaign_post" && c.id().rfind("cp", 0) == 0) table = "raw.campaign_posts";
      if (table.empty()) continue;
      EXPECT_EQ(Scalar(*pool_, absl::StrCat("SELECT count(*) FROM ", table, " WHERE id = '", c.id(), "'")),
                "1")
          << c.source() << ":" << c.id();
    }
  }

  std::unique_ptr<llm::StructuredLlm> Llm(llm::FakeLlmServer& server) {
    llm::OpenAiOptions o;
    o.base_url = server.base_url();
    o.model = "fake";
    llm::StructuredLlmOptions so;
    so.backoff.initial = absl::Milliseconds(5);
    so.backoff.max_attempts = 2;
    return std::make_unique<llm::StructuredLlm>(std::make_unique<llm::OpenAiBackend>(o), nullptr, so,
                                                metrics_);
  }

  static marketlens::testing::PostgresServer* pg_;
  static postgres::PgPool* pool_;
  static Engine* engine_;
  static InsightsStore* store_;
  static AnalyzerMetrics* metrics_;
  static llm::PromptLibrary* prompts_;
};
marketlens::testing::PostgresServer* ContentTest::pg_ = nullptr;
postgres::PgPool* ContentTest::pool_ = nullptr;
Engine* ContentTest::engine_ = nullptr;
InsightsStore* ContentTest::store_ = nullptr;
AnalyzerMetrics* ContentTest::metrics_ = nullptr;
llm::PromptLibrary* ContentTest::prompts_ = nullptr;

absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

TEST_F(ContentTest, SummarizeInteractionsLocal) {
  GroundedContent content(pool_, engine_, nullptr, prompts_);
  v1::SummarizeInteractionsRequest req;
  req.set_customer_id("u1");
  v1::SummarizeInteractionsResponse resp;
  ASSERT_THAT(content.SummarizeInteractions(req, Soon(), &resp), IsOk());
  std::printf("summary (local): %s\n", resp.summary().c_str());
  EXPECT_EQ(resp.backend(), "local");
  EXPECT_EQ(resp.total_interactions(), 3);
  EXPECT_EQ(resp.most_frequent_channel(), "email");
  EXPECT_EQ(resp.last_channel(), "call");
  EXPECT_EQ(resp.last_topic(), "warranty claim");
  EXPECT_EQ(
      resp.last_interaction().seconds(),
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(2025, 5, 25, 10, 0, 0), absl::UTCTimeZone())));
  ASSERT_GE(resp.key_topics_size(), 2);
  EXPECT_EQ(resp.key_topics(0), "delivery delay");
  EXPECT_EQ(resp.sentiment(), "negative");
  EXPECT_EQ(resp.shop_interactions(), 4);
  EXPECT_EQ(resp.reviews(), 1);
  EXPECT_TRUE(absl::StrContains(resp.summary(), "Anna Smith has contacted us 3 times, most often by email"))
      << resp.summary();
  EXPECT_TRUE(absl::StrContains(resp.summary(), "Sonara Wireless Earbuds")) << resp.summary();
  ASSERT_GE(resp.citations_size(), 3);
  EXPECT_EQ(resp.citations(0).id(), "k3");  // the last contact
  ExpectCitationsExist(resp.citations());

  req.set_customer_id("nobody");
  EXPECT_EQ(content.SummarizeInteractions(req, Soon(), &resp).code(), absl::StatusCode::kNotFound);
}

TEST_F(ContentTest, GenerateContentLocalIsGroundedInRetrievedRows) {
  GroundedContent content(pool_, engine_, nullptr, prompts_, [](const std::string& id, int n, absl::Time) {
    return absl::StatusOr<std::vector<Recommendation>>(
        std::vector<Recommendation>{{"p-3", "popular in Electronics"}, {"p-1", "x"}});
  });
  v1::GenerateContentRequest req;
  req.set_customer_id("u1");
  v1::GenerateContentResponse resp;
  ASSERT_THAT(content.GenerateContent(req, Soon(), &resp), IsOk());
  std::printf("email (local):\nSubject: %s\n%s\n", resp.subject().c_str(), resp.body().c_str());
  EXPECT_EQ(resp.backend(), "local");
  EXPECT_EQ(resp.subject(), "Anna, still thinking about the Voltix Bluetooth Speaker?");
  EXPECT_TRUE(absl::StartsWith(resp.body(), "Hi Anna,"));
  EXPECT_TRUE(absl::StrContains(resp.body(),
                                "We're sorry about the warranty claim with your Sonara Wireless Earbuds"));
  EXPECT_TRUE(absl::StrContains(resp.body(), "You might also like the Kinetek Smartwatch."));
  ASSERT_EQ(resp.recommended_product_ids_size(), 1);
  EXPECT_EQ(resp.recommended_product_ids(0), "p-3");
  // Never a product it did not retrieve: the power bank appears nowhere.
  EXPECT_FALSE(absl::StrContains(resp.body(), "Zentro"));
  std::set<std::string> sources;
  for (const auto& c : resp.citations()) sources.insert(c.source());
  EXPECT_TRUE(sources.contains("interaction"));
  EXPECT_TRUE(sources.contains("contact"));
  EXPECT_TRUE(sources.contains("recommendation"));
  EXPECT_TRUE(sources.contains("review"));  // the quote
  ExpectCitationsExist(resp.citations());

  // The recommender down: the email is still written.
  GroundedContent no_recs(pool_, engine_, nullptr, prompts_, [](const std::string&, int, absl::Time) {
    return absl::StatusOr<std::vector<Recommendation>>(absl::UnavailableError("down"));
  });
  v1::GenerateContentResponse plain;
  ASSERT_THAT(no_recs.GenerateContent(req, Soon(), &plain), IsOk());
  EXPECT_FALSE(absl::StrContains(plain.body(), "You might also like"));
}

TEST_F(ContentTest, GenerateContentWithOpenAiAndItsFallbacks) {
  llm::FakeLlmServer server([](const llm::HttpRequest&) {
    return llm::ChatCompletion(
        R"({"subject":"Anna, your speaker is waiting","body":"Hi Anna, the Voltix speaker you looked at is loved for its sound.","cited_ids":["interaction:i4","k3"]})");
  });
  auto llm = Llm(server);
  GroundedContent content(pool_, engine_, llm.get(), prompts_);
  v1::GenerateContentRequest req;
  req.set_customer_id("u1");
  v1::GenerateContentResponse resp;
  ASSERT_THAT(content.GenerateContent(req, Soon(), &resp), IsOk());
  EXPECT_EQ(resp.backend(), "openai");
  EXPECT_EQ(resp.subject(), "Anna, your speaker is waiting");
  ASSERT_EQ(resp.citations_size(), 2);
  EXPECT_EQ(resp.citations(0).id(), "i4");
  EXPECT_EQ(resp.citations(1).id(), "k3");
  // The prompt carried the retrieved facts with their ids.
  const std::string body = server.recorded()[0].body;
  EXPECT_TRUE(absl::StrContains(body, "[contact:k3]"));
  EXPECT_TRUE(absl::StrContains(body, "[interaction:i4]"));

  // Citing a row it was not given: rejected, the local engine answers.
  server.set_handler([](const llm::HttpRequest&) {
    return llm::ChatCompletion(R"({"subject":"s","body":"b","cited_ids":["review:made-up"]})");
  });
  v1::GenerateContentResponse fallback;
  ASSERT_THAT(content.GenerateContent(req, Soon(), &fallback), IsOk());
  EXPECT_EQ(fallback.backend(), "local");
  // The endpoint failing: the local engine answers too.
  server.set_handler([](const llm::HttpRequest&) {
    llm::HttpResponse r;
    r.status = 500;
    return r;
  });
  v1::GenerateContentResponse failed;
  ASSERT_THAT(content.GenerateContent(req, Soon(), &failed), IsOk());
  EXPECT_EQ(failed.backend(), "local");
  EXPECT_EQ(failed.subject(), "Anna, still thinking about the Voltix Bluetooth Speaker?");
}

TEST_F(ContentTest, SummarizeWithOpenAi) {
  llm::FakeLlmServer server([](const llm::HttpRequest&) {
    return llm::ChatCompletion(
        R"({"summary":"Anna had delivery delays and a warranty claim for her earbuds.","key_topics":["delivery","warranty"],"sentiment":"negative","cited_ids":["contact:k3","contact:k2"]})");
  });
  auto llm = Llm(server);
  GroundedContent content(pool_, engine_, llm.get(), prompts_);
  v1::SummarizeInteractionsRequest req;
  req.set_customer_id("u1");
  v1::SummarizeInteractionsResponse resp;
  ASSERT_THAT(content.SummarizeInteractions(req, Soon(), &resp), IsOk());
  EXPECT_EQ(resp.backend(), "openai");
  EXPECT_EQ(resp.summary(), "Anna had delivery delays and a warranty claim for her earbuds.");
  EXPECT_EQ(resp.total_interactions(), 3);  // figures always come from the data
  EXPECT_EQ(resp.citations_size(), 2);
}

TEST_F(ContentTest, GenerateBriefFromOurOwnData) {
  GroundedContent content(pool_, engine_, nullptr, prompts_);
  v1::GenerateBriefRequest req;
  req.set_brand("Voltix");
  req.set_product("Bluetooth Speaker");
  req.set_goal("Launch sales");
  req.set_platform("TikTok");
  v1::GenerateBriefResponse resp;
  ASSERT_THAT(content.GenerateBrief(req, Soon(), &resp), IsOk());
  std::printf("brief (local):\n%s\n", resp.brief().c_str());
  EXPECT_EQ(resp.backend(), "local");
  EXPECT_EQ(resp.product_id(), "p-1");
  EXPECT_FALSE(resp.caption().empty());
  EXPECT_GE(resp.hooks_size(), 1);
  EXPECT_EQ(resp.hashtags(0), "#Voltix");
  EXPECT_EQ(resp.call_to_action(), "Tap the link to get the Voltix Bluetooth Speaker today.");
  EXPECT_EQ(resp.tone(), "playful, fast-paced, first-person");
  EXPECT_TRUE(absl::StrContains(resp.persona(), "new customers in DE")) << resp.persona();
  bool platform_point = false;
  for (const auto& t : resp.talking_points())
    platform_point |= absl::StrContains(t, "On tiktok our campaign posts average 7.5%");
  EXPECT_TRUE(platform_point) << resp.brief();
  std::set<std::string> sources;
  for (const auto& c : resp.citations()) sources.insert(c.source());
  EXPECT_TRUE(sources.contains("review"));
  EXPECT_TRUE(sources.contains("campaign_post"));
  EXPECT_TRUE(sources.contains("segment"));
  ExpectCitationsExist(resp.citations());
}

// Seeded campaign posts with captions and hashtags on youtube: five creators with different usual
// engagement; #dupealert (on "how to" captions) lifts engagement 2x, #bassboost (honest reviews) 1.6x;
// #shorts is on every post, #onehit on one viral post, and #pinonly performs on pinterest but not here.
void SeedYoutube(postgres::PgPool& pool) {
  std::string values;
  int n = 0;
  auto add = [&](const std::string& platform, const std::string& creator, int64_t views, int64_t engagements,
                 const std::string& caption, const std::string& tags) {
    absl::StrAppend(&values, values.empty() ? "" : ",", "('yt", n++, "', 'c9', '", creator, "', '", platform,
                    "', 'p-1', ", views, ", ", engagements, ", 0, 0, now(), '", caption, "', '{", tags,
                    "}')");
  };
  const double base[] = {0.03, 0.04, 0.05, 0.06, 0.09};
  for (int c = 0; c < 5; ++c) {
    for (int i = 0; i < 10; ++i) {
      const double noise = 1 + 0.05 * ((i * 7 + c) % 5 - 2);
      const std::string creator = absl::StrCat("creator", c);
      if (i % 5 == 0) {
        add("youtube", creator, 10000, static_cast<int64_t>(10000 * base[c] * 2.0 * noise),
            "How to set it up in two minutes", "shorts,dupealert");
      } else if (i % 5 == 1) {
        add("youtube", creator, 10000, static_cast<int64_t>(10000 * base[c] * 1.6 * noise),
            "Honest review after a month", "shorts,bassboost");
      } else if (i % 5 == 2) {
        add("youtube", creator, 10000, static_cast<int64_t>(10000 * base[c] * 0.8 * noise), "New speaker day",
            "shorts,pinonly");
      } else {
        add("youtube", creator, 10000, static_cast<int64_t>(10000 * base[c] * noise), "New speaker day",
            "shorts");
      }
      add("pinterest", creator, 10000, static_cast<int64_t>(10000 * base[c] * (i % 2 ? 3.0 : 1.0)), "Pin it",
          i % 2 ? "pinonly" : "other");
    }
  }
  add("youtube", "creator0", 10000, 5000, "Look at this", "shorts,onehit");
  ASSERT_TRUE(pool.Exec(absl::StrCat("INSERT INTO raw.campaign_posts (id, campaign_id, influencer, platform, "
                                     "product_id, views, likes, comments, shares, posted_at, caption, "
                                     "hashtags) VALUES ",
                                     values))
                  .ok());
}

TEST_F(ContentTest, GenerateBriefLeadsWithWhatPerformsOnThePlatform) {
  SeedYoutube(*pool_);
  GroundedContent content(pool_, engine_, nullptr, prompts_);
  v1::GenerateBriefRequest req;
  req.set_brand("Voltix");
  req.set_product("Bluetooth Speaker");
  req.set_goal("awareness");
  req.set_platform("YouTube");
  v1::GenerateBriefResponse resp;
  ASSERT_THAT(content.GenerateBrief(req, Soon(), &resp), IsOk());
  std::printf("brief (local, youtube):\n%s\n", resp.brief().c_str());
  EXPECT_EQ(resp.backend(), "local");
  // The planted hashtags first, best first; then our own (brand, product...).
  ASSERT_GE(resp.hashtags_size(), 3);
  EXPECT_EQ(resp.hashtags(0), "#dupealert");
  EXPECT_EQ(resp.hashtags(1), "#bassboost");
  for (const auto& t : resp.hashtags()) {
    EXPECT_NE(t, "#shorts");   // on every post
    EXPECT_NE(t, "#onehit");   // one viral post
    EXPECT_NE(t, "#pinonly");  // performs on pinterest, not here
  }
  EXPECT_TRUE(std::find(resp.hashtags().begin(), resp.hashtags().end(), "#Voltix") != resp.hashtags().end());
  // The best angle (tutorial captions) opens the caption and the hooks, filled with the product's facts.
  ASSERT_GE(resp.hooks_size(), 2);
  EXPECT_TRUE(absl::StartsWith(resp.hooks(0), "How to get the most out of the Voltix Bluetooth Speaker"))
      << resp.hooks(0);
  EXPECT_TRUE(absl::StartsWith(resp.caption(), resp.hooks(0))) << resp.caption();
  EXPECT_TRUE(absl::StrContains(resp.caption(), "#dupealert #bassboost")) << resp.caption();
  bool angle_point = false;
  for (const auto& t : resp.talking_points())
    angle_point |= absl::StartsWith(t, "Lead with a tutorial angle");
  EXPECT_TRUE(angle_point) << resp.brief();
  // The rows used are named: the best posts carrying each tag, and the reviews quoted.
  bool tag_cited = false, angle_cited = false;
  for (const auto& c : resp.citations()) {
    if (c.source() != "campaign_post" || c.id().rfind("yt", 0) != 0) continue;
    tag_cited |= absl::StartsWith(c.excerpt(), "#dupealert:");
    angle_cited |= absl::StartsWith(c.excerpt(), "tutorial captions:");
    EXPECT_EQ(
        Scalar(*pool_, absl::StrCat("SELECT platform FROM raw.campaign_posts WHERE id = '", c.id(), "'")),
        "youtube");
  }
  EXPECT_TRUE(tag_cited);
  EXPECT_TRUE(angle_cited);
  ExpectCitationsExist(resp.citations());

  // The same facts go to a remote model; when it cites a row it was not given, the local engine answers
  // through the same interface, with the same brief.
  llm::FakeLlmServer server([](const llm::HttpRequest&) {
    return llm::ChatCompletion(
        R"({"caption":"c","hooks":["h"],"hashtags":["#x"],"call_to_action":"a","tone":"t","persona":"p","talking_points":["x"],"cited_ids":["campaign_post:made-up"]})");
  });
  auto llm = Llm(server);
  GroundedContent remote(pool_, engine_, llm.get(), prompts_);
  v1::GenerateBriefResponse fallback;
  ASSERT_THAT(remote.GenerateBrief(req, Soon(), &fallback), IsOk());
  ASSERT_GE(server.requests(), 1);
  EXPECT_TRUE(absl::StrContains(server.recorded()[0].body, "#dupealert:")) << server.recorded()[0].body;
  EXPECT_EQ(fallback.backend(), "local");
  EXPECT_EQ(fallback.brief(), resp.brief());
  // A grounded remote answer (citing a post it was given) is used as given.
  std::string post_id;
  for (const auto& c : resp.citations()) {
    if (c.source() == "campaign_post" && absl::StartsWith(c.excerpt(), "#dupealert:")) post_id = c.id();
  }
  server.set_handler([post_id](const llm::HttpRequest&) {
    return llm::ChatCompletion(absl::StrCat(
        R"({"caption":"Sound that fills the room","hooks":["h"],"hashtags":["#dupealert"],"call_to_action":"a",)",
        R"("tone":"t","persona":"p","talking_points":["x"],"cited_ids":["campaign_post:)", post_id,
        R"("]})"));
  });
  v1::GenerateBriefResponse grounded;
  ASSERT_THAT(remote.GenerateBrief(req, Soon(), &grounded), IsOk());
  EXPECT_EQ(grounded.backend(), "openai");
  EXPECT_EQ(grounded.caption(), "Sound that fills the room");
  ASSERT_EQ(grounded.citations_size(), 1);
  EXPECT_EQ(grounded.citations(0).id(), post_id);
}

// Retrieval runs over all of a customer's rows in the index, not only the newest ones a request reads: an
// old review about the customer's recurring topic is found behind twenty newer ones.
TEST_F(ContentTest, SummaryRetrievesTheCustomersRelevantRowsOfAnyAge) {
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  ASSERT_TRUE(pool_
                  ->Exec("INSERT INTO raw.customers (id, name, segment, region) VALUES ('u3', 'Cleo Diaz',"
                         " 'loyal', 'ES')")
                  .ok());
  ASSERT_TRUE(AddReview(*pool_, "u3-old", "p-3", 4, "Fixed at last",
                        "The hinge of the strap clasp was fixed under warranty, works well now.",
                        now - absl::Hours(24 * 300), 1, "u3")
                  .ok());
  for (int i = 0; i < 22; ++i) {
    ASSERT_TRUE(AddReview(*pool_, absl::StrCat("u3-new-", i), "p-3", 5, "Nice",
                          "Lovely watch face and a bright screen.", now - absl::Hours(24 * i), 1, "u3")
                    .ok());
  }
  ASSERT_TRUE(
      pool_
          ->Exec("INSERT INTO raw.contacts (id, customer_id, started_at, channel, topic, notes, product_id)"
                 " VALUES ('k31', 'u3', '2025-05-01T10:00:00Z', 'chat', 'hinge repair',"
                 " 'Clasp hinge loose again.', 'p-3'),"
                 " ('k32', 'u3', '2025-05-20T10:00:00Z', 'call', 'hinge repair', 'Asked for a pickup.',"
                 " 'p-3')")
          .ok());
  GroundedContent content(pool_, engine_, nullptr, prompts_);
  v1::SummarizeInteractionsRequest req;
  req.set_customer_id("u3");
  v1::SummarizeInteractionsResponse resp;
  ASSERT_THAT(content.SummarizeInteractions(req, Soon(), &resp), IsOk());
  EXPECT_EQ(resp.reviews(), 23);
  std::set<std::string> cited;
  for (const auto& c : resp.citations()) cited.insert(absl::StrCat(c.source(), ":", c.id()));
  EXPECT_TRUE(cited.contains("review:u3-old")) << resp.DebugString();
  EXPECT_TRUE(cited.contains("contact:k32"));
  EXPECT_FALSE(cited.contains("review:u3-new-5"));  // not about the topic
  ExpectCitationsExist(resp.citations());
}

// One process-wide index, loaded from Postgres and shared by every request (as the service runs it).
TEST_F(ContentTest, ASharedSyncedIndexServesEveryRequest) {
  CorpusIndex index;
  CorpusSync sync(pool_, &index, {}, metrics_);
  ASSERT_THAT(sync.SyncAll(), IsOk());
  GroundedContent content(pool_, engine_, nullptr, prompts_, nullptr, metrics_, &sync);
  v1::GenerateBriefRequest req;
  req.set_brand("Voltix");
  req.set_product("Bluetooth Speaker");
  req.set_platform("instagram");
  v1::GenerateBriefResponse brief;
  ASSERT_THAT(content.GenerateBrief(req, Soon(), &brief), IsOk());
  int quoted = 0;
  for (const auto& c : brief.citations()) {
    if (c.source() != "review") continue;
    ++quoted;
    // A good review of the product.
    EXPECT_EQ(Scalar(*pool_, absl::StrCat("SELECT product_id || ':' || (rating >= 4)::text FROM raw.reviews"
                                          " WHERE id = '",
                                          c.id(), "'")),
              "p-1:true");
  }
  EXPECT_GE(quoted, 1) << brief.brief();
  v1::GenerateContentRequest creq;
  creq.set_customer_id("u1");
  v1::GenerateContentResponse email;
  ASSERT_THAT(content.GenerateContent(creq, Soon(), &email), IsOk());
  EXPECT_EQ(email.subject(), "Anna, still thinking about the Voltix Bluetooth Speaker?");
  bool review = false;
  for (const auto& c : email.citations()) review |= c.source() == "review";
  EXPECT_TRUE(review);
  EXPECT_GT(metrics_->retrieval_documents("review").Value(), 80);
}

// Brief 002's customers as the collector loads them from the workbook: no name, an occupation
// and a type; contacts without a product, and the products of discussion of their month.
TEST_F(ContentTest, CustomersKnownByOccupationAndProductsOfDiscussion) {
  for (const char* sql : {
           "INSERT INTO raw.customers (id, occupation, segment) VALUES ('b2-c001', 'Jedi', 'Loyal')",
           "INSERT INTO raw.contacts (id, customer_id, started_at, channel, topic, sentiment) VALUES "
           "('b2-k1', 'b2-c001', '2019-10-13T10:00:00Z', 'call', 'lightsaber repair', 1), ('b2-k2', "
           "'b2-c001', '2019-10-14T10:00:00Z', 'social media', 'complaint', -1)",
           "INSERT INTO raw.discussed_products (id, month, product) VALUES ('b2-d1', '2019-10-01', "
           "'Lightsaber'), ('b2-d2', '2019-11-01', 'Hyperdrive')",
       }) {
    ASSERT_THAT(pool_->Exec(sql), IsOk()) << sql;
  }
  GroundedContent content(pool_, engine_, nullptr, prompts_);
  v1::GenerateContentRequest req;
  req.set_customer_id("b2-c001");
  v1::GenerateContentResponse email;
  ASSERT_THAT(content.GenerateContent(req, Soon(), &email), IsOk());
  EXPECT_TRUE(absl::StartsWith(email.body(), "Dear Jedi,")) << email.body();
  EXPECT_TRUE(absl::StartsWith(email.subject(), "Jedi, ")) << email.subject();

  v1::SummarizeInteractionsRequest sreq;
  sreq.set_customer_id("b2-c001");
  v1::SummarizeInteractionsResponse summary;
  ASSERT_THAT(content.SummarizeInteractions(sreq, Soon(), &summary), IsOk());
  EXPECT_EQ(summary.total_interactions(), 2);
  EXPECT_TRUE(absl::StrContains(summary.summary(), "Customer b2-c001 (Jedi, Loyal) has contacted us 2 times"))
      << summary.summary();
  EXPECT_TRUE(absl::StrContains(summary.summary(),
                                "Products under discussion in the months of their contacts: Lightsaber."))
      << summary.summary();
  EXPECT_FALSE(absl::StrContains(summary.summary(), "Hyperdrive"));  // discussed in a month without contacts
}

TEST(ShortTitleTest, CutsAtSeparators) {
  EXPECT_EQ(ShortTitle("Voltix Bluetooth Speaker, 360 Degree Sound - Black"), "Voltix Bluetooth Speaker");
  EXPECT_EQ(ShortTitle("Plain"), "Plain");
  EXPECT_EQ(ShortTitle(""), "product");
}

}  // namespace
}  // namespace marketlens::analyzer::rag
