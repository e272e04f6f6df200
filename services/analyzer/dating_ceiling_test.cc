#include "services/analyzer/dating_ceiling.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::analyzer {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1400000000);
const std::vector<double> kPrior = {0.7, 0.7, 0.7, 1.4, 9.5};  // about the 5-core files' fitted prior

absl::Time Day(int d) { return kStart + absl::Hours(24 * d); }

// Products whose own reviews are all 5 stars, 10 days apart, every review after the change replaced: the
// planted run's first review is the first 1-2 star one of the history, so the estimator dates every change.
TEST(DatingCeilingTest, DatesEveryChangeWhenNothingButThePlantedRunIsLow) {
  std::vector<FileReview> reviews;
  for (int p = 0; p < 40; ++p)
    for (int i = 0; i < 40; ++i)
      reviews.push_back({absl::StrCat("r", p, "-", i), absl::StrCat("p", p), "", "", 5, Day(10 * i)});
  for (int i = 0; i < 15; ++i)  // the 1-2 star pool, from a product too short to be planted in
    reviews.push_back({absl::StrCat("low", i), "pool", "", "", 1 + i % 2, Day(i)});
  PlantOptions planting;
  planting.seed = 3;
  planting.replaced_share = 1;
  const PlantedWorld world = PlantRealChanges(reviews, planting);
  std::map<std::string, std::vector<ReviewFact>> products;
  for (const FileReview& r : world.reviews) {
    ReviewFact f;
    f.created_at = r.created_at;
    f.rating = r.rating;
    f.id = r.id;
    products[r.product_id].push_back(f);
  }
  const DatingCeiling c =
      PlantingAwareDatingCeiling(products, world.truth, {planting, kPrior, -1}, ScoreOptions{});
  ASSERT_GT(c.products, 10);
  EXPECT_EQ(c.dated, c.products);
  EXPECT_EQ(c.in_interval, c.products);
  EXPECT_GT(c.expected_share(), 0.99);
}

// A product's own 2 star review 90 days before the planted run: the reviews cannot say whether the change
// began with it or with the run, so even the planting-aware estimator puts real mass on both.
TEST(DatingCeilingTest, AnOwnLowReviewJustBeforeThePlantedRunSplitsThePosterior) {
  std::vector<int> stars(30, 5);
  std::vector<absl::Time> times;
  for (int i = 0; i < 30; ++i) times.push_back(Day(90 * i));
  stars[17] = 2;  // the product's own, just before the run
  for (int i = 18; i < 30; ++i) stars[i] = i % 3 == 2 ? 5 : 1 + i % 2;  // planted from 18, a third kept
  PlantingModel model{PlantOptions{}, kPrior, 0.5};
  const auto d = PlantingAwareDate(stars, times, times[18], model, absl::Hours(24 * 30));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->since == times[17] || d->since == times[18]);
  EXPECT_GT(d->mass_near_planted, 0.05);
  EXPECT_LT(d->mass_near_planted, 0.95);
}

// Kept 5 star reviews right after the planted run's first review (replaced_share 0.6 keeps each with
// probability 0.4): a change starting at the later 1 star review explains the reviews about as well, and the
// reviews are 90 days apart, so the planted date is no longer certain even to the planting-aware estimator.
TEST(DatingCeilingTest, KeptHighReviewsAfterTheFirstPlantedOneSplitThePosterior) {
  std::vector<int> stars(40, 5);
  std::vector<absl::Time> times;
  for (int i = 0; i < 40; ++i) times.push_back(Day(90 * i));
  const std::vector<int> after = {2, 5, 5, 5, 5, 5, 1, 5, 1, 1, 5, 5, 5, 5, 5, 2, 1, 5, 2, 5};
  std::copy(after.begin(), after.end(), stars.begin() + 20);
  const auto d = PlantingAwareDate(stars, times, times[20], {PlantOptions{}, kPrior, 0.5}, absl::Hours(720));
  ASSERT_TRUE(d.has_value());
  EXPECT_GT(d->mass_near_planted, 0.05);
  EXPECT_LT(d->mass_near_planted, 0.95);
}

TEST(DatingCeilingTest, NothingWhenNoSplitThePlantingCouldMakeFits) {
  const std::vector<int> stars(30, 5);  // no 1-2 star review where the planting puts its first one
  std::vector<absl::Time> times;
  for (int i = 0; i < 30; ++i) times.push_back(Day(i));
  EXPECT_FALSE(PlantingAwareDate(stars, times, times[18], {PlantOptions{}, kPrior, 0.5}, absl::Hours(720)));
}

}  // namespace
}  // namespace marketlens::analyzer
