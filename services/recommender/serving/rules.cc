#include "services/recommender/serving/rules.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"

namespace marketlens::recommender {
namespace {

bool Contains(const absl::flat_hash_set<std::string>* set, absl::string_view id) {
  return set != nullptr && !set->empty() && set->contains(id);  // no hashing for the usual empty sets
}

}  // namespace

bool Allowed(absl::string_view item_id, const RuleContext& c, const RuleConfig& config) {
  if (Contains(c.do_not_show, item_id) || Contains(c.exclude, item_id)) return false;
  if (config.exclude_bought && Contains(c.bought, item_id)) return false;
  if (c.catalog != nullptr && !c.catalog->empty()) {
    const CatalogItem* item = c.catalog->Find(item_id);
    if (item == nullptr || item->stock <= 0) return false;
    if (!c.region.empty() && item->blocked_regions.contains(c.region)) return false;
  }
  return true;
}

std::vector<Candidate> ApplyBusinessRules(std::vector<Candidate> candidates, const RuleContext& c,
                                          const RuleConfig& config) {
  const bool have_catalog = c.catalog != nullptr && !c.catalog->empty();
  // One catalogue lookup per candidate, kept next to it for the later rules.
  struct Kept {
    Candidate* candidate;
    const CatalogItem* item;
  };
  std::vector<Kept> kept;
  kept.reserve(candidates.size());
  absl::flat_hash_set<absl::string_view> seen;
  seen.reserve(candidates.size());
  for (Candidate& cand : candidates) {
    const absl::string_view id = cand.item_id;
    if (Contains(c.do_not_show, id) || Contains(c.exclude, id)) continue;
    if (config.exclude_bought && Contains(c.bought, id)) continue;
    const CatalogItem* item = nullptr;
    if (have_catalog) {
      item = c.catalog->Find(id);
      if (item == nullptr || item->stock <= 0) continue;
      if (!c.region.empty() && item->blocked_regions.contains(c.region)) continue;
    }
    if (!seen.insert(id).second) continue;
    if (item != nullptr && config.high_margin_boost != 0 && item->margin &&
        *item->margin >= config.high_margin_threshold) {
      // Scores can be negative (ALS); the boost moves an item up either way.
      cand.score += std::abs(cand.score) * config.high_margin_boost;
    }
    kept.push_back({&cand, item});
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Kept& a, const Kept& b) { return a.candidate->score > b.candidate->score; });

  std::vector<Candidate> out;
  const size_t n = static_cast<size_t>(std::max(0, c.n));
  out.reserve(n + 1);
  if (c.diversity && config.max_per_category > 0 && have_catalog) {
    absl::flat_hash_map<absl::string_view, int> per_category;
    std::vector<Kept> overflow;
    for (const Kept& k : kept) {
      if (out.size() >= n) break;
      const std::string& category = k.item->info.category;
      if (!category.empty() && per_category[category] >= config.max_per_category) {
        overflow.push_back(k);
        continue;
      }
      ++per_category[category];
      out.push_back(std::move(*k.candidate));
    }
    if (out.size() < n) {
      // Not enough variety to fill the list: the capped items fill it, best first, in their places by score.
      for (const Kept& k : overflow) {
        if (out.size() >= n) break;
        out.push_back(std::move(*k.candidate));
      }
      std::stable_sort(out.begin(), out.end(),
                       [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    }
  } else {
    for (const Kept& k : kept) {
      if (out.size() >= n) break;
      out.push_back(std::move(*k.candidate));
    }
  }

  if (config.insert_promotions && have_catalog && n > 0) {
    for (const Promotion& p : c.catalog->promotions()) {
      if (!p.ActiveFor(c.now, c.surface, c.region) || !Allowed(p.item_id, c, config)) continue;
      if (std::any_of(out.begin(), out.end(), [&](const Candidate& x) { return x.item_id == p.item_id; }))
        continue;
      const size_t slot = std::min<size_t>(p.slot, out.size());
      Candidate promo;
      promo.item_id = p.item_id;
      promo.score = slot < out.size() ? out[slot].score : (out.empty() ? 0 : out.back().score);
      promo.reason = p.label.empty() ? "promoted" : p.label;
      promo.source = "promotion";
      out.insert(out.begin() + slot, std::move(promo));
      if (out.size() > n) out.pop_back();
    }
  }
  return out;
}

}  // namespace marketlens::recommender
