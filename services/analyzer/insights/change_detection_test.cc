// Change detection on hand-made histories: a drop is found and dated, unchanged products rarely alert (their
// permutation p-values are uniform), a reverted change is history, small counts do not alert, the
// within-product weighted Holm and the BH / Tarone thresholds and exact tails give their textbook values.
#include "services/analyzer/insights/change_detection.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::analyzer {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// n reviews, one every 3 days from `day0`, rating drawn around `mean` (1..5), sentiment tied to the rating.
void AddReviews(std::vector<ReviewFact>* out, int n, int day0, double mean, std::mt19937* rng,
                const std::string& issue = "", double issue_rate = 0, double spacing_days = 3) {
  std::normal_distribution<double> noise(0, 0.8);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    ReviewFact f;
    f.id = absl::StrCat("r", out->size());
    f.created_at = kStart + absl::Hours(24) * (day0 + spacing_days * i);
    f.rating = static_cast<int>(std::clamp(std::round(mean + noise(*rng)), 1.0, 5.0));
    f.sentiment = std::clamp((f.rating - 3) / 2.0 + 0.2 * noise(*rng), -1.0, 1.0);
    if (!issue.empty() && u(*rng) < issue_rate) f.issues.push_back(issue);
    out->push_back(std::move(f));
  }
}

TEST(ChangeDetection, FindsAndDatesAnOldDropThatPersists) {
  std::mt19937 rng(3);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 60, 0, 4.6, &rng);
  AddReviews(&facts, 40, 180, 2.4, &rng, "defective", 0.4);                // from day 180 on
  const absl::Time now = facts.back().created_at + absl::Hours(24 * 200);  // the change is old by now
  const auto changes = DetectChanges({{"p1", facts}}, now);
  ASSERT_FALSE(changes.empty());
  bool rating = false;
  for (const ChangeFinding& c : changes) {
    EXPECT_EQ(c.product_id, "p1");
    if (c.metric == "review_velocity") continue;  // no reviews for 200 days: rightly a velocity drop too
    EXPECT_TRUE(c.open) << c.message;
    EXPECT_LE(std::fabs(absl::ToDoubleHours(c.since - (kStart + absl::Hours(24 * 180)))) / 24, 30)
        << c.message;
    EXPECT_FALSE(c.evidence.empty());
    if (c.metric == "average_rating") {
      rating = true;
      EXPECT_GT(c.before, 4.0);
      EXPECT_LT(c.after, 3.0);
      EXPECT_NE(c.message.find("Since "), std::string::npos);
    }
  }
  EXPECT_TRUE(rating);
}

// A drop after a 40-day gap without reviews: the split is the same whichever way the gap is dated; the
// default dates the change at the first review that shows it, the other rules inside the gap.
TEST(ChangeDetection, TheDatingRulePlacesTheChangeInTheGapBeforeTheFirstReviewAfterIt) {
  std::mt19937 rng(5);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 40, 0, 4.6, &rng);              // days 0..117
  AddReviews(&facts, 30, 157, 1.8, &rng, "", 0, 6);  // days 157..331, half the rate
  const absl::Time now = facts.back().created_at + absl::Hours(24);
  auto rating_since = [&](ChangeDating dating, ChangeFinding* out) {
    ChangeOptions o;
    o.dating = dating;
    for (const ChangeFinding& c : TestProductChanges("p1", facts, now, o))
      if (c.metric == "average_rating") *out = c;
    return absl::ToDoubleHours(out->since - kStart) / 24;
  };
  ChangeFinding first, arrival, midpoint, just_after;
  EXPECT_NEAR(rating_since(ChangeDating::kFirstReviewAfter, &first), 157, 1e-6);
  EXPECT_EQ(first.before_reviews, 40);
  // The interval the reviews allow: after the last review before (day 117), by the first after (day 157).
  EXPECT_NEAR(absl::ToDoubleHours(first.changed_after - kStart) / 24, 117, 1e-6);
  EXPECT_NE(first.message.find("the last review before it: "), std::string::npos) << first.message;
  EXPECT_NEAR(rating_since(ChangeDating::kGapMidpoint, &midpoint), 137, 1e-6);
  EXPECT_NEAR(rating_since(ChangeDating::kAfterLastBefore, &just_after), 117, 1e-3);
  // Reviews came at half the rate after: the arrival times favour the gap's start.
  EXPECT_NEAR(rating_since(ChangeDating::kArrivalLikelihood, &arrival), 117, 1e-3);
  for (const ChangeFinding* c : {&arrival, &midpoint, &just_after}) {
    EXPECT_EQ(c->changed_after, first.changed_after);  // whatever the rule, the data's interval is the same
    EXPECT_EQ(c->before_reviews, first.before_reviews);
    EXPECT_EQ(c->after_reviews, first.after_reviews);
    EXPECT_EQ(c->p_value, first.p_value);
    EXPECT_EQ(c->meets_effect, first.meets_effect);
  }
}

// Unchanged products of many shapes (20-79 reviews, means 3.2-4.8, an issue at 8%).
std::map<std::string, std::vector<ReviewFact>> UnchangedProducts(int count) {
  std::map<std::string, std::vector<ReviewFact>> products;
  for (int p = 0; p < count; ++p) {
    std::mt19937 rng(100 + p);
    const int n = 20 + p % 60;
    AddReviews(&products[absl::StrCat("p", p)], n, 0, 3.2 + (p % 5) * 0.4, &rng, "smell", 0.08, 400.0 / n);
  }
  return products;
}

TEST(ChangeDetection, UnchangedProductsRarelyAlertAndTheirPValuesAreCalibrated) {
  // Per product, the family-wise error is at most product_alpha: of 600 unchanged products, the expected
  // number alerted is at most 9 (the effect sizes cut it further); the stars/sentiment permutation test's
  // p is uniform under "no change" (share <= 0.1 near 0.1).
  const auto products = UnchangedProducts(600);
  const absl::Time now = kStart + absl::Hours(24 * 400);
  std::set<std::string> alerted;
  for (const ChangeFinding& c : DetectChanges(products, now)) alerted.insert(c.product_id);
  EXPECT_LE(alerted.size(), 9u);
  int tested = 0, small = 0;
  for (const auto& [id, facts] : products) {
    for (const ChangeFinding& t : TestProductChanges(id, facts, now)) {
      if (t.metric != "average_rating") continue;
      ++tested;
      small += t.test_p_value <= 0.1;
    }
  }
  ASSERT_EQ(tested, 600);
  EXPECT_GE(small, 35);  // binomial(600, 0.1): 60 +- 7.3
  EXPECT_LE(small, 85);
}

// The low-share and star-level scans (measured, not the default: README) join the same permutation
// maximum: still uniform p-values under "no change", and a mix change of real shape is found.
TEST(ChangeDetection, TheLowShareAndStarLevelScansKeepThePermutationExact) {
  ChangeOptions o;
  o.scan_low_share = true;
  o.scan_star_levels = true;
  const auto products = UnchangedProducts(300);
  const absl::Time now = kStart + absl::Hours(24 * 400);
  int tested = 0, small = 0;
  for (const auto& [id, facts] : products) {
    for (const ChangeFinding& t : TestProductChanges(id, facts, now, o)) {
      if (t.metric != "average_rating") continue;
      ++tested;
      small += t.test_p_value <= 0.1;
    }
  }
  ASSERT_EQ(tested, 300);
  EXPECT_GE(small, 15);  // binomial(300, 0.1): 30 +- 5.2
  EXPECT_LE(small, 45);
  // 30 five-star reviews, then 16 of which 8 are 1-2 stars and the rest still 5 stars.
  std::vector<ReviewFact> facts;
  for (int i = 0; i < 46; ++i) {
    ReviewFact f;
    f.id = absl::StrCat("r", i);
    f.created_at = kStart + absl::Hours(24 * 3 * i);
    f.rating = i < 30 || i % 2 == 0 ? 5 : 1 + i % 4 / 2;
    f.sentiment = f.rating >= 4 ? 0.8 : -0.6;
    facts.push_back(f);
  }
  const auto changes = DetectChanges({{"mix", facts}}, facts.back().created_at, o);
  bool rating = false;
  for (const ChangeFinding& c : changes) rating = rating || c.metric == "average_rating";
  EXPECT_TRUE(rating);
}

// Reviews of 1 (low) or 5 stars in time order, one every 3 days.
std::vector<ReviewFact> LowOrFiveStars(const std::vector<int>& low) {
  std::vector<ReviewFact> facts;
  for (size_t i = 0; i < low.size(); ++i) {
    ReviewFact f;
    f.id = absl::StrCat("r", i);
    f.created_at = kStart + absl::Hours(24 * 3 * static_cast<double>(i));
    f.rating = low[i] ? 1 : 5;
    f.sentiment = low[i] ? -0.6 : 0.8;
    facts.push_back(f);
  }
  return facts;
}

// The empirical-Bayes low-share test (measured, not kept: README): its prior is fitted by
// beta-binomial maximum likelihood, its p is exact under its model (products' shares from the prior,
// reviews iid: P(p <= level) <= level), and the weak real-text shape the permutation tests miss (11 five-star
// reviews, then 10 of which 6 are 1-2 stars) passes its level in the product's family.
TEST(ChangeDetection, EmpiricalBayesLowShareIsExactUnderItsModelAndFindsTheWeakShape) {
  const BetaPrior prior{0.8, 6};
  std::mt19937_64 rng(11);
  std::gamma_distribution<double> ga(prior.alpha, 1), gb(prior.beta, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::pair<int, int>> counts;
  std::vector<std::vector<int>> nulls;
  for (int i = 0; i < 3000; ++i) {
    const double x = ga(rng), theta = x / (x + gb(rng));
    const int n = 15 + i % 4 * 10;  // 15, 25, 35, 45 reviews
    std::vector<int> low(n);
    int lows = 0;
    for (int& l : low) lows += l = u(rng) < theta;
    counts.emplace_back(lows, n);
    nulls.push_back(std::move(low));
  }
  const BetaPrior fitted = FitBetaBinomial(counts);
  EXPECT_NEAR(fitted.alpha, prior.alpha, 0.2);
  EXPECT_NEAR(fitted.beta / (fitted.alpha + fitted.beta), 6 / 6.8, 0.02);
  ChangeOptions o;  // beside the permutation test, at the level it was measured at (README)
  o.eb_stars = false;
  o.product_alpha = 0.015;
  o.eb_low_share = true;
  o.eb_model = std::make_shared<LowShareEmpiricalBayes>(prior, 1999);
  int below_01 = 0, below_05 = 0;
  for (const auto& low : nulls) {
    const std::vector<ReviewFact> facts = LowOrFiveStars(low);
    const double p = EmpiricalBayesLowShareP(facts, facts.back().created_at, o);
    below_01 += p <= 0.01;
    below_05 += p <= 0.05;
  }
  EXPECT_LE(below_01, 30 + 3 * 5.5);  // binomial(3000, 0.01): 30 +- 5.4
  EXPECT_LE(below_05, 150 + 3 * 12);  // binomial(3000, 0.05): 150 +- 11.9
  EXPECT_GE(below_05, 150 - 3 * 12);  // and not far below: the p is exact, not merely conservative
  // The weak shape: at the known split its posterior-predictive tail is 0.00045 (Fisher's p there 0.004).
  const std::vector<int> weak = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0};
  EXPECT_NEAR(BetaBinomialUpperTail(6, 10, prior.alpha, prior.beta + 11), 0.00045, 0.00005);
  const std::vector<ReviewFact> facts = LowOrFiveStars(weak);
  const absl::Time now = facts.back().created_at;
  const double p = EmpiricalBayesLowShareP(facts, now, o);
  // Its level in the product's family: no issue or velocity test takes part here, so the stars/sentiment
  // test and this one share product_alpha (0.0075 each; 0.0045 with count tests beside them).
  EXPECT_LE(p, o.product_alpha * o.eb_weight);
  EXPECT_LE(p, 0.006);
  bool eb_alerts = false, default_alerts = false;
  for (const ChangeFinding& c : DetectChanges({{"weak", facts}}, now, o))
    eb_alerts = eb_alerts || c.metric == "average_rating";
  ChangeOptions permutation_alone;  // the previous default
  permutation_alone.eb_stars = false;
  permutation_alone.product_alpha = 0.015;
  for (const ChangeFinding& c : DetectChanges({{"weak", facts}}, now, permutation_alone))
    default_alerts = default_alerts || c.metric == "average_rating";
  EXPECT_TRUE(eb_alerts);
  EXPECT_FALSE(default_alerts);  // the permutation test alone misses it
  for (const ChangeFinding& t : TestProductChanges("weak", facts, now, o))
    EXPECT_NE(t.metric.find("empirical"), 0u) << "the member is never a finding of its own";
}

std::vector<ReviewFact> StarsFacts(const std::vector<int>& stars) {
  std::vector<ReviewFact> facts;
  for (size_t i = 0; i < stars.size(); ++i) {
    ReviewFact f;
    f.id = absl::StrCat("r", i);
    f.created_at = kStart + absl::Hours(24 * 3 * static_cast<double>(i));
    f.rating = stars[i];
    f.sentiment = (stars[i] - 3) * 0.3;
    facts.push_back(f);
  }
  return facts;
}

// The empirical-Bayes star-levels test (the default judge of the stars: README): its Dirichlet prior is
// fitted by Dirichlet-multinomial maximum likelihood, its p is exact under its model (level shares from the
// prior, reviews iid), and it sees both shapes: a mean that moved without many 1-2 star reviews (5 and 4
// stars, then 3s) and the weak real-text shape (11 five-star reviews, then 10 of which 6 are 1-2 stars).
TEST(ChangeDetection, EmpiricalBayesStarLevelsIsExactUnderItsModelAndSeesBothShapes) {
  const std::vector<double> prior = {0.5, 0.6, 1.5, 3, 5};
  std::mt19937_64 rng(13);
  std::vector<std::gamma_distribution<double>> gammas;
  for (double a : prior) gammas.emplace_back(a, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::vector<int>> counts, nulls;
  for (int i = 0; i < 3000; ++i) {
    std::vector<double> theta;
    double sum = 0;
    for (auto& g : gammas) sum += theta.emplace_back(g(rng));
    const int n = 15 + i % 4 * 10;  // 15, 25, 35, 45 reviews
    std::vector<int> stars(n), c(5, 0);
    for (int& s : stars) {
      double v = u(rng) * sum, cumulative = 0;
      s = 5;
      for (int j = 0; j < 5; ++j) {
        cumulative += theta[j];
        if (v < cumulative) {
          s = j + 1;
          break;
        }
      }
      ++c[s - 1];
    }
    counts.push_back(c);
    nulls.push_back(std::move(stars));
  }
  const std::vector<double> fitted = FitDirichletMultinomial(counts, 5);
  ASSERT_EQ(fitted.size(), 5u);
  double fitted_total = 0;
  for (double a : fitted) fitted_total += a;
  EXPECT_NEAR(fitted_total, 10.6, 10.6 * 0.15);
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(fitted[j] / fitted_total, prior[j] / 10.6, 0.02) << j;
  ChangeOptions o;
  o.eb_stars = true;
  o.eb_stars_model = std::make_shared<StarLevelsEmpiricalBayes>(prior, StarsStatistic::kMeanDrop, 1999);
  int below_01 = 0, below_05 = 0;
  for (const auto& stars : nulls) {
    const std::vector<ReviewFact> facts = StarsFacts(stars);
    const double p = EmpiricalBayesStarsP(facts, facts.back().created_at, o);
    below_01 += p <= 0.01;
    below_05 += p <= 0.05;
  }
  EXPECT_LE(below_01, 30 + 3 * 5.5);  // binomial(3000, 0.01): 30 +- 5.4
  EXPECT_LE(below_05, 150 + 3 * 12);  // binomial(3000, 0.05): 150 +- 11.9
  EXPECT_GE(below_05, 150 - 3 * 12);  // and not far below: the p is exact, not merely conservative
  // Both shapes pass the member's level in the product's family (the default, 0.999 of the stars share at
  // product_alpha 0.02), and the 0.0075 it had when it was measured beside the permutation test (0.5 of the
  // share at 0.015).
  const std::vector<int> mean_moved = {5, 5, 4, 5, 5, 4, 5, 5, 5, 4, 5, 5, 3, 3, 4, 2, 3, 3, 4, 3, 3, 2};
  const std::vector<int> low_rose = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 2, 1, 1, 5, 2, 2, 5, 5, 1, 5};
  for (const auto& shape : {mean_moved, low_rose}) {
    const std::vector<ReviewFact> facts = StarsFacts(shape);
    const absl::Time now = facts.back().created_at;
    EXPECT_LE(EmpiricalBayesStarsP(facts, now, o), o.product_alpha * o.eb_stars_weight);
    EXPECT_LE(EmpiricalBayesStarsP(facts, now, o), 0.0075);
    bool alerts = false;
    for (const ChangeFinding& c : DetectChanges({{"shape", facts}}, now, o))
      alerts = alerts || c.metric == "average_rating";
    EXPECT_TRUE(alerts);
    for (const ChangeFinding& t : TestProductChanges("shape", facts, now, o))
      EXPECT_NE(t.metric.find("empirical"), 0u) << "the member is never a finding of its own";
  }
  // Its own most surprising split (eb_stars_dating) is the planted one: the newest 10 reviews.
  EXPECT_EQ(
      o.eb_stars_model->MostSurprisingAfter(
          o.eb_stars_model->Levels(std::vector<double>(mean_moved.begin(), mean_moved.end())), {8, 12, 17}),
      10);
  // The same stars with the worst first (the newest reviews the best) do not: the test is directional.
  std::vector<int> improving = mean_moved;
  std::sort(improving.begin(), improving.end());
  const std::vector<ReviewFact> facts = StarsFacts(improving);
  EXPECT_GT(EmpiricalBayesStarsP(facts, facts.back().created_at, o), 0.5);
}

// The Monte Carlo null cache is bounded (the oldest (n, grid) entries dropped first) and a dropped entry is
// simulated again identically, so the bound changes no p; concurrent callers share it safely.
TEST(ChangeDetection, EmpiricalBayesNullCacheIsBoundedAndReproducible) {
  StarLevelsEmpiricalBayes model({0.5, 0.6, 1.5, 3, 5}, StarsStatistic::kMeanDrop, 499);
  model.set_max_cached(3);
  const ChangeOptions o;
  std::vector<double> first;
  for (int n = 20; n < 30; ++n) {
    std::vector<int> levels(n, 4);
    for (int i = n - 8; i < n; i += 2) levels[i] = 1;
    first.push_back(model.PValue(levels, SplitGrid(n, o)));
    EXPECT_LE(model.cached(), 3u);
  }
  std::vector<std::thread> threads;
  std::vector<double> again(first.size());
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 20 + t; n < 30; n += 2) {
        std::vector<int> levels(n, 4);
        for (int i = n - 8; i < n; i += 2) levels[i] = 1;
        again[n - 20] = model.PValue(levels, SplitGrid(n, o));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(again, first);
  EXPECT_LE(model.cached(), 3u);
}

TEST(ChangeDetection, BenjaminiHochbergAcrossTestsStaysAvailable) {
  ChangeOptions bh;
  bh.calibration = ChangeCalibration::kBenjaminiHochberg;
  const auto changes = DetectChanges(UnchangedProducts(200), kStart + absl::Hours(24 * 400), bh);
  EXPECT_TRUE(changes.empty()) << changes.front().product_id << ": " << changes.front().message;
}

TEST(ChangeDetection, PermutationPIsReproducible) {
  // The permutation test's seed comes from the product and metric: the service, the cli and the tests give
  // the same p for the same reviews. Its smallest p is 1 / (permutations + 1).
  std::mt19937 rng(9);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 14, 0, 4.4, &rng);
  AddReviews(&facts, 10, 60, 3.6, &rng);
  const absl::Time now = facts.back().created_at;
  const auto a = TestProductChanges("p", facts, now), b = TestProductChanges("p", facts, now);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].p_value, b[i].p_value) << a[i].metric;
  ASSERT_EQ(a[0].metric, "average_rating");
  EXPECT_GE(a[0].test_p_value, 1.0 / 1000);
  EXPECT_LT(a[0].test_p_value, 0.05);
}

TEST(ChangeDetection, WeightedHolmWithinAProduct) {
  // Stars/sentiment (one joint test, weight 0.6) and one issue (weight 0.4) in the family: the issue's
  // adjusted p is its p / 0.4 while the joint test has not passed, the joint test's p / 0.6; after the
  // smaller passes, the other is compared with alpha alone.
  std::mt19937 rng(4);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 30, 0, 4.5, &rng, "defective", 0.02);
  AddReviews(&facts, 20, 90, 4.5, &rng, "defective", 0.8);
  ChangeOptions o;
  o.min_velocity_before = 1000;  // no velocity test: a family of two
  const auto tests = TestProductChanges("p", facts, facts.back().created_at, o);
  const ChangeFinding *issue = nullptr, *rating = nullptr;
  for (const ChangeFinding& t : tests) {
    if (t.metric == "issue_share:defective") issue = &t;
    if (t.metric == "average_rating") rating = &t;
  }
  ASSERT_NE(issue, nullptr);
  ASSERT_NE(rating, nullptr);
  EXPECT_LT(issue->test_p_value, 1e-4);
  EXPECT_NEAR(issue->p_value, std::min(1.0, issue->test_p_value / 0.4), 1e-12);
  EXPECT_NEAR(rating->p_value, std::min(1.0, std::max(issue->p_value, rating->test_p_value)), 1e-12);
  const auto alerts = DetectChanges({{"p", facts}}, facts.back().created_at, o);
  ASSERT_FALSE(alerts.empty());
  EXPECT_EQ(alerts.front().metric, "issue_share:defective");
}

TEST(ChangeDetection, ARevertedChangeIsHistory) {
  std::mt19937 rng(5);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 40, 0, 4.7, &rng);
  AddReviews(&facts, 40, 120, 1.8, &rng);
  AddReviews(&facts, 40, 240, 4.7, &rng);
  const auto tests = TestProductChanges("p", facts, facts.back().created_at);
  for (const ChangeFinding& t : tests) {
    if (t.metric == "average_rating" && t.meets_effect) {
      EXPECT_FALSE(t.open) << t.message;
      EXPECT_GT(t.recovered_at, t.since);
      EXPECT_NE(t.message.find("recovered"), std::string::npos) << t.message;
    }
  }
}

TEST(ChangeDetection, SmallCountsDoNotAlert) {
  // "3 of 8 vs 1 of 31": the old two-proportion z-test called this significant.
  std::vector<ReviewFact> facts;
  for (int i = 0; i < 39; ++i) {
    ReviewFact f;
    f.id = absl::StrCat("r", i);
    f.created_at = kStart + absl::Hours(24 * 5 * i);
    f.rating = 4 + i % 2;
    f.sentiment = 0.6;
    if (i == 10 || i == 33 || i == 35 || i == 37) f.issues.push_back("defective");
    facts.push_back(f);
  }
  std::map<std::string, std::vector<ReviewFact>> products{{"p", facts}};
  EXPECT_TRUE(DetectChanges(products, facts.back().created_at).empty());
  // The exact one-sided tail: P(X >= 3) drawing 8 of 39 with 4 successes.
  EXPECT_NEAR(HypergeometricUpperTail(3, 39, 4, 8), (4.0 * 324632 + 52360) / 61523748, 1e-9);
}

TEST(ChangeDetection, TooFewReviewsAreNotTested) {
  std::mt19937 rng(1);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 8, 0, 4.8, &rng);
  EXPECT_TRUE(TestProductChanges("p", facts, facts.back().created_at).empty());
}

TEST(ChangeDetection, BenjaminiHochbergAndTarone) {
  // m = 4, q = 0.1: 0.01 <= 0.025, 0.03 <= 0.05, 0.06 <= 0.075, 0.5 > 0.1: threshold 0.06.
  EXPECT_DOUBLE_EQ(BenjaminiHochbergThreshold({0.01, 0.03, 0.06, 0.5}, 0.1), 0.06);
  EXPECT_DOUBLE_EQ(BenjaminiHochbergThreshold({0.2, 0.5}, 0.1), 0);
  // Two untestable count tests (min p 1) do not dilute the two real ones.
  EXPECT_DOUBLE_EQ(TaroneBenjaminiHochbergThreshold({0.04, 0.06, 1, 1}, {0, 0, 1, 1}, 0.1), 0.06);
  EXPECT_DOUBLE_EQ(BenjaminiHochbergThreshold({0.04, 0.06, 1, 1}, 0.1), 0);
  EXPECT_NEAR(BinomialLowerTail(0, 10, 0.5), 1.0 / 1024, 1e-12);
}

TEST(ChangeDetection, VelocityDropIsFound) {
  std::vector<ReviewFact> facts;
  for (int i = 0; i < 120; ++i) {  // daily for 120 days, then one a month
    ReviewFact f;
    f.id = absl::StrCat("r", i);
    f.created_at = kStart + absl::Hours(24 * i);
    f.rating = 5;
    f.sentiment = 0.8;
    facts.push_back(f);
  }
  for (int i = 0; i < 4; ++i) {
    ReviewFact f;
    f.id = absl::StrCat("late", i);
    f.created_at = kStart + absl::Hours(24 * (150 + 30 * i));
    f.rating = 5;
    f.sentiment = 0.8;
    facts.push_back(f);
  }
  const auto changes = DetectChanges({{"p", facts}}, facts.back().created_at);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].metric, "review_velocity");
  EXPECT_LE(std::fabs(absl::ToDoubleHours(changes[0].since - (kStart + absl::Hours(24 * 120)))) / 24, 30);
}

// ChangeOptions::date_latest_change (measured, not kept: README): a history with an early small drop of the
// product's own and a later, larger one dates the open change at the later drop; one drop stays where it is.
TEST(ChangeDetection, LatestPersistingSplitDatesTheLaterOfTwoDrops) {
  std::vector<double> stars;
  for (int i = 0; i < 20; ++i) stars.push_back(i % 4 == 0 ? 4 : 5);  // 4.75
  for (int i = 0; i < 20; ++i) stars.push_back(i % 2 == 0 ? 4 : 3);  // 3.5: the product's own early drop
  for (int i = 0; i < 20; ++i) stars.push_back(i % 3 == 0 ? 2 : 1);  // 1.35: the planted drop
  ChangeOptions o;
  o.date_latest_change = true;
  EXPECT_EQ(LatestPersistingSplit(stars, 20, o), 40);
  std::vector<double> one(stars.begin(), stars.begin() + 20);
  one.insert(one.end(), stars.begin() + 40, stars.end());
  EXPECT_EQ(LatestPersistingSplit(one, 20, o), 20);  // nothing later
  // The support-interval variant also moves to the later drop here (its gain at 40 is the best).
  o.late_support = 0.5;
  EXPECT_EQ(LatestPersistingSplit(stars, 20, o), 40);

  // End to end, without the star-levels model (the permutation test judges): the rating alert's since is
  // within 30 days of the later drop.
  std::mt19937 rng(5);
  std::vector<ReviewFact> facts;
  AddReviews(&facts, 40, 0, 4.8, &rng);
  AddReviews(&facts, 30, 120, 3.9, &rng);
  AddReviews(&facts, 30, 210, 1.6, &rng);  // from day 210 on
  const absl::Time now = facts.back().created_at + absl::Hours(24);
  o.late_support = 0;
  bool rating = false;
  for (const ChangeFinding& c : TestProductChanges("p1", facts, now, o)) {
    if (c.metric != "average_rating") continue;
    rating = true;
    EXPECT_LE(std::fabs(absl::ToDoubleHours(c.since - (kStart + absl::Hours(24 * 210)))) / 24, 30)
        << c.message;
  }
  EXPECT_TRUE(rating);
}

TEST(ChangeDetection, JointSplitSeparatesMildOriginalsFromTheStronglyNegativeRun) {
  // 12 reviews of 4-5 stars, then three of the product's own 2-3 star reviews with mild text, then a run of
  // 1-2 star reviews with strongly negative text: the stars' own mean-shift split is at the mild ones (12),
  // the standardised sum of stars and sentiment at the negative run (15).
  std::vector<double> stars = {5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 4, 5, 3, 2, 3, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2};
  std::vector<double> sentiment(12, 0.8);
  for (double v : {0.3, 0.2, 0.4}) sentiment.push_back(v);
  sentiment.resize(stars.size(), -0.8);
  ChangeOptions o;
  o.date_by_joint = 2;  // with no sentiment, the stars alone
  EXPECT_EQ(JointSplit(stars, std::vector<double>(stars.size(), 0), 15, o), 12);
  o.date_by_joint = 1;
  EXPECT_EQ(JointSplit(stars, sentiment, 12, o), 15);
  EXPECT_EQ(RedatedRatingSplit(stars, 12, o, sentiment), 15);
  EXPECT_EQ(RedatedRatingSplit(stars, 12, o), 12);  // without the sentiment, no re-dating
  // An improvement is never a split: the same reviews newest first have no drop to date.
  std::reverse(stars.begin(), stars.end());
  std::reverse(sentiment.begin(), sentiment.end());
  EXPECT_EQ(JointSplit(stars, sentiment, 12, o), 12);
}

TEST(ChangeDetection, PosteriorMedianSplitSitsOnASharpDropAndBetweenCandidatesOfABroadOne) {
  ChangeOptions o;
  o.date_by_posterior_median = true;
  // A sharp drop after 14 reviews: the posterior is concentrated there, median = mode.
  std::vector<double> sharp(14, 5);
  sharp.resize(26, 1);
  EXPECT_EQ(PosteriorMedianSplit(sharp, 14, o), 14);
  EXPECT_EQ(RedatedRatingSplit(sharp, 14, o), 14);
  // The stars of the joint test above: mild 2-3 star originals (12-14) before the 1-2 star run (15): the
  // mode is at the mild ones, the median no earlier and no later than the run's start.
  const std::vector<double> broad = {5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 4, 5, 3,
                                     2, 3, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2};
  const int median = PosteriorMedianSplit(broad, 12, o);
  EXPECT_GE(median, 12);
  EXPECT_LE(median, 15);
  // No drop near the split (an improvement): nothing to date, the split is kept.
  std::vector<double> rising(sharp.rbegin(), sharp.rend());
  EXPECT_EQ(PosteriorMedianSplit(rising, 12, o), 12);
}

TEST(ChangeDetection, CredibleRangeOfTheChangeDateIsNarrowForACleanDropAndWideForAnAmbiguousOne) {
  ChangeOptions o;
  // A clean drop after 14 reviews: the posterior sits on it; the range is the split itself or a neighbour.
  std::vector<double> clean(14, 5);
  for (int i = 0; i < 12; ++i) clean.push_back(i % 3 == 0 ? 2 : 1);
  const auto [clean_lo, clean_hi] = ChangeLocationCredibleSplits(clean, 14, o);
  EXPECT_LE(clean_lo, 14);
  EXPECT_GE(clean_hi, 14);
  EXPECT_LE(clean_hi - clean_lo, 1);
  // The posterior itself: oldest split first, the mode's weight 1, no weight where the mean rises.
  const std::vector<std::pair<int, double>> posterior = ChangeLocationPosterior(clean, 5, 18, o);
  ASSERT_FALSE(posterior.empty());
  EXPECT_EQ(posterior.front().first, 5);
  double top = 0;
  int mode = -1;
  for (size_t j = 0; j < posterior.size(); ++j) {
    if (j > 0) {
      EXPECT_GT(posterior[j].first, posterior[j - 1].first);
    }
    if (posterior[j].second > top) top = posterior[j].second, mode = posterior[j].first;
  }
  EXPECT_DOUBLE_EQ(top, 1);
  EXPECT_EQ(mode, 14);
  // The product's own mild 3-star reviews (12, 13) just before a 1-2 star run (14): both starts are
  // credible (posterior ~0.6 at 12, ~0.2 at 14), so the range holds the mild originals' start and the run's.
  const std::vector<double> mild = {5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 4, 5, 3, 3, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2};
  const auto [mild_lo, mild_hi] = ChangeLocationCredibleSplits(mild, 12, o);
  EXPECT_LE(mild_lo, 12);
  EXPECT_GE(mild_hi, 14);
  // A 5-star review kept after the first low one (15): the run proper starts at 17, which the posterior
  // also credits (~0.3 against ~0.7 at 15); the range reaches it.
  std::vector<double> kept(15, 5);
  kept[3] = 4, kept[8] = 4;
  for (double v : {1, 5, 1, 2, 1, 1, 2, 1, 1, 1, 2, 1, 1}) kept.push_back(v);
  const auto [kept_lo, kept_hi] = ChangeLocationCredibleSplits(kept, 15, o);
  EXPECT_LE(kept_lo, 15);
  EXPECT_GE(kept_hi, 17);
  // The chosen split is always inside, even where the posterior puts little weight.
  const auto [off_lo, off_hi] = ChangeLocationCredibleSplits(clean, 8, o);
  EXPECT_LE(off_lo, 8);
  EXPECT_GE(off_hi, 14);
  // No drop anywhere (an improvement): the range is the split alone.
  std::vector<double> rising(clean.rbegin(), clean.rend());
  EXPECT_EQ(ChangeLocationCredibleSplits(rising, 12, o), std::make_pair(12, 12));
}

TEST(ChangeDetection, TheOpenRatingAlertCarriesItsDateRangeAndSaysSoWhenItIsWide) {
  // Mild 3-star originals before a 1-2 star run, as reviews (one every 3 days): the open rating finding's
  // range holds its `since` and both starts (day 36, the mild ones; day 42, the run), and the message says
  // between which dates; other metrics carry no range.
  auto history = [](const std::vector<double>& stars) {
    std::vector<ReviewFact> facts;
    for (size_t i = 0; i < stars.size(); ++i) {
      ReviewFact f;
      f.id = absl::StrCat("r", i);
      f.created_at = kStart + absl::Hours(24) * (3 * static_cast<int>(i));
      f.rating = static_cast<int>(stars[i]);
      f.sentiment = (stars[i] - 3) / 2;
      facts.push_back(f);
    }
    return facts;
  };
  const std::vector<ReviewFact> facts =
      history({5, 4, 5, 5, 5, 4, 5, 5, 5, 5, 4, 5, 3, 3, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2});
  const absl::Time now = facts.back().created_at + absl::Hours(24);
  bool rating = false;
  for (const ChangeFinding& c : TestProductChanges("p1", facts, now)) {
    if (c.metric != "average_rating") {
      EXPECT_EQ(c.since_earliest, absl::InfinitePast()) << c.metric;
      EXPECT_EQ(c.since_latest, absl::InfinitePast()) << c.metric;
      continue;
    }
    rating = true;
    ASSERT_TRUE(c.open);
    EXPECT_LE(c.since_earliest, c.since) << c.message;
    EXPECT_GE(c.since_latest, c.since) << c.message;
    EXPECT_LE(c.since_earliest, kStart + absl::Hours(24 * 36)) << c.message;  // the mild originals
    EXPECT_GE(c.since_latest, kStart + absl::Hours(24 * 42)) << c.message;    // the run
    EXPECT_NE(c.message.find("; the change could have started between "), std::string::npos) << c.message;
  }
  EXPECT_TRUE(rating);
  // A clean drop: the range is the split itself, and the message has no "between".
  std::vector<double> clean(25, 5);
  clean.resize(40, 1);
  const std::vector<ReviewFact> sharp = history(clean);
  for (const ChangeFinding& c : TestProductChanges("p2", sharp, sharp.back().created_at + absl::Hours(24))) {
    if (c.metric != "average_rating") continue;
    EXPECT_EQ(c.since, kStart + absl::Hours(24 * 75));
    EXPECT_EQ(c.since_earliest, c.since);
    EXPECT_EQ(c.since_latest, c.since);
    EXPECT_EQ(c.message.find("could have started"), std::string::npos) << c.message;
  }
}

}  // namespace
}  // namespace marketlens::analyzer
