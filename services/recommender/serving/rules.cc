#include "services/recommender/serving/rules.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"

namespace marketlens::recommender {
namespace {

bool Contains(const absl::flat_hash_set<std::string>* set, absl::string_view id) {
  return set != nullptr && !set->empty() && set->contains(id);  // no hashing for the usual empty sets
}

// Whether the item (by model index, else by id) is among the context's bought model items.
bool BoughtInModel(const RuleContext& c, int32_t model_index, absl::string_view id) {
  if (c.bought_model_items.empty()) return false;
  if (model_index < 0) model_index = c.model_items != nullptr ? c.model_items->Find(id) : -1;
  return model_index >= 0 &&
         std::binary_search(c.bought_model_items.begin(), c.bought_model_items.end(), model_index);
}

// The candidate's id: its own, else (left empty, see Candidate::item_id) the model's name of its index.
absl::string_view IdOf(const Candidate& candidate, const RuleContext& c) {
  if (!candidate.item_id.empty() || candidate.model_index < 0 || c.model_items == nullptr) {
    return candidate.item_id;
  }
  return c.model_items->Name(candidate.model_index);
}

// A kept candidate copied out, its id filled in.
void FillId(Candidate& candidate, const RuleContext& c) {
  if (candidate.item_id.empty()) candidate.item_id = std::string(IdOf(candidate, c));
}

}  // namespace

bool Allowed(absl::string_view item_id, const RuleContext& c, const RuleConfig& config) {
  if (Contains(c.do_not_show, item_id) || Contains(c.exclude, item_id)) return false;
  if (config.exclude_bought && (Contains(c.bought, item_id) || BoughtInModel(c, -1, item_id))) return false;
  if (c.catalog != nullptr && !c.catalog->empty()) {
    const CatalogItem* item = c.catalog->Find(item_id);
    if (item == nullptr || item->stock <= 0) return false;
    if (!c.region.empty() && item->blocked_regions.contains(c.region)) return false;
  }
  return true;
}

const CatalogItem* CatalogEntry(const CatalogSnapshot& catalog, const Candidate& candidate) {
  if (candidate.catalog_index >= 0) return &catalog.at(candidate.catalog_index);
  if (candidate.catalog_index == kNotInCatalog) return nullptr;
  return catalog.Find(candidate.item_id);
}

namespace {

// The kept candidates in their final order before promotions: index into the input and final score.
struct Selected {
  size_t index;
  double score;
};

// A candidate that passed rules 1-3, with its category id for the diversity rule.
struct Kept {
  size_t index;
  double score;
  int32_t category;
};

// Sorts by descending score keeping the input order of equal scores, as std::stable_sort does; insertion
// sort for the few dozen candidates of a request (no buffer to allocate).
template <typename T>
void StableSortByScore(std::vector<T>& v) {
  auto higher = [](const T& a, const T& b) { return a.score > b.score; };
  if (v.size() > 64) {
    std::stable_sort(v.begin(), v.end(), higher);
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    const T x = v[i];
    size_t j = i;
    for (; j > 0 && higher(x, v[j - 1]); --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

// Per-thread working memory of Select, reused by every call: "seen" and per-category counts are arrays
// by catalogue index / category id stamped with the call's epoch (no clearing, no hashing).
struct SelectScratch {
  std::vector<Kept> kept;
  std::vector<Selected> overflow;
  std::vector<uint32_t> seen;            // per catalogue index: == epoch when already kept in this call
  std::vector<uint32_t> category_epoch;  // per category id: == epoch when category_count is this call's
  std::vector<int> category_count;
  std::vector<uint32_t> bought;  // per model index: == epoch when among the context's bought_model_items
  uint32_t epoch = 0;
  void Begin(size_t catalog_size) {
    if (++epoch == 0) {  // wrapped: every stamp is stale
      std::fill(seen.begin(), seen.end(), 0);
      std::fill(category_epoch.begin(), category_epoch.end(), 0);
      std::fill(bought.begin(), bought.end(), 0);
      epoch = 1;
    }
    if (seen.size() < catalog_size) seen.resize(catalog_size, 0);
    if (category_epoch.size() < catalog_size) {
      category_epoch.resize(catalog_size, 0);
      category_count.resize(catalog_size, 0);
    }
  }
  // Whether the catalogue item was not seen yet in this call (and marks it).
  bool FirstSight(int32_t ci) {
    if (seen[ci] == epoch) return false;
    seen[ci] = epoch;
    return true;
  }
  void MarkBought(absl::Span<const int32_t> items) {
    for (int32_t i : items) {
      if (i < 0) continue;
      if (static_cast<size_t>(i) >= bought.size()) bought.resize(static_cast<size_t>(i) + 1, 0);
      bought[i] = epoch;
    }
  }
  // BoughtInModel for a candidate with a model index (after MarkBought of the context's items).
  bool Bought(int32_t model_index) const {
    return static_cast<size_t>(model_index) < bought.size() && bought[model_index] == epoch;
  }
  int& CategoryCount(int32_t category) {
    if (category_epoch[category] != epoch) {
      category_epoch[category] = epoch;
      category_count[category] = 0;
    }
    return category_count[category];
  }
};

// Rules 1-5 over the candidates (ids and catalogue entries via `candidate_at`, scores via `score_at`), into
// `out`.
template <typename CandidateAt, typename ScoreAt>
void Select(size_t count, CandidateAt candidate_at, ScoreAt score_at, const RuleContext& c,
            const RuleConfig& config, std::vector<Selected>& out) {
  const bool have_catalog = c.catalog != nullptr && !c.catalog->empty();
  // One catalogue lookup per candidate (by index when resolved), reading the snapshot's packed rule facts;
  // the category id is kept next to it for the diversity rule.
  thread_local SelectScratch scratch;
  std::vector<Kept>& kept = scratch.kept;
  kept.clear();
  // Duplicates: by catalogue index when there is a catalogue (every kept item has one), else by id.
  absl::flat_hash_set<absl::string_view> seen_ids;
  scratch.Begin(have_catalog ? c.catalog->size() : 0);
  if (!have_catalog) seen_ids.reserve(count);
  const bool check_bought_items = config.exclude_bought && !c.bought_model_items.empty();
  if (check_bought_items) scratch.MarkBought(c.bought_model_items);
  // The id sets to check, null when empty (usually all of them: no per-candidate test then).
  auto non_empty = [](const absl::flat_hash_set<std::string>* set) {
    return set != nullptr && !set->empty() ? set : nullptr;
  };
  const absl::flat_hash_set<std::string>* do_not_show = non_empty(c.do_not_show);
  const absl::flat_hash_set<std::string>* exclude = non_empty(c.exclude);
  const absl::flat_hash_set<std::string>* bought = config.exclude_bought ? non_empty(c.bought) : nullptr;
  const bool check_ids = do_not_show != nullptr || exclude != nullptr || bought != nullptr;
  for (size_t i = 0; i < count; ++i) {
    const Candidate& cand = candidate_at(i);
    // The id is read only where needed: pool candidates carry indexes (the model's names are not touched).
    const bool need_id = check_ids || !have_catalog || cand.model_index < 0 || cand.catalog_index == -1;
    const absl::string_view id = need_id ? IdOf(cand, c) : absl::string_view();
    if (check_ids &&
        ((do_not_show != nullptr && do_not_show->contains(id)) ||
         (exclude != nullptr && exclude->contains(id)) || (bought != nullptr && bought->contains(id)))) {
      continue;
    }
    if (check_bought_items &&
        (cand.model_index >= 0 ? scratch.Bought(cand.model_index) : BoughtInModel(c, -1, id))) {
      continue;
    }
    double score = score_at(i);
    int32_t category = -1;
    if (have_catalog) {
      const int32_t ci = cand.catalog_index >= 0               ? cand.catalog_index
                         : cand.catalog_index == kNotInCatalog ? -1
                                                               : c.catalog->IndexOf(id);
      if (ci < 0) continue;
      const RuleFacts& f = c.catalog->facts(ci);
      if (!f.in_stock) continue;
      if (f.has_blocked_regions && !c.region.empty() && c.catalog->at(ci).blocked_regions.contains(c.region))
        continue;
      if (!scratch.FirstSight(ci)) continue;
      if (config.high_margin_boost != 0 && f.has_margin && f.margin >= config.high_margin_threshold) {
        // Scores can be negative (ALS); the boost moves an item up either way.
        score += std::abs(score) * config.high_margin_boost;
      }
      category = f.category;
    } else if (!seen_ids.insert(id).second) {
      continue;
    }
    // Field by field: a braced temporary was stored in parts and reloaded whole (a store-forwarding stall).
    Kept& k = kept.emplace_back();
    k.index = i;
    k.score = score;
    k.category = category;
  }
  StableSortByScore(kept);

  out.clear();
  const size_t n = static_cast<size_t>(std::max(0, c.n));
  if (c.diversity && config.max_per_category > 0 && have_catalog) {
    std::vector<Selected>& overflow = scratch.overflow;
    overflow.clear();
    for (const Kept& k : kept) {
      if (out.size() >= n) break;
      const int32_t category = k.category;
      if (category >= 0 && scratch.CategoryCount(category) >= config.max_per_category) {
        overflow.push_back({k.index, k.score});
        continue;
      }
      if (category >= 0) ++scratch.CategoryCount(category);  // items without a category are not capped
      out.push_back({k.index, k.score});
    }
    if (out.size() < n) {
      // Not enough variety to fill the list: the capped items fill it, best first, in their places by score.
      for (const Selected& k : overflow) {
        if (out.size() >= n) break;
        out.push_back(k);
      }
      StableSortByScore(out);
    }
  } else {
    for (const Kept& k : kept) {
      if (out.size() >= n) break;
      out.push_back({k.index, k.score});
    }
  }
}

// Rule 6.
void InsertPromotions(std::vector<Candidate>& out, const RuleContext& c, const RuleConfig& config) {
  const bool have_catalog = c.catalog != nullptr && !c.catalog->empty();
  const size_t n = static_cast<size_t>(std::max(0, c.n));
  if (!config.insert_promotions || !have_catalog || n == 0) return;
  for (const Promotion& p : c.catalog->promotions()) {
    if (!p.ActiveFor(c.now, c.surface, c.region) || !Allowed(p.item_id, c, config)) continue;
    if (std::any_of(out.begin(), out.end(), [&](const Candidate& x) { return x.item_id == p.item_id; }))
      continue;
    const size_t slot = std::min<size_t>(p.slot, out.size());
    Candidate promo;
    promo.item_id = p.item_id;
    promo.score = slot < out.size() ? out[slot].score : (out.empty() ? 0 : out.back().score);
    promo.reason =
        p.label.empty() ? ReasonText("promoted") : ReasonText::Borrowed({}, p.label);  // the snapshot's
    promo.source = "promotion";
    out.insert(out.begin() + slot, std::move(promo));
    if (out.size() > n) out.pop_back();
  }
}

}  // namespace

std::vector<Candidate> ApplyBusinessRules(std::vector<Candidate> candidates, const RuleContext& c,
                                          const RuleConfig& config) {
  thread_local std::vector<Selected> selected;
  Select(
      candidates.size(), [&](size_t i) -> const Candidate& { return candidates[i]; },
      [&](size_t i) { return candidates[i].score; }, c, config, selected);
  std::vector<Candidate> out;
  out.reserve(selected.size() + 1);
  for (const Selected& s : selected) {
    out.push_back(std::move(candidates[s.index]));
    out.back().score = s.score;
    FillId(out.back(), c);
  }
  InsertPromotions(out, c, config);
  return out;
}

std::vector<Candidate> ApplyBusinessRules(absl::Span<const CandidateRef> candidates, const RuleContext& c,
                                          const RuleConfig& config) {
  thread_local std::vector<Selected> selected;
  Select(
      candidates.size(), [&](size_t i) -> const Candidate& { return *candidates[i].candidate; },
      [&](size_t i) { return candidates[i].score; }, c, config, selected);
  std::vector<Candidate> out;
  out.reserve(selected.size() + 1);
  for (const Selected& s : selected) {
    out.push_back(*candidates[s.index].candidate);
    out.back().score = s.score;
    FillId(out.back(), c);
  }
  InsertPromotions(out, c, config);
  return out;
}

}  // namespace marketlens::recommender
