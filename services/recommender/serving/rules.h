// Business rules, applied after scoring to a ranked candidate list (a pure function, so every rule is
// tested on its own):
//   1. never out of stock (stock <= 0), never an item the catalogue does not sell (when a catalogue is
//      loaded at all), never an item blocked in the shopper's region;
//   2. never an item the shopper asked not to see, nor (configurable) one they already bought, nor one of
//      the excluded items (the request's own items: session items, the seed of SimilarItems);
//   3. +10% (configurable) score for high-margin items (margin >= threshold), then re-sorted;
//   4. per-category diversity cap: at most `max_per_category` items of one category; when the cap would
//      leave the list short of n, the capped items fill the remaining places in score order;
//   5. the best n;
//   6. active promotions for this surface and region are inserted at their slot (if the same rules allow
//      the promoted item and it is not already listed), pushing the tail out.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_RULES_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_RULES_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/recommender/data/ids.h"
#include "services/recommender/serving/catalog.h"

namespace marketlens::recommender {

// Candidate::catalog_index for an item the catalogue snapshot of the call does not have.
inline constexpr int32_t kNotInCatalog = -2;

struct Candidate {
  std::string item_id;
  double score = 0;
  std::string reason;
  std::string source;        // "als", "item_knn", "session", "popular", "content", "copurchase", "promotion"
  int32_t model_index = -1;  // the item's index in the serving model, when it has one (not cached)
  // The item's index in the catalogue snapshot the candidate was built for (the one of the call), so the
  // rules and the response need not hash the id; kNotInCatalog when that snapshot lacks it; -1: not
  // resolved (looked up by id). Not part of the Redis form.
  int32_t catalog_index = -1;
};

// The catalogue entry of a candidate: by its resolved index, else by id; nullptr when the catalogue lacks it.
const CatalogItem* CatalogEntry(const CatalogSnapshot& catalog, const Candidate& candidate);

// A candidate by reference, with the score to rank it by: lets the engine rank a shared, memoised list
// (the popular list) without copying it; only the kept items are copied out.
struct CandidateRef {
  const Candidate* candidate;
  double score;
};

struct RuleConfig {
  bool exclude_bought = true;
  int max_per_category = 3;  // 0: no cap
  double high_margin_threshold = 0.4;
  double high_margin_boost = 0.10;
  bool insert_promotions = true;
};

struct RuleContext {
  const CatalogSnapshot* catalog = nullptr;  // null or empty: stock/region/category rules are skipped
  std::string region;
  std::string surface;
  absl::Time now = absl::Now();
  const absl::flat_hash_set<std::string>* do_not_show = nullptr;
  const absl::flat_hash_set<std::string>* bought = nullptr;
  // Also bought: these items of the serving model, as sorted model indexes (the training history's
  // purchases, so they are not copied into `bought` as strings per call). Candidates are checked by their
  // model_index; one without (and a promotion) by its id through `model_items`.
  absl::Span<const int32_t> bought_model_items;
  const IdMap* model_items = nullptr;
  const absl::flat_hash_set<std::string>* exclude = nullptr;
  int n = 10;
  bool diversity = true;  // off for SimilarItems (similar items share a category by design)
};

// Whether rules 1-2 allow the item (exposed for callers that build candidates).
bool Allowed(absl::string_view item_id, const RuleContext& context, const RuleConfig& config);

std::vector<Candidate> ApplyBusinessRules(std::vector<Candidate> candidates, const RuleContext& context,
                                          const RuleConfig& config);
// The same rules over referenced candidates (scores as given in the refs); the result holds copies.
std::vector<Candidate> ApplyBusinessRules(absl::Span<const CandidateRef> candidates,
                                          const RuleContext& context, const RuleConfig& config);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_RULES_H_
