// Quality alerts scored against planted truth, with exactly the `cli alerts` code path:
//   - two generated worlds (the marketplace CLI's export, run from this test's data: no marketplace code is
//     linked in), seeds 42 and 7, 1,000 products each;
//   - real Amazon 5-core text (both files together) with changes planted by replacing part of the later
//     reviews of half the products with 20+ reviews by real 1-2 star reviews of other products; four
//     planting seeds, pooled.
// The figures are printed; the assertions are floors a little under what was measured (bench/alerts_bench.sh
// reports them against the targets: recall >= 0.9, <= 1% of unchanged products alerted, dated within
// 30 days). Dating is asserted on the interval the reviews allow (the planted date within 30 days of
// (changed_after, since]: the data cannot date a change inside a gap without reviews); the strict figure
// (`since` within 30 days) is printed beside it. Sharded: each case runs alone (the engine's analysis of
// each world dominates).
#include "services/analyzer/alerts_scoring.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/real_data.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/cli_alerts.h"

namespace marketlens::analyzer {

using ::marketlens::testing::IsOk;
namespace {

void Print(const std::string& name, const AlertScore& s) {
  std::printf(
      "%s: eligible=%d detected=%d recall=%.3f unchanged=%d false_alarms=%d rate=%.4f dated=%.3f "
      "interval=%.3f median_gap_days=%.1f date_range_coverage=%.3f (unwidened %d of %zu) "
      "date_range_median_days=%.1f\n",
      name.c_str(), s.eligible, s.detected, s.recall(), s.unchanged, s.false_alarms, s.false_alarm_rate(),
      s.dated_share(), s.interval_share(), s.median_gap_days(), s.range_coverage(), s.range_covered_exact,
      s.range_days.size(), Median(s.range_days));
}

struct WorldCase {
  int seed;
  int products;
};

class GeneratedWorld : public ::testing::TestWithParam<WorldCase> {};

TEST_P(GeneratedWorld, PlantedChangesAreFoundAndUnchangedProductsStayQuiet) {
  const WorldCase c = GetParam();
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string dir = absl::StrCat(tmp, "/world", c.seed);
  const std::string cmd = absl::StrCat("services/marketplace/cli export --out ", dir, " --products ",
                                       c.products, " --seed ", c.seed, " --mess_rate 0 > /dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  int skipped = 0;
  auto reviews = ReadReviewsFile(dir + "/reviews.json", &skipped);
  ASSERT_THAT(reviews, IsOk());
  EXPECT_EQ(skipped, 0);
  auto truth = ReadMarketplaceTruth(dir + "/truth_products.jsonl");
  ASSERT_THAT(truth, IsOk());
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  const OfflineAlerts alerts = AlertsForReviews(*reviews, **engine);
  const AlertScore s = ScoreAlerts(*reviews, *truth, alerts.changes);
  Print(absl::StrCat("seed ", c.seed, " products ", c.products), s);
  ASSERT_GE(s.eligible, 8);
  // Measured (2026-12-07, the default: the empirical-Bayes star-levels test at product_alpha 0.02): seed 42
  // recall 0.93 (13 of 14), 0.21% false alarms (2 of 939), dated 0.85 (11 of 13), interval 0.92 (12 of 13,
  // median gap 11.5 days); seed 7 recall 0.91 (10 of 11), 0.63% (6 of 948), dated 0.80 (8 of 10), interval
  // 0.90 (9 of 10, median gap 21.8 days). The targets: recall >= 0.9, <= 1% false alarms. One missed
  // change is 0.07-0.09 of recall here, one misdated 0.1: the bounds leave one change on each.
  EXPECT_GE(s.recall(), 0.85);
  EXPECT_LE(s.false_alarm_rate(), 0.01);
  EXPECT_GE(s.interval_share(), 0.8);
  EXPECT_GE(s.interval_share(), s.dated_share());  // `since` within 30 days implies the interval is
  EXPECT_EQ(s.dated + static_cast<int>(s.misdated.size()), s.detected);
  // The date's 90% credible range (widened by 30 days) holds every change `since` dates within 30 days;
  // measured 1.00 / 0.90 (seed 42 / 7).
  EXPECT_GE(s.range_coverage(), s.dated_share());
  EXPECT_GE(s.range_coverage(), 0.8);
  for (const ChangeFinding& f : alerts.changes) {  // every alert names its own product's reviews
    for (const std::string& id : f.evidence) EXPECT_NE(id.find(f.product_id), std::string::npos) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Worlds, GeneratedWorld, ::testing::Values(WorldCase{42, 1000}, WorldCase{7, 1000}));

TEST(RealText, PlantedChangesInRealReviews) {
  MARKETLENS_REQUIRE_REAL_DATA(gift, "amazon-5core/Gift_Cards_5.json");
  MARKETLENS_REQUIRE_REAL_DATA(magazines, "amazon-5core/Magazine_Subscriptions_5.json");
  std::vector<FileReview> all;
  for (const std::string& path : {gift, magazines}) {
    int skipped = 0;
    auto r = ReadReviewsFile(path, &skipped);
    ASSERT_THAT(r, IsOk());
    all.insert(all.end(), r->begin(), r->end());
  }
  // Pooled over four planting seeds: one planting's dating moves by +-0.08 with where its changes fall.
  AlertScore pooled;
  for (uint64_t seed : {1, 2, 3, 4}) {
    PlantOptions po;
    po.seed = seed;
    const PlantedWorld w = PlantRealChanges(all, po);
    auto engine = Engine::Create();
    ASSERT_THAT(engine, IsOk());
    const OfflineAlerts alerts = AlertsForReviews(w.reviews, **engine);
    ScoreOptions so;
    so.kinds = {"rating_drop", "sentiment_drop", "issue_spike"};  // nothing planted touches velocity
    const AlertScore s = ScoreAlerts(w.reviews, w.truth, alerts.changes, so);
    Print(absl::StrCat("real text, planting seed ", seed), s);
    ASSERT_GE(s.eligible, 20);
    EXPECT_GE(s.interval_share(), s.dated_share());
    EXPECT_EQ(s.dated + static_cast<int>(s.misdated.size()), s.detected);
    EXPECT_GE(s.range_coverage(), s.dated_share());  // the range holds `since`
    pooled.Add(s);
  }
  Print("real text, planting seeds 1-4 pooled", pooled);
  // Measured (2026-12-08, the default: the empirical-Bayes star-levels test at product_alpha 0.02, exact
  // repeats of a review read once): recall 0.886 / 0.902 / 0.881 / 0.911 (146 of 163 pooled, 0.896), no
  // false alarm in 1,051 unchanged products, interval dating 0.871 / 0.784 / 0.811 / 0.780 (118 of 146,
  // 0.808). The misdated detections are 1-6 reviews off the planted one, where the product's own low
  // reviews precede the planted run or kept high ones follow its first review: an estimator that knows the
  // planting process dates 131 of the 146 (alerts_score --dating_ceiling). The floors leave about seven
  // detections of recall and four of dating.
  EXPECT_GE(pooled.recall(), 0.85);
  EXPECT_LE(pooled.false_alarm_rate(), 0.01);
  EXPECT_GE(pooled.interval_share(), 0.78);
  EXPECT_GE(pooled.range_coverage(),
            0.8);  // the 90% date range, widened by 30 days: measured 0.95 (139 of 146)
}

}  // namespace
}  // namespace marketlens::analyzer
