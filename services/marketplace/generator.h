// The default data source: a whole marketplace generated deterministically from a seed (same seed and
// options, same world, byte for byte), with the truth it planted kept alongside so analysis and
// recommendations can be scored:
//   - products in 12 categories with brands, prices, stock, margin and launch dates; each has a planted
//     quality, aspects reviewers praise (strengths) or criticise (weaknesses), issues mentioned by a share
//     of its reviews ("holder broke after a week", "arrived damaged"), and some deteriorate from a date on;
//   - shoppers in taste clusters (category preferences and per-product affinities) whose sessions follow a
//     realistic funnel (views >> carts >> purchases), purchases that lead to ratings and reviews days later;
//   - review texts written from the plan by the text generator (varied, negations, typos, mixed opinions);
//   - influencer campaigns with heavily skewed reach and engagement;
//   - customer-service contacts that follow the customer's purchases and problems.
// The PlantedModel is kept after generation: the simulated clock uses it to write new reviews, edits,
// sessions and contacts that follow the same plan.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_H_
#define MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/marketplace/rng.h"
#include "services/marketplace/vocabulary.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {

struct GeneratorOptions {
  uint64_t seed = 42;
  int products = 1000;
  int customers = 0;  // 0: 8 per product
  // The world's "now" when generated; history covers `history` before it. Fixed by default, so that the
  // same seed gives the same world on any day.
  absl::Time end = absl::FromCivil(absl::CivilSecond(2025, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  absl::Duration history = absl::Hours(24 * 730);
  double sessions_per_customer = 28;  // mean over the history, for a customer active all along
  double review_probability = 0.55;   // per purchase
};

// The planted plan of one product (what the truth reports, plus what drives behaviour).
struct ProductPlan {
  int category = 0;  // index into Categories()
  int kind = 0;      // index into the category's kinds
  std::string brand;
  double quality = 4.0;
  std::optional<absl::Time> deteriorates_at;
  double quality_after = 0;
  std::vector<std::string> strengths;
  std::vector<std::string> weaknesses;
  struct Issue {
    std::string name;
    double rate = 0;
    std::optional<absl::Time> since;
  };
  std::vector<Issue> issues;
  double popularity = 1;
  std::vector<double> affinity;  // per cluster
  absl::Time launch;
  int64_t price_cents = 0;
};

struct CustomerPlan {
  int cluster = 0;
  double activity = 1;
  double price_sensitivity = 0.5;
  uint8_t device = 1;
  absl::Time created;
  std::string first_name;
};

// A review as drafted (no id yet) with its truth.
struct ReviewDraft {
  v1::Review review;
  v1::ReviewTruth truth;
};

class PlantedModel {
 public:
  const std::vector<ProductPlan>& products() const { return products_; }
  const std::vector<CustomerPlan>& customers() const { return customers_; }
  const std::vector<std::string>& product_ids() const { return product_ids_; }
  const std::vector<std::string>& customer_ids() const { return customer_ids_; }

  // Expected star rating of a product at time t (before reviewer noise).
  double QualityAt(uint32_t product, absl::Time t) const;

  // A product this customer would look at at time t (launched by then), by taste and popularity.
  uint32_t PickProduct(uint32_t customer, absl::Time t, Rng& rng) const;
  // A customer, by activity.
  uint32_t PickCustomer(Rng& rng) const;

  // One shopping session starting at t: views, maybe carts, maybe purchases, in time order. `stock` (may
  // be null) says which products are sold out (no purchases then).
  std::vector<InteractionRecord> SampleSession(uint32_t customer, absl::Time t, uint32_t session, Rng& rng,
                                               const std::vector<int32_t>* stock = nullptr) const;

  // A star rating this customer would give the product at t; `issue` receives the issue they hit, if any.
  int SampleRating(uint32_t product, uint32_t customer, absl::Time t, Rng& rng,
                   const ProductPlan::Issue** issue) const;

  // A full review written at t, with its truth.
  ReviewDraft WriteReview(uint32_t product, uint32_t customer, absl::Time t, bool verified, Rng& rng) const;

  // An edit of an existing review ("Update after a month: ..."): a new problem, or a happier ending.
  ReviewDraft EditReview(uint32_t product, const v1::Review& old, const v1::ReviewTruth& old_truth,
                         absl::Time t, Rng& rng) const;

  // A customer-service contact about a product (issue may be null: topic then drawn from `topic`).
  v1::Contact WriteContact(uint32_t customer, std::optional<uint32_t> product, const std::string& topic,
                           const IssueSpec* issue, absl::Time t, Rng& rng) const;

  // Sentiment truth from a rating, the aspects' polarities and whether an issue is mentioned.
  static void ScoreSentiment(int rating, v1::ReviewTruth* truth);

 private:
  friend class Generator;
  std::vector<ProductPlan> products_;
  std::vector<CustomerPlan> customers_;
  std::vector<std::string> product_ids_;
  std::vector<std::string> customer_ids_;
  std::vector<std::string> product_names_;   // short names for notes: "Voltix earbuds"
  std::vector<double> customer_cumulative_;  // by activity
  // Per cluster: cumulative category weights, and per category the products and cumulative weights.
  std::vector<std::vector<double>> cluster_category_cumulative_;
  std::vector<std::vector<std::vector<uint32_t>>> category_products_;  // [cluster][category]
  std::vector<std::vector<std::vector<double>>> category_product_cumulative_;
};

struct GeneratedWorld {
  WorldData data;
  std::shared_ptr<const PlantedModel> model;
};

// INVALID_ARGUMENT for options out of range (products 1..1,000,000, customers >= 0, history > 0).
absl::StatusOr<GeneratedWorld> Generate(const GeneratorOptions& options);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_H_
