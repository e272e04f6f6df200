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

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/recommender/data/ids.h"
#include "services/recommender/serving/catalog.h"

namespace marketlens::recommender {

// Candidate::catalog_index for an item the catalogue snapshot of the call does not have.
inline constexpr int32_t kNotInCatalog = -2;

// A candidate's reason: a name between a fixed prefix and suffix ("because you bought " + <title>), each
// part borrowed, or text of its own. Borrowed parts are string literals or strings of the model and
// catalogue snapshots the candidate was built for (held by the caller while the candidate is used, as for
// catalog_index), so an answer's reasons are neither built nor copied per call: the response writer
// copies the parts. Own text (a Redis-cached list, SimilarItems) is shared between copies, not copied.
class ReasonText {
 public:
  ReasonText() = default;
  // A string literal (or another string that outlives the candidate: the pointer is kept).
  ReasonText(const char* literal) : name_(literal) {}  // NOLINT: implicit, as for std::string
  // Text of its own.
  ReasonText(std::string text)  // NOLINT
      : owned_(std::make_shared<const std::string>(std::move(text))) {
    name_ = *owned_;
  }
  // prefix + name + suffix, all borrowed.
  static ReasonText Borrowed(absl::string_view prefix, absl::string_view name,
                             absl::string_view suffix = {}) {
    ReasonText r;
    r.prefix_ = prefix;
    r.name_ = name;
    r.suffix_ = suffix;
    return r;
  }

  absl::string_view prefix() const { return prefix_; }
  absl::string_view name() const { return name_; }
  absl::string_view suffix() const { return suffix_; }
  size_t size() const { return prefix_.size() + name_.size() + suffix_.size(); }
  bool empty() const { return size() == 0; }
  void AppendTo(std::string* out) const {
    out->append(prefix_.data(), prefix_.size());
    out->append(name_.data(), name_.size());
    out->append(suffix_.data(), suffix_.size());
  }
  std::string str() const {
    std::string s;
    s.reserve(size());
    AppendTo(&s);
    return s;
  }
  operator std::string() const { return str(); }  // NOLINT: reads as the text it is

  friend bool operator==(const ReasonText& a, absl::string_view b) {
    return a.size() == b.size() && b.substr(0, a.prefix_.size()) == a.prefix_ &&
           b.substr(a.prefix_.size(), a.name_.size()) == a.name_ &&
           b.substr(a.prefix_.size() + a.name_.size()) == a.suffix_;
  }
  friend bool operator==(const ReasonText& a, const char* b) { return a == absl::string_view(b); }
  friend bool operator==(const ReasonText& a, const std::string& b) { return a == absl::string_view(b); }
  friend bool operator==(const ReasonText& a, const ReasonText& b) { return a == absl::string_view(b.str()); }
  template <typename T>
  friend bool operator!=(const ReasonText& a, const T& b) {
    return !(a == b);
  }
  friend std::ostream& operator<<(std::ostream& os, const ReasonText& r) { return os << r.str(); }

 private:
  absl::string_view prefix_, name_, suffix_;
  std::shared_ptr<const std::string> owned_;  // when the text is its own (name_ views it)
};

// A Candidate::source: one of these literals (a Redis-cached list's sources are mapped back to them).
inline constexpr absl::string_view kCandidateSources[] = {"als",      "ncf",     "item_knn",   "session",
                                                          "popular",  "content", "copurchase", "promotion",
                                                          "personal", "catalog", "input"};

struct Candidate {
  // May be left empty for a candidate with a model_index when the rules' context has model_items (the
  // engine's per-call pool: its ids are not copied per candidate): the rules read the id from there and
  // fill it in for the kept items.
  std::string item_id;
  double score = 0;
  ReasonText reason;
  absl::string_view source;  // one of kCandidateSources
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
