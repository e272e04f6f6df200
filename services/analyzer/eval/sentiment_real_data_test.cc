// The weak-label model on real public reviews: readers, the gate, and "never worse than rules
// alone", on data no one here wrote (../shared/data, see SOURCES.md; skipped with a notice where absent,
// failing under CI=true). Sized for CI: a few small trainings. The full figures, with the TF-IDF + logistic
// regression baseline, are bench/sentiment_bench.sh's.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/testing/real_data.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/model_gate.h"
#include "services/analyzer/eval/real_data_readers.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;
using ::marketlens::testing::StatusIs;
using ::testing::AnyOf;

std::vector<RatedText> Rated(const std::vector<RealReview>& reviews) {
  std::vector<RatedText> out;
  for (const RealReview& r : reviews) out.push_back({r.TitleAndText(), r.rating});
  return out;
}

std::vector<RealReview> Blitzer(const std::string& positive, const std::string& negative) {
  auto p = ReadBlitzerReviews(positive);
  auto n = ReadBlitzerReviews(negative);
  EXPECT_THAT(p, IsOk());
  EXPECT_THAT(n, IsOk());
  if (!p.ok() || !n.ok()) return {};
  p->insert(p->end(), n->begin(), n->end());
  return *std::move(p);
}

// Every other review (by position in a seeded shuffle): a deterministic sample of `n`.
std::vector<RealReview> Sample(std::vector<RealReview> v, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  if (v.size() > n) v.resize(n);
  return v;
}

// Balanced accuracy (positive decision: sentiment > 0) of the engine with `model` (nullptr: rules alone).
double BalancedAccuracy(const Engine& engine, const TextModel* model, const std::vector<RealReview>& test) {
  BinaryScores s;
  for (const RealReview& r : test) {
    if (r.rating == 3) continue;
    s.Add(r.rating >= 4, engine.AnalyzeWithModel({.text = r.TitleAndText()}, model).sentiment > 0);
  }
  return s.BalancedAccuracy();
}

// The engine as the service runs it: the new model only if it passed the gate, else what it had (rules).
double ServiceBalancedAccuracy(const Engine& engine, const absl::StatusOr<TextModel>& model,
                               const std::vector<RealReview>& test) {
  const bool live = model.ok() && model->info().gate.passed;
  return BalancedAccuracy(engine, live ? &*model : nullptr, test);
}

TEST(RealDataReaders, BlitzerAmazonAndSemEvalFilesReadAsDocumented) {
  MARKETLENS_REQUIRE_REAL_DATA(books_pos, "blitzer/books_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(kitchen_neg, "blitzer/kitchen_negative.review");
  MARKETLENS_REQUIRE_REAL_DATA(gift, "amazon-5core/Gift_Cards_5.json");
  MARKETLENS_REQUIRE_REAL_DATA(laptop, "semeval2014/Laptop_Train_v2.xml");
  auto books = ReadBlitzerReviews(books_pos);
  ASSERT_THAT(books, IsOk());
  ASSERT_EQ(books->size(), 1000u);
  int four = 0, five = 0;
  for (const RealReview& r : *books) {
    four += r.rating == 4;
    five += r.rating == 5;
    EXPECT_FALSE(r.text.empty()) << r.id;
    EXPECT_FALSE(absl::StrContains(r.text, "&quot;")) << r.id;  // entities decoded
  }
  EXPECT_EQ(four, 269);  // SOURCES.md
  EXPECT_EQ(five, 731);
  auto kitchen = ReadBlitzerReviews(kitchen_neg);
  ASSERT_THAT(kitchen, IsOk());
  int one = 0;
  for (const RealReview& r : *kitchen) one += r.rating == 1;
  EXPECT_EQ(kitchen->size(), 1000u);
  EXPECT_EQ(one, 687);

  auto cards = ReadAmazonJsonLines(gift);
  ASSERT_THAT(cards, IsOk());
  int stars[6] = {0};
  for (const RealReview& r : *cards) ++stars[r.rating];
  EXPECT_EQ(cards->size(), 2972u);  // rows without reviewText still have a summary
  EXPECT_EQ(stars[1], 22);
  EXPECT_EQ(stars[2], 11);
  EXPECT_EQ(stars[3], 33);
  EXPECT_EQ(stars[5], 2752);

  auto sentences = ReadSemEvalPolarSentences(laptop);
  ASSERT_THAT(sentences, IsOk());
  EXPECT_GT(sentences->size(), 800u);
  for (const RealReview& r : *sentences) ASSERT_TRUE(r.rating == 1 || r.rating == 5);

  EXPECT_EQ(ReadBlitzerReviews("/nonexistent.review").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(DecodeHtmlEntities("a &amp; b &#8217; &#x41; & c &bogus;"), "a & b \u2019 A & c &bogus;");
}

// In-domain (kitchen: train on 600, score 600 others): the gate lets the model go live and the engine
// beats rules alone. The figures are printed.
TEST(SentimentRealData, InDomainKitchenModelPassesTheGateAndBeatsRules) {
  MARKETLENS_REQUIRE_REAL_DATA(pos, "blitzer/kitchen_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(neg, "blitzer/kitchen_negative.review");
  const std::vector<RealReview> all = Sample(Blitzer(pos, neg), 1200, 1);
  const std::vector<RealReview> train(all.begin(), all.begin() + 600), test(all.begin() + 600, all.end());
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  auto model = TrainGatedModel(**engine, Rated(train));
  ASSERT_THAT(model, IsOk());
  const GateFigures& g = model->info().gate;
  EXPECT_TRUE(g.passed);
  EXPECT_GT(g.combined_balanced_accuracy, g.rules_balanced_accuracy);
  EXPECT_GE(g.combined_macro_f1, g.rules_macro_f1);
  const double rules = BalancedAccuracy(**engine, nullptr, test);
  const double combined = ServiceBalancedAccuracy(**engine, model, test);
  std::printf("kitchen in-domain (600/600): rules %.3f, engine %.3f; gate on %lld: %.3f vs %.3f\n", rules,
              combined, static_cast<long long>(g.examples), g.combined_balanced_accuracy,
              g.rules_balanced_accuracy);
  EXPECT_GT(combined, rules + 0.05);  // measured: 0.78 -> 0.89 on the full halves (sentiment_bench)
}

// Out of domain, the service's engine is never below rules alone: models trained on one domain, or on
// skewed ratings (95% positive, as the store), scored on other domains and on single sentences.
TEST(SentimentRealData, OutOfDomainNeverBelowRules) {
  MARKETLENS_REQUIRE_REAL_DATA(books_pos, "blitzer/books_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(books_neg, "blitzer/books_negative.review");
  MARKETLENS_REQUIRE_REAL_DATA(kitchen_pos, "blitzer/kitchen_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(kitchen_neg, "blitzer/kitchen_negative.review");
  MARKETLENS_REQUIRE_REAL_DATA(dvd_pos, "blitzer/dvd_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(dvd_neg, "blitzer/dvd_negative.review");
  MARKETLENS_REQUIRE_REAL_DATA(magazine, "amazon-5core/Magazine_Subscriptions_5.json");
  MARKETLENS_REQUIRE_REAL_DATA(laptop, "semeval2014/Laptop_Train_v2.xml");
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  const std::vector<RealReview> books = Sample(Blitzer(books_pos, books_neg), 800, 2);
  const std::vector<RealReview> kitchen = Sample(Blitzer(kitchen_pos, kitchen_neg), 800, 3);
  const std::vector<RealReview> dvd = Sample(Blitzer(dvd_pos, dvd_neg), 800, 4);
  auto mag = ReadAmazonJsonLines(magazine);
  auto sentences = ReadSemEvalPolarSentences(laptop);
  ASSERT_THAT(mag, IsOk());
  ASSERT_THAT(sentences, IsOk());

  // 95% positive, as the store: all 1,000 positive kitchen reviews and 1 negative for every 19.
  std::vector<RealReview> skewed;
  {
    const std::vector<RealReview> all_kitchen = Blitzer(kitchen_pos, kitchen_neg);
    int pos = 0, neg_kept = 0;
    for (const RealReview& r : all_kitchen) pos += r.rating >= 4;
    for (const RealReview& r : all_kitchen) {
      if (r.rating >= 4 || neg_kept * 19 < pos) {
        skewed.push_back(r);
        neg_kept += r.rating <= 2;
      }
    }
  }
  struct Case {
    const char* name;
    const std::vector<RealReview>* train;
    const std::vector<RealReview>* test;
  };
  const Case cases[] = {{"books -> kitchen", &books, &kitchen},
                        {"kitchen -> books", &kitchen, &books},
                        {"magazine (5-core, 90% positive) -> dvd", &*mag, &dvd},
                        {"magazine -> laptop sentences", &*mag, &*sentences},
                        {"kitchen 95% positive -> books", &skewed, &books},
                        {"kitchen 95% positive -> laptop sentences", &skewed, &*sentences}};
  std::map<const std::vector<RealReview>*, absl::StatusOr<TextModel>> models;  // one training per set
  for (const Case& c : cases) {
    auto it = models.find(c.train);
    if (it == models.end()) it = models.emplace(c.train, TrainGatedModel(**engine, Rated(*c.train))).first;
    const absl::StatusOr<TextModel>& model = it->second;
    ASSERT_THAT(model, AnyOf(IsOk(), StatusIs(absl::StatusCode::kFailedPrecondition))) << c.name;
    const double rules = BalancedAccuracy(**engine, nullptr, *c.test);
    const double combined = ServiceBalancedAccuracy(**engine, model, *c.test);
    std::printf("%-42s rules %.3f engine %.3f (%s)\n", c.name, rules, combined,
                !model.ok()                 ? "no model"
                : model->info().gate.passed ? "model live"
                                            : "model rejected");
    EXPECT_GE(combined, rules) << c.name;
  }
}

// The gate rejects a model that does not beat rules alone: one trained on real review texts whose star
// ratings were shuffled (so the texts say nothing about the labels), and gives no model for too few
// negative reviews (Gift_Cards_5: 33 of 2,972).
TEST(SentimentRealData, GateRejectsAModelThatDoesNotBeatRules) {
  MARKETLENS_REQUIRE_REAL_DATA(pos, "blitzer/dvd_positive.review");
  MARKETLENS_REQUIRE_REAL_DATA(neg, "blitzer/dvd_negative.review");
  MARKETLENS_REQUIRE_REAL_DATA(gift, "amazon-5core/Gift_Cards_5.json");
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  std::vector<RatedText> shuffled = Rated(Sample(Blitzer(pos, neg), 800, 5));
  std::vector<int> ratings;
  for (const RatedText& r : shuffled) ratings.push_back(r.rating);
  std::mt19937_64 rng(6);
  std::shuffle(ratings.begin(), ratings.end(), rng);
  for (size_t i = 0; i < shuffled.size(); ++i) shuffled[i].rating = ratings[i];
  auto model = TrainGatedModel(**engine, shuffled);
  ASSERT_THAT(model, IsOk());
  const GateFigures& g = model->info().gate;
  std::printf("shuffled ratings: gate on %lld, rules %.3f / %.3f, combined %.3f / %.3f\n",
              static_cast<long long>(g.examples), g.rules_balanced_accuracy, g.rules_macro_f1,
              g.combined_balanced_accuracy, g.combined_macro_f1);
  EXPECT_FALSE(g.passed);

  auto cards = ReadAmazonJsonLines(gift);
  ASSERT_THAT(cards, IsOk());
  EXPECT_EQ(TrainGatedModel(**engine, Rated(*cards)).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace marketlens::analyzer
