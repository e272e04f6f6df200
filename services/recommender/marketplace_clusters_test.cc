// ALS on the marketplace's own generated world (//services/marketplace:generator): shoppers belong to
// planted taste clusters and products have a planted appeal to each cluster. Recommendations learned from
// the interactions alone must favour what appeals to each shopper's cluster far more than popularity does.
#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/marketplace/generator.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/algo/popularity.h"
#include "services/recommender/data/dataset.h"
#include "services/recommender/data/hygiene.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

namespace mp = ::marketlens::marketplace;

EventType TypeOf(uint8_t type) {
  switch (type) {
    case mp::v1::INTERACTION_TYPE_ADD_TO_CART:
      return EventType::kAddToCart;
    case mp::v1::INTERACTION_TYPE_PURCHASE:
      return EventType::kPurchase;
    case mp::v1::INTERACTION_TYPE_RATING:
      return EventType::kRating;
    default:
      return EventType::kView;
  }
}

TEST(MarketplaceClustersTest, AlsRecoversPlantedTasteClusters) {
  mp::GeneratorOptions options;
  options.seed = 11;
  options.products = 300;
  auto world = mp::Generate(options);
  ASSERT_THAT(world, IsOk());
  const mp::WorldData& d = world->data;
  ASSERT_FALSE(d.customer_truth.empty());

  InteractionLog log;
  for (const mp::InteractionRecord& r : d.interactions) {
    const EventType type = TypeOf(r.type);
    log.Add(d.customers[r.customer].id(), d.products[r.product].id(), type,
            type == EventType::kRating ? static_cast<float>(r.rating) : 1.0f, r.time_us / 1000000,
            r.session == 0 ? "" : mp::SessionId(r.session));
  }
  InteractionLog clean = Clean(log, {.min_user_interactions = 5, .min_item_interactions = 5});
  TrainingData data = BuildTrainingData(clean);
  ASSERT_GT(data.num_users(), 500);

  AlsModel als({.factors = 24, .regularization = 0.1f, .alpha = 2, .iterations = 10, .threads = 2});
  ASSERT_THAT(als.Fit(data), IsOk());
  PopularityModel popularity;
  ASSERT_THAT(popularity.Fit(data), IsOk());

  // Planted truth by id.
  absl::flat_hash_map<std::string, int> cluster_of;
  for (size_t c = 0; c < d.customers.size(); ++c)
    cluster_of[d.customers[c].id()] = d.customer_truth[c].cluster();
  absl::flat_hash_map<std::string, const mp::v1::ProductTruth*> truth_of;
  for (size_t p = 0; p < d.products.size(); ++p) truth_of[d.products[p].id()] = &d.product_truth[p];

  // Mean planted appeal, to the shopper's own cluster, of the top-10 unseen items of each method; and for
  // reference the mean appeal of all products to that cluster (what random picks would get).
  // The oracle is the top-10 unseen products by planted appeal: the best any method could do.
  double als_appeal = 0, pop_appeal = 0, random_appeal = 0, oracle_appeal = 0;
  int lists = 0;
  std::vector<float> scores(data.num_items());
  for (int32_t u = 0; u < data.num_users(); ++u) {
    const int cluster = cluster_of.at(data.users.Name(u));
    auto appeal = [&](int32_t item) {
      const auto& a = truth_of.at(data.items.Name(item))->cluster_affinity();
      return cluster < a.size() ? a[cluster] : 0.0;
    };
    const UserHistory h = HistoryOf(data, u);
    als.Score(u, h, absl::MakeSpan(scores));
    for (const ScoredItem& s : TopN(scores, 10, h.items)) als_appeal += appeal(s.item);
    popularity.Score(u, h, absl::MakeSpan(scores));
    for (const ScoredItem& s : TopN(scores, 10, h.items)) pop_appeal += appeal(s.item);
    double all = 0;
    for (int32_t i = 0; i < data.num_items(); ++i) {
      scores[i] = static_cast<float>(appeal(i));
      all += scores[i];
    }
    random_appeal += 10 * all / data.num_items();
    for (const ScoredItem& s : TopN(scores, 10, h.items)) oracle_appeal += s.score;
    ++lists;
  }
  als_appeal /= lists * 10.0;
  pop_appeal /= lists * 10.0;
  random_appeal /= lists * 10.0;
  oracle_appeal /= lists * 10.0;
  RecordProperty("oracle_appeal", absl::StrCat(oracle_appeal));
  RecordProperty("als_appeal", absl::StrCat(als_appeal));
  RecordProperty("popularity_appeal", absl::StrCat(pop_appeal));
  RecordProperty("random_appeal", absl::StrCat(random_appeal));
  // Share of the achievable gain over random picks that each method captures.
  const double als_share = (als_appeal - random_appeal) / (oracle_appeal - random_appeal);
  const double pop_share = (pop_appeal - random_appeal) / (oracle_appeal - random_appeal);
  RecordProperty("als_share_of_oracle_gain", absl::StrCat(als_share));
  EXPECT_GT(als_appeal, 1.25 * pop_appeal) << "als " << als_appeal << " popularity " << pop_appeal;
  EXPECT_GT(als_share, 3 * pop_share) << "als " << als_share << " popularity " << pop_share;
}

}  // namespace
}  // namespace marketlens::recommender
