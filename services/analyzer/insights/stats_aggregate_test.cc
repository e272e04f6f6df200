#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "services/analyzer/insights/aggregate.h"
#include "services/analyzer/insights/stats.h"

namespace marketlens::analyzer {
namespace {

TEST(StatsTest, DistributionsMatchTables) {
  EXPECT_NEAR(NormalCdf(1.96), 0.9750, 1e-4);
  EXPECT_NEAR(NormalCdf(-1.6449), 0.05, 1e-4);
  EXPECT_NEAR(StudentTCdf(2.228, 10), 0.975, 1e-4);  // t table: df 10, 97.5%
  EXPECT_NEAR(StudentTCdf(-1.812, 10), 0.05, 1e-3);
  EXPECT_NEAR(StudentTCdf(0, 3.5), 0.5, 1e-12);
  EXPECT_NEAR(StudentTCdf(2.0, 1e6), NormalCdf(2.0), 1e-5);
  EXPECT_NEAR(RegularizedIncompleteBeta(2, 3, 0.4), 0.5248, 1e-4);
}

TEST(StatsTest, WelchMatchesAWorkedExample) {
  // Welch's t-test, example 1 of the Wikipedia article (t = -2.46, df ~ 24.98, two-sided p ~ 0.021).
  const std::vector<double> a = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1,
                                 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  const std::vector<double> b = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0,
                                 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
  Moments ma, mb;
  for (double x : a) ma.Add(x);
  for (double x : b) mb.Add(x);
  TestResult r = WelchTTest(mb, ma);  // a (second) is lower
  ASSERT_TRUE(r.valid);
  EXPECT_NEAR(r.statistic, -2.46, 0.01);
  EXPECT_NEAR(r.df, 24.98, 0.05);
  EXPECT_NEAR(r.p_two_sided, 0.021, 0.001);
  EXPECT_NEAR(r.p_less, r.p_two_sided / 2, 1e-9);
  EXPECT_FALSE(WelchTTest(Moments(), mb).valid);
}

TEST(StatsTest, TwoProportionZ) {
  TestResult r = TwoProportionZTest(10, 200, 30, 200);  // 5% -> 15%
  ASSERT_TRUE(r.valid);
  EXPECT_NEAR(r.statistic, 3.3333, 1e-3);  // 0.10 / sqrt(0.1 * 0.9 * 2 / 200)
  EXPECT_LT(r.p_greater, 0.001);
  EXPECT_FALSE(TwoProportionZTest(0, 10, 0, 10).valid);  // no variance
}

TEST(StatsTest, Slope) {
  EXPECT_DOUBLE_EQ(Slope({1, 3, 5, 7}), 2);
  EXPECT_DOUBLE_EQ(Slope({4}), 0);
  EXPECT_DOUBLE_EQ(Slope({2, 2, 2}), 0);
}

absl::Time Day(int y, int m, int d) { return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone()); }

TEST(StatsTest, PrefixSumsSegmentsAndTheMeanShiftTest) {
  const std::vector<double> x = {5, 4, 5, 5, 4, 5, 2, 1, 2, 1};
  const PrefixSums p(x);
  Moments direct;
  for (int i = 2; i < 6; ++i) direct.Add(x[i]);
  const Moments m = p.Segment(2, 6, 0);
  EXPECT_EQ(m.n, 4);
  EXPECT_NEAR(m.mean, direct.mean, 1e-12);
  EXPECT_NEAR(m.m2, direct.m2, 1e-9);
  EXPECT_NEAR(p.Segment(0, 6, 1.0).m2, 5.0, 1e-12);  // variance 0.27 floored at 1, times n - 1
  // The last four reviews fell from ~4.7 to 1.5: the lower tail is tiny, the two tails sum to one.
  const double lower = MeanShiftP(p, 0, 6, 6, 10, -1, 0.01), higher = MeanShiftP(p, 0, 6, 6, 10, +1, 0.01);
  EXPECT_LT(lower, 1e-4);
  EXPECT_NEAR(lower + higher, 1.0, 1e-12);
  // Pooled t by hand: means 4.667 and 1.5, pooled variance (1.333 + 1) / 8.
  const double t = (1.5 - 14.0 / 3) / std::sqrt((4.0 / 3 + 1.0) / 8 * (1.0 / 6 + 1.0 / 4));
  EXPECT_NEAR(lower, StudentTCdf(t, 8), 1e-12);
  EXPECT_EQ(MeanShiftP(p, 0, 0, 0, 10, -1, 0.01), 1);  // an empty side: no evidence
}

TEST(AggregateTest, WeeklyOverallIssuesAndFeatures) {
  std::vector<ReviewFact> facts;
  // 2025-01-06 is a Monday.
  facts.push_back({Day(2025, 1, 6), 5, 0.8, {}, {}, {"battery"}, {0.9}});
  facts.push_back(
      {Day(2025, 1, 12), 3, 0.0, {"defective"}, {"It stopped working."}, {"battery", "sound"}, {-0.5, 0.4}});
  facts.push_back({Day(2025, 1, 13),
                   1,
                   -0.7,
                   {"defective", "late_delivery"},
                   {"Dead after a day.", "Came late."},
                   {},
                   {}});
  ProductAggregate a = Aggregate(facts, Day(2025, 1, 14));
  EXPECT_EQ(a.review_count, 3);
  EXPECT_NEAR(a.average_rating, 3.0, 1e-9);
  EXPECT_NEAR(a.sentiment, 0.0333, 1e-4);
  ASSERT_EQ(a.weekly.size(), 2u);
  EXPECT_EQ(a.weekly[0].week_start, absl::CivilDay(2025, 1, 6));
  EXPECT_EQ(a.weekly[0].reviews, 2);
  EXPECT_NEAR(a.weekly[0].average_rating, 4.0, 1e-9);
  EXPECT_EQ(a.weekly[1].week_start, absl::CivilDay(2025, 1, 13));
  EXPECT_EQ(a.weekly[1].issue_counts.at("defective"), 1);
  ASSERT_EQ(a.issues.size(), 2u);
  EXPECT_EQ(a.issues[0].category, "defective");
  EXPECT_EQ(a.issues[0].count, 2);
  EXPECT_NEAR(a.issues[0].share, 0.6667, 1e-4);
  EXPECT_EQ(a.issues[0].quotes,
            (std::vector<std::string>{"Dead after a day.", "It stopped working."}));  // newest first
  ASSERT_EQ(a.features[0].aspect, "battery");
  EXPECT_EQ(a.features[0].mentions, 2);
  EXPECT_NEAR(a.features[0].polarity, 0.2, 1e-9);
  EXPECT_EQ(a.last_review_at, Day(2025, 1, 13));
}

// Figures are the doubles nearest their rounded decimals, so JSON shows 3.4, not 3.4000000000000004.
TEST(AggregateTest, RoundedFiguresPrintAsTheirDecimals) {
  std::vector<ReviewFact> facts;
  for (int rating : {5, 4, 4, 2, 2}) facts.push_back({Day(2025, 1, 6), rating, 0.1, {}, {}, {}, {}});
  ProductAggregate a = Aggregate(facts, Day(2025, 1, 7));
  EXPECT_EQ(a.average_rating, 3.4);
  ASSERT_EQ(a.weekly.size(), 1u);
  EXPECT_EQ(a.weekly[0].average_rating, 3.4);
}

TEST(AggregateTest, VelocityTrendCountsEmptyWeeks) {
  std::vector<ReviewFact> facts;
  // Weeks 1..8 before now with 1, 2, ..., 8 reviews: a rising velocity.
  const absl::Time now = Day(2025, 3, 3);  // Monday
  for (int k = 0; k < 8; ++k) {
    for (int i = 0; i <= k; ++i)
      facts.push_back({now - absl::Hours(24 * 7 * (7 - k)) + absl::Hours(i), 4, 0.5});
  }
  ProductAggregate a = Aggregate(facts, now);
  EXPECT_NEAR(a.reviews_per_week, 36.0 / 8, 1e-9);
  EXPECT_NEAR(a.velocity_trend, 1.0, 1e-9);
  // A product that stopped getting reviews: zero weeks pull the trend down.
  ProductAggregate stale = Aggregate(facts, now + absl::Hours(24 * 7 * 6));
  EXPECT_LT(stale.velocity_trend, 0);
}

std::vector<ReviewFact> History(std::mt19937_64& rng, absl::Time now, int baseline, int recent,
                                double base_rating, double recent_rating, double base_issue,
                                double recent_issue) {
  std::vector<ReviewFact> facts;
  std::normal_distribution<double> noise(0, 0.8);
  std::uniform_real_distribution<double> u(0, 1);
  auto add = [&](absl::Time t, double mean, double issue_rate) {
    ReviewFact f;
    f.created_at = t;
    f.rating = static_cast<int>(std::clamp(std::round(mean + noise(rng)), 1.0, 5.0));
    f.sentiment = std::clamp((f.rating - 3) / 2.0 + noise(rng) * 0.2, -1.0, 1.0);
    if (u(rng) < issue_rate) {
      f.issues = {"durability"};
      f.issue_sentences = {"The handle snapped."};
    }
    facts.push_back(f);
  };
  for (int i = 0; i < baseline; ++i)
    add(now - absl::Hours(24 * 40) - absl::Hours(24 * 300) * u(rng), base_rating, base_issue);
  for (int i = 0; i < recent; ++i) add(now - absl::Hours(24 * 27) * u(rng), recent_rating, recent_issue);
  return facts;
}

TEST(AlertTest, SignificantShiftsAlertStableProductsDoNot) {
  std::mt19937_64 rng(5);
  const absl::Time now = Day(2025, 6, 1);
  auto drop = DetectAlerts(History(rng, now, 120, 30, 4.4, 2.6, 0.03, 0.35), now);
  std::set<std::string> kinds;
  for (const auto& f : drop) kinds.insert(f.kind);
  EXPECT_TRUE(kinds.contains("rating_drop"));
  EXPECT_TRUE(kinds.contains("sentiment_drop"));
  EXPECT_TRUE(kinds.contains("issue_spike"));
  for (const auto& f : drop) {
    EXPECT_LT(f.p_value, 0.01) << f.kind;
    EXPECT_LT(f.after, f.kind == "issue_spike" ? 1.0 : f.before);
    EXPECT_FALSE(f.message.empty());
  }
  // Same product, no change: no alert (several seeds, alpha 0.01).
  int false_alarms = 0;
  for (int seed = 0; seed < 20; ++seed) {
    std::mt19937_64 r2(100 + seed);
    false_alarms += !DetectAlerts(History(r2, now, 120, 30, 4.2, 4.2, 0.05, 0.05), now).empty();
  }
  EXPECT_LE(false_alarms, 1);
  // A big drop on too few reviews is not evidence: 10 before (under min_baseline) and 4 after.
  std::mt19937_64 r3(9);
  EXPECT_TRUE(DetectAlerts(History(r3, now, 10, 4, 4.4, 1.5, 0.03, 0.9), now).empty());
}

// A long-tail product: about one review every 10 days for two years, so a month holds 2-3 reviews. Its
// quality drops 100 days before "now": the recent window widens to its newest reviews and catches it.
std::vector<ReviewFact> SparseHistory(std::mt19937_64& rng, absl::Time now, double before, double after,
                                      int drop_days_ago) {
  std::vector<ReviewFact> facts;
  std::normal_distribution<double> noise(0, 0.7);
  for (int day = 730; day >= 0; day -= 10) {
    ReviewFact f;
    f.created_at = now - absl::Hours(24) * day;
    const double mean = day > drop_days_ago ? before : after;
    f.rating = static_cast<int>(std::clamp(std::round(mean + noise(rng)), 1.0, 5.0));
    f.sentiment = std::clamp((f.rating - 3) / 2.0 + noise(rng) * 0.2, -1.0, 1.0);
    facts.push_back(f);
  }
  return facts;
}

TEST(AlertTest, SparseProductsAreJudgedOnTheirNewestReviews) {
  const absl::Time now = Day(2025, 6, 1);
  std::mt19937_64 rng(11);
  const auto drop = DetectAlerts(SparseHistory(rng, now, 4.3, 1.8, 100), now);
  std::set<std::string> kinds;
  for (const auto& f : drop) kinds.insert(f.kind);
  EXPECT_TRUE(kinds.contains("rating_drop"));
  for (const auto& f : drop) {
    EXPECT_EQ(f.recent_reviews, 8)
        << f.kind;  // widened to the newest min_recent reviews (3 in 28 days): days 0..70
    EXPECT_NE(f.message.find("last 70 days"), std::string::npos) << f.message;
  }
  // The same sparse product without a change: (almost) never an alert.
  int false_alarms = 0;
  for (int seed = 0; seed < 20; ++seed) {
    std::mt19937_64 r2(300 + seed);
    false_alarms += !DetectAlerts(SparseHistory(r2, now, 4.2, 4.2, 100), now).empty();
  }
  EXPECT_LE(false_alarms, 1);
  // Newest reviews older than max_recent_days are not "recent": a product nobody reviewed for a year.
  std::mt19937_64 r3(12);
  auto old = SparseHistory(r3, now - absl::Hours(24 * 365), 4.3, 1.8, 100);
  EXPECT_TRUE(DetectAlerts(old, now).empty());
}

}  // namespace
}  // namespace marketlens::analyzer
