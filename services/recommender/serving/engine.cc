#include "services/recommender/serving/engine.h"

#include <emmintrin.h>  // SSE2: part of every x86-64 CPU

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/recommender/algo/add_scaled.h"
#include "services/recommender/algo/neighbors.h"
#include "services/recommender/data/hygiene.h"

namespace marketlens::recommender {
namespace {

ItemKind KindOfEvent(EventType t) {
  switch (t) {
    case EventType::kPurchase:
      return ItemKind::kBought;
    case EventType::kAddToCart:
      return ItemKind::kCarted;
    case EventType::kLike:
      return ItemKind::kLiked;
    case EventType::kRating:
      return ItemKind::kRated;
    default:
      return ItemKind::kViewed;
  }
}

const std::string& CategoryOf(const ServingModel& model, const CatalogSnapshot* catalog, int32_t item) {
  const std::string& id = model.bundle().items.Name(item);
  if (catalog != nullptr) {
    if (const CatalogItem* c = catalog->Find(id); c != nullptr && !c->info.category.empty())
      return c->info.category;
  }
  return model.bundle().item_category[item];
}

std::string Name(const CatalogSnapshot* catalog, const std::string& id) {
  return catalog != nullptr ? catalog->DisplayName(id) : id;
}

// "because you <verb> " per ItemKind: the prefix of a personal reason, made once.
absl::string_view BecausePrefix(ItemKind kind) {
  static const auto* const prefixes = [] {
    auto* p = new std::array<std::string, kItemKinds>;
    for (int k = 0; k < kItemKinds; ++k) {
      (*p)[k] = absl::StrCat("because you ", ItemKindVerb(static_cast<ItemKind>(k)), " ");
    }
    return p;
  }();
  return (*prefixes)[static_cast<int>(kind) % kItemKinds];
}

// CatalogSnapshot::DisplayName of a model item, by its joined catalogue index when there is one.
const std::string& DisplayNameOf(const ModelBundle& b, const CatalogSnapshot* catalog,
                                 const std::vector<int32_t>* catalog_index, int32_t item) {
  if (catalog != nullptr && catalog_index != nullptr) {
    const int32_t ci = (*catalog_index)[item];
    if (ci >= 0) return catalog->at(ci).display_name();
    if (ci == kNotInCatalog) return b.items.Name(item);
  }
  if (catalog != nullptr) {
    if (const CatalogItem* c = catalog->Find(b.items.Name(item)); c != nullptr) return c->display_name();
  }
  return b.items.Name(item);
}

// The largest |signal[i]|, NaN ignored (as std::max(m, std::fabs(x)) from m = 0 in order: max is exact, so
// four lanes at a time give the same value).
float MaxAbs(const float* signal, int32_t n) {
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  __m128 m4 = _mm_setzero_ps();
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    // maxps(a, b) is a > b ? a : b, so a NaN in `a` keeps b, as std::max(m, NaN) keeps m.
    m4 = _mm_max_ps(_mm_and_ps(_mm_loadu_ps(signal + i), abs_mask), m4);
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, m4);
  float m = 0;
  for (float v : lanes) m = std::max(m, v);
  for (; i < n; ++i) m = std::max(m, std::fabs(signal[i]));
  return m;
}

}  // namespace

struct Engine::History {
  int32_t user = -1;
  // The history scored: the training row of a known shopper as it is (a view into the model), or `owned`
  // once feedback or session items were added to it.
  UserHistory items;
  OwnedHistory owned;
  bool training_only = true;  // nothing beyond the training row: the trained vector can be used
  bool has_overlay = false;   // feedback since training
  absl::flat_hash_set<int32_t> session;
  absl::flat_hash_map<int32_t, ItemKind> overlay_kind;  // strongest kind from feedback since training
  std::vector<std::string> recent_ids;                  // newest first: session items, then recent feedback
  absl::flat_hash_set<std::string> do_not_show;
  absl::flat_hash_set<std::string> bought;       // from feedback since training (ids)
  absl::Span<const int32_t> bought_model_items;  // from the training history, sorted model indexes
  std::shared_ptr<const CatalogJoin> join;       // null without a catalogue
  bool empty() const { return items.items.empty() && recent_ids.empty(); }
};

absl::StatusOr<int> Engine::CheckN(int n) const {
  if (n == 0) return 10;
  if (n < 0 || n > options_.max_n) {
    return absl::InvalidArgumentError(absl::StrCat("n must be 1..", options_.max_n, ", got ", n));
  }
  return n;
}

Engine::History Engine::BuildHistory(const ServingModel& model, const CatalogSnapshot* catalog,
                                     const std::string& user_id,
                                     const std::vector<std::string>& session_items) const {
  History h;
  const ModelBundle& b = model.bundle();
  UserOverlay overlay;
  // The training row is copied only when something is added to it.
  bool owned = false;
  auto add = [&](int32_t item, float weight) {
    if (!owned) {
      h.owned.items.reserve(h.items.items.size() + overlay.events.size() + session_items.size());
      h.owned.weights.reserve(h.owned.items.capacity());
      h.owned.items.assign(h.items.items.begin(), h.items.items.end());
      h.owned.weights.assign(h.items.weights.begin(), h.items.weights.end());
      owned = true;
    }
    h.owned.Add(item, weight);
  };
  if (!user_id.empty() && online_->GetUnlessForgotten(user_id, &overlay)) {
    h.user = b.users.Find(user_id);
    if (h.user >= 0) {
      h.items = {b.user_items.RowIndices(h.user), b.user_items.RowValues(h.user)};
      h.bought_model_items = model.bought_items(h.user);
    }
    h.has_overlay = !overlay.events.empty();
    h.do_not_show = std::move(overlay.do_not_show);
    for (const std::string& item : overlay.bought) h.bought.insert(item);
    for (auto it = overlay.events.rbegin(); it != overlay.events.rend(); ++it) {
      if (std::find(h.recent_ids.begin(), h.recent_ids.end(), it->item_id) == h.recent_ids.end()) {
        h.recent_ids.push_back(it->item_id);
      }
    }
    for (const OverlayEvent& e : overlay.events) {
      const int32_t i = b.items.Find(e.item_id);
      if (i < 0) continue;
      Event ev;
      ev.type = e.type;
      const float w = EventWeight(ev, options_.weights);
      if (w <= 0) continue;
      add(i, w);
      h.training_only = false;
      ItemKind& k = h.overlay_kind[i];
      k = std::max(k, KindOfEvent(e.type));
    }
  }
  // Session items: newest context, weighted up.
  if (!session_items.empty()) {
    h.recent_ids.insert(h.recent_ids.begin(), session_items.begin(), session_items.end());
  }
  for (const std::string& id : session_items) {
    const int32_t i = b.items.Find(id);
    if (i < 0) continue;
    add(i, options_.session_weight);
    h.session.insert(i);
    h.training_only = false;
  }
  if (owned) h.items = h.owned.view();
  h.join = JoinFor(model, catalog);
  return h;
}

void Engine::PersonalScores(const ServingModel& model, const History& h, std::vector<float>& scores) const {
  const ModelBundle& b = model.bundle();
  const int32_t n = b.num_items();
  // Each signal is scaled by its largest absolute value (NormalizeMaxAbs) while it is added in.
  auto add_scaled = [&](const float* signal, float weight) {
    const float m = MaxAbs(signal, n);
    if (!(m > 0) || !std::isfinite(m)) return;
    AddScaled(scores.data(), signal, weight / m, n);
  };
  if (b.w_popularity > 0) {
    scores = model.pop_prior();  // already scaled to [0, 1]
    if (b.w_popularity != 1) {
      for (float& v : scores) v *= b.w_popularity;
    }
  } else {
    scores.assign(n, 0.0f);
  }
  thread_local std::vector<float> buffer;
  buffer.resize(n);
  if (b.w_als > 0 && model.ncf() != nullptr && !h.items.items.empty()) {
    if (h.user >= 0 && h.training_only) {
      model.ncf()->ScoreUser(h.user, absl::MakeSpan(buffer));
    } else {
      model.ncf()->ScoreHistory(h.items, absl::MakeSpan(buffer));
    }
    add_scaled(buffer.data(), b.w_als);
  } else if (b.w_als > 0 && model.als() != nullptr && !h.items.items.empty()) {
    const AlsModel& als = *model.als();
    AlsModel::Vector x = (h.user >= 0 && h.training_only)
                             ? AlsModel::Vector(als.user_factors().row(h.user).transpose())
                             : als.FoldIn(h.items);
    if (model.ann() != nullptr) {
      // Large catalogue: exact scores for the items HNSW retrieves, the worst of them for the rest.
      auto found = model.ann()->Search(x.data(), options_.candidate_pool);
      const float floor = found.empty() ? 0.0f : found.back().score;
      std::fill(buffer.begin(), buffer.end(), floor);
      for (const ScoredItem& s : found) buffer[s.item] = s.score;
    } else {
      als.ScoreVector(x, absl::MakeSpan(buffer));
    }
    add_scaled(buffer.data(), b.w_als);
  }
  if (b.w_item_knn > 0 && !h.items.items.empty()) {
    std::fill(buffer.begin(), buffer.end(), 0.0f);
    ScoreFromNeighbors(b.item_neighbors, h.items, /*binary=*/false, absl::MakeSpan(buffer));
    add_scaled(buffer.data(), b.w_item_knn);
  }
}

size_t Engine::PersonalCandidates(const ServingModel& model, const CatalogSnapshot* catalog, const History& h,
                                  int pool, std::vector<Candidate>& out) const {
  const ModelBundle& b = model.bundle();
  thread_local std::vector<ScoredItem> top;
  top.clear();
  const bool memoizable = options_.personal_memo_users > 0 && h.user >= 0 && h.training_only;
  PoolMemoShard& shard = pool_memo_[static_cast<size_t>(h.user >= 0 ? h.user : 0) % pool_memo_.size()];
  if (memoizable) {
    absl::MutexLock lock(&shard.mu);
    if (shard.model == model.instance_id()) {
      auto it = shard.pools.find(h.user);
      if (it != shard.pools.end() && static_cast<int>(it->second.top.size()) >= pool) {
        top.assign(it->second.top.begin(), it->second.top.begin() + pool);
      }
    }
  }
  if (top.empty()) {
    thread_local std::vector<float> scores;  // per-thread scratch: PersonalScores overwrites it in full
    PersonalScores(model, h, scores);
    top = TopN(scores, pool, h.items.items);
    if (memoizable) {
      absl::MutexLock lock(&shard.mu);
      const size_t cap = static_cast<size_t>(options_.personal_memo_users) / pool_memo_.size() + 1;
      if (shard.model != model.instance_id() || shard.pools.size() >= cap) {
        shard.pools.clear();  // a new model, or full: start over (cheap, and keeps memory bounded)
        shard.model = model.instance_id();
      }
      PoolMemo& memo = shard.pools[h.user];
      memo.top = top;
      memo.explained.assign(top.size(), Explanation{});
    }
  }
  // The candidates are written over the entries of the previous call (their strings keep their buffers).
  size_t used = 0;
  auto next = [&]() -> Candidate& {
    if (used == out.size()) out.emplace_back();
    Candidate& c = out[used++];
    c.reason = ReasonText();
    c.model_index = -1;
    c.catalog_index = -1;
    return c;
  };
  for (const ScoredItem& s : top) {
    Candidate& c = next();
    c.item_id.clear();  // the rules read the id by model_index (context.model_items) and fill in the kept
    c.score = s.score;
    c.source = "personal";  // placeholder: Explain() names the reason and the source of the items kept
    c.model_index = s.item;
    if (h.join != nullptr) c.catalog_index = h.join->catalog_index[s.item];
  }

  // Items new since training (in the catalogue, unknown to the model) that resemble recent interests. The
  // content search scans the catalogue, so it is skipped when the catalogue has no such item.
  if (catalog != nullptr && !catalog->empty() && !h.recent_ids.empty() && h.join != nullptr &&
      h.join->has_new_items) {
    const double top_score = used == 0 ? 1.0 : std::max(1e-6, out.front().score);
    int seeds = 0;
    absl::flat_hash_set<std::string> added;
    for (const std::string& id : h.recent_ids) {
      if (seeds >= 5) break;
      const int32_t ci = catalog->IndexOf(id);
      if (ci < 0) continue;
      ++seeds;
      for (const ScoredItem& s : catalog->content().Similar(catalog->content().vector(ci), 10, ci)) {
        const std::string& candidate = catalog->at(s.item).id;
        if (b.items.Contains(candidate) || !added.insert(candidate).second) continue;
        Candidate& c = next();
        c.item_id = candidate;
        c.score = 0.8 * top_score * s.score;
        // The seed's display name, borrowed from the snapshot.
        c.reason = ReasonText::Borrowed("new, similar to ", catalog->at(ci).display_name());
        c.source = "content";
        c.catalog_index = s.item;
      }
    }
  }
  return used;
}

ItemKind Engine::KindOf(const ServingModel& model, const History& h, int32_t item) const {
  auto overlay = h.overlay_kind.find(item);
  ItemKind kind = overlay == h.overlay_kind.end() ? ItemKind::kNone : overlay->second;
  if (h.user >= 0) {
    const ModelBundle& b = model.bundle();
    auto idx = b.user_items.RowIndices(h.user);
    auto it = std::lower_bound(idx.begin(), idx.end(), item);
    if (it != idx.end() && *it == item) {
      kind = std::max(
          kind, static_cast<ItemKind>(b.user_item_kind[b.user_items.indptr[h.user] + (it - idx.begin())]));
    }
  }
  return kind == ItemKind::kNone ? ItemKind::kViewed : kind;
}

void Engine::Explain(const ServingModel& model, const CatalogSnapshot* catalog, const History& h,
                     std::vector<Candidate>& items) const {
  const ModelBundle& b = model.bundle();
  // History weights by item for O(1) membership tests (a per-thread scratch array, reset after use), filled
  // when the first neighbour row is scanned.
  thread_local std::vector<float> weight_of;
  bool weights_filled = false;
  float max_weight = 0;
  bool stop_early = false;
  // The history item contributing most (its weight x similarity) among the item's own neighbours (cosine
  // similarity is symmetric; the lists are sorted by similarity, not by id), or -1.
  auto strongest_history_neighbour = [&](int32_t item) {
    if (!weights_filled) {
      if (static_cast<int32_t>(weight_of.size()) < b.num_items()) weight_of.assign(b.num_items(), 0.0f);
      for (size_t n = 0; n < h.items.items.size(); ++n) weight_of[h.items.items[n]] = h.items.weights[n];
      // With positive history weights and rows sorted by similarity, a row's scan stops once even the
      // heaviest history item could not beat the best found so far (weight x similarity only falls
      // further down the row): the same item is chosen, most rows are read only to their first history
      // item.
      bool positive_weights = true;
      for (int32_t i : h.items.items) {
        max_weight = std::max(max_weight, weight_of[i]);
        positive_weights = positive_weights && weight_of[i] > 0;
      }
      stop_early = positive_weights && model.neighbor_rows_sorted() && std::isfinite(max_weight);
      weights_filled = true;
    }
    int32_t best = -1;
    float best_strength = 0;
    auto idx = b.item_neighbors.RowIndices(item);
    auto sim = b.item_neighbors.RowValues(item);
    for (size_t m = 0; m < idx.size(); ++m) {
      if (stop_early && max_weight * sim[m] <= best_strength) break;
      const float strength = weight_of[idx[m]] * sim[m];
      if (strength > best_strength) {
        best_strength = strength;
        best = idx[m];
      }
    }
    return best;
  };
  // Per item, the history item its reason names (-1: none; kNotExplainedYet: not a personal item) and its
  // kind (for a named item outside the session).
  thread_local std::vector<Explanation> explained;
  explained.assign(items.size(), Explanation{});
  auto explain_all = [&](PoolMemo* memo) {
    for (size_t k = 0; k < items.size(); ++k) {
      const Candidate& c = items[k];
      if (c.source != "personal" || c.model_index < 0) continue;
      Explanation* memoized = nullptr;
      if (memo != nullptr) {
        for (size_t p = 0; p < memo->top.size(); ++p) {
          if (memo->top[p].item == c.model_index) {
            memoized = &memo->explained[p];
            break;
          }
        }
      }
      if (memoized != nullptr && memoized->named != kNotExplainedYet) {
        explained[k] = *memoized;
        continue;
      }
      Explanation& e = explained[k];
      e.named = strongest_history_neighbour(c.model_index);
      if (e.named >= 0 && !h.session.contains(e.named)) e.kind = KindOf(model, h, e.named);
      if (memoized != nullptr) *memoized = e;
    }
  };
  // A known shopper without new feedback: their history is the training row, so each pool item's
  // explanation is kept with the pool (PersonalCandidates) and reused.
  if (options_.personal_memo_users > 0 && h.user >= 0 && h.training_only) {
    PoolMemoShard& shard = pool_memo_[static_cast<size_t>(h.user) % pool_memo_.size()];
    absl::MutexLock lock(&shard.mu);
    PoolMemo* memo = nullptr;
    if (shard.model == model.instance_id()) {
      auto it = shard.pools.find(h.user);
      if (it != shard.pools.end()) memo = &it->second;
    }
    explain_all(memo);
  } else {
    explain_all(nullptr);
  }
  if (weights_filled) {
    for (int32_t item : h.items.items) weight_of[item] = 0.0f;
  }
  // The reasons borrow their parts (literals, the snapshots' display names): nothing is built per call.
  for (size_t k = 0; k < items.size(); ++k) {
    const Explanation& e = explained[k];
    if (e.named == kNotExplainedYet) continue;
    Candidate& c = items[k];
    const int32_t best = e.named;
    if (best >= 0) {
      const std::string& name =
          h.join != nullptr ? *h.join->display_name[best] : DisplayNameOf(b, catalog, nullptr, best);
      if (h.session.contains(best)) {
        c.reason = ReasonText::Borrowed("because you're looking at ", name);
        c.source = "session";
      } else {
        c.reason = ReasonText::Borrowed(BecausePrefix(e.kind), name);
        c.source = "item_knn";
      }
    } else if (b.w_als > 0 && (model.als() != nullptr || model.ncf() != nullptr)) {
      c.reason = "recommended for you";
      c.source = model.ncf() != nullptr ? "ncf" : "als";
    } else {
      c.reason = "popular right now";
      c.source = "popular";
    }
  }
}

std::shared_ptr<const std::vector<Candidate>> Engine::PopularCandidates(const ServingModel& model,
                                                                        const CatalogSnapshot* catalog,
                                                                        const RecommendQuery& q) const {
  const ModelBundle& b = model.bundle();
  const int64_t seconds_of_day = ((absl::ToUnixSeconds(q.time) % 86400) + 86400) % 86400;
  const int part = DaypartOfHour(static_cast<int>(seconds_of_day / 3600));
  const std::string category = absl::AsciiStrToLower(q.category);
  const std::string key = absl::StrCat(model.version(), "|", category, "|", q.region, "|", part);
  auto compute = [&]() {
    const std::shared_ptr<const CatalogJoin> join = JoinFor(model, catalog);
    const std::vector<float>* region = q.region.empty() ? nullptr : model.pop_region(q.region);
    const auto region_entry = b.pop_region.find(q.region);
    const int32_t n = b.num_items();
    std::vector<float> in_category(n, -std::numeric_limits<float>::infinity());
    std::vector<float> others(n, -std::numeric_limits<float>::infinity());
    // Borrowed by the reasons: a string of the catalogue or model snapshot (the list is memoised per pair).
    absl::string_view category_name;
    for (int32_t i = 0; i < n; ++i) {
      float s = model.pop_recent()[i] + 0.5f * model.pop_all()[i] + 0.5f * model.pop_daypart(part)[i];
      if (region != nullptr) s += (*region)[i];
      if (b.pop_all[i] <= 0) continue;  // nobody interacted: not "popular"
      const std::string& c = CategoryOf(model, catalog, i);
      if (!category.empty() && absl::AsciiStrToLower(c) == category) {
        in_category[i] = s;
        if (category_name.empty()) category_name = c;
      } else {
        others[i] = s;
      }
    }
    std::vector<Candidate> out;
    const int pool = options_.candidate_pool;
    for (const ScoredItem& s : TopN(in_category, pool)) {
      Candidate c;
      c.item_id = b.items.Name(s.item);
      c.model_index = s.item;
      if (join != nullptr) c.catalog_index = join->catalog_index[s.item];
      c.score = 10.0 + s.score;  // the requested category first
      c.reason = b.pop_recent[s.item] > 0 ? ReasonText::Borrowed("popular in ", category_name, " this week")
                                          : ReasonText::Borrowed("popular in ", category_name);
      c.source = "popular";
      out.push_back(std::move(c));
    }
    for (const ScoredItem& s : TopN(others, pool)) {
      Candidate c;
      c.item_id = b.items.Name(s.item);
      c.model_index = s.item;
      if (join != nullptr) c.catalog_index = join->catalog_index[s.item];
      c.score = s.score;
      const float all = b.pop_all[s.item];
      if (region != nullptr && region_entry->second[s.item] > 0) {
        c.reason = ReasonText::Borrowed("popular in ", region_entry->first);  // the bundle's key
      } else if (all > 0 && b.pop_daypart[part][s.item] / all > 0.35f) {
        c.reason = ReasonText::Borrowed("popular ", DaypartName(part));
      } else if (b.pop_recent[s.item] > 0) {
        c.reason = "popular this week";
      } else {
        c.reason = "popular";
      }
      c.source = "popular";
      out.push_back(std::move(c));
    }
    return out;
  };
  return Memoized(model, catalog, key, [&] {
    return cache_ != nullptr ? cache_->GetOrCompute("popular", key, compute) : compute();
  });
}

std::shared_ptr<const Engine::CatalogJoin> Engine::JoinFor(const ServingModel& model,
                                                           const CatalogSnapshot* catalog) const {
  if (catalog == nullptr) return nullptr;
  const std::pair<uint64_t, uint64_t> key(model.instance_id(), catalog->instance_id());
  // The last join this thread used (instance ids are never reused, so a match is the same snapshot pair):
  // spares the shared map's lock on every request.
  struct LastJoin {
    const Engine* engine = nullptr;
    std::pair<uint64_t, uint64_t> key;
    std::shared_ptr<const CatalogJoin> join;
  };
  thread_local LastJoin last;
  if (last.engine == this && last.key == key) return last.join;
  auto remember = [&](std::shared_ptr<const CatalogJoin> join) {
    last = {this, key, join};
    return join;
  };
  {
    absl::MutexLock lock(&joins_mu_);
    if (auto it = joins_.find(key); it != joins_.end()) return remember(it->second);
  }
  auto join = std::make_shared<CatalogJoin>();
  const ModelBundle& b = model.bundle();
  join->catalog_index.resize(b.num_items());
  join->display_name.resize(b.num_items());
  for (int32_t i = 0; i < b.num_items(); ++i) {
    const int32_t ci = catalog->IndexOf(b.items.Name(i));
    join->catalog_index[i] = ci >= 0 ? ci : kNotInCatalog;
    join->display_name[i] = &DisplayNameOf(b, catalog, &join->catalog_index, i);
  }
  for (size_t i = 0; i < catalog->size() && !join->has_new_items; ++i) {
    join->has_new_items = !b.items.Contains(catalog->at(static_cast<int32_t>(i)).id);
  }
  absl::MutexLock lock(&joins_mu_);
  if (joins_.size() >= 16) joins_.clear();  // old snapshots: keeps it bounded
  return remember(joins_.emplace(key, std::move(join)).first->second);
}

std::shared_ptr<const std::vector<Candidate>> Engine::Memoized(
    const ServingModel& model, const CatalogSnapshot* catalog, const std::string& key,
    const std::function<std::vector<Candidate>()>& compute) const {
  return memo_.GetOrCompute(model.instance_id(), catalog != nullptr ? catalog->instance_id() : 0, key,
                            compute);
}

absl::StatusOr<RecommendOutcome> Engine::Recommend(const ServingModel* model, const CatalogSnapshot* catalog,
                                                   const RecommendQuery& q) const {
  ASSIGN_OR_RETURN(int n, CheckN(q.n));
  RecommendOutcome outcome;
  RuleContext context{
      .catalog = catalog, .region = q.region, .surface = q.surface, .now = absl::Now(), .n = n};
  absl::flat_hash_set<std::string> session(q.session_items.begin(), q.session_items.end());
  context.exclude = &session;
  if (model == nullptr) {
    // No model trained yet: the catalogue itself, in stock, the asked-for category first.
    std::vector<Candidate> candidates;
    if (catalog != nullptr) {
      const std::string category = absl::AsciiStrToLower(q.category);
      for (size_t i = 0; i < catalog->size() && candidates.size() < 1000; ++i) {
        const CatalogItem& item = catalog->at(static_cast<int32_t>(i));
        const bool match = !category.empty() && absl::AsciiStrToLower(item.info.category) == category;
        candidates.push_back(
            {item.id, match ? 1.0 : 0.5,
             match ? ReasonText::Borrowed("new in ", item.info.category) : ReasonText("from our catalogue"),
             "catalog"});
      }
    }
    UserOverlay overlay = q.user_id.empty() ? UserOverlay{} : online_->Get(q.user_id);
    context.do_not_show = &overlay.do_not_show;
    context.bought = &overlay.bought;
    outcome.items = ApplyBusinessRules(std::move(candidates), context, options_.rules);
    outcome.path = "popular";
    return outcome;
  }
  History h = BuildHistory(*model, catalog, q.user_id, q.session_items);
  context.do_not_show = &h.do_not_show;
  context.bought = &h.bought;
  context.bought_model_items = h.bought_model_items;
  context.model_items = &model->bundle().items;
  // Per-thread candidate pool (overwritten by each call) ranked by reference: only the kept items are copied.
  thread_local std::vector<Candidate> candidates;
  thread_local std::vector<CandidateRef> refs;
  refs.clear();
  const int pool = std::min(options_.candidate_pool, std::max(4 * n, 40));
  if (!h.empty()) {
    const size_t count = PersonalCandidates(*model, catalog, h, pool, candidates);
    for (size_t k = 0; k < count; ++k) refs.push_back({&candidates[k], candidates[k].score});
    outcome.path = (h.user < 0 && !h.has_overlay && !q.session_items.empty()) ? "session" : "personal";
  } else {
    outcome.path = "popular";
  }
  outcome.items = ApplyBusinessRules(absl::MakeConstSpan(refs), context, options_.rules);
  if (static_cast<int>(outcome.items.size()) < n) {
    // Not enough personal candidates survived the rules (or none: cold start): top up with what is popular
    // in context, below every personal item. The rules see the head of the popular list first, more only
    // when too much of it is filtered out.
    // The memoised popular list is shared: the rules rank it by reference and copy out only the kept items.
    std::shared_ptr<const std::vector<Candidate>> popular = PopularCandidates(*model, catalog, q);
    absl::flat_hash_set<std::string> have;
    for (const Candidate& c : outcome.items) have.insert(c.item_id);
    const double floor = outcome.items.empty() ? 0.0 : outcome.items.back().score;
    const std::vector<Candidate> personal = std::move(outcome.items);
    std::vector<CandidateRef>& merged = refs;  // the personal refs are done with
    for (size_t take = static_cast<size_t>(pool);; take *= 4) {
      merged.clear();
      merged.reserve(personal.size() + std::min(take, popular->size()));
      for (const Candidate& c : personal) merged.push_back({&c, c.score});
      for (size_t k = 0; k < std::min(take, popular->size()); ++k) {
        const Candidate& c = (*popular)[k];
        if (!have.empty() && have.contains(c.item_id)) continue;
        merged.push_back({&c, personal.empty() ? c.score : floor - 1.0 - 1e-3 * (merged.size() + 1)});
      }
      outcome.items = ApplyBusinessRules(absl::MakeConstSpan(merged), context, options_.rules);
      if (static_cast<int>(outcome.items.size()) >= n || take >= popular->size()) break;
    }
  }
  Explain(*model, catalog, h, outcome.items);
  return outcome;
}

absl::StatusOr<std::vector<Candidate>> Engine::SimilarItems(const ServingModel* model,
                                                            const CatalogSnapshot* catalog,
                                                            const std::string& item_id, int n_in) const {
  ASSIGN_OR_RETURN(int n, CheckN(n_in));
  if (item_id.empty()) return absl::InvalidArgumentError("item_id is required");
  const int32_t i = model != nullptr ? model->bundle().items.Find(item_id) : -1;
  const int32_t ci = catalog != nullptr ? catalog->IndexOf(item_id) : -1;
  if (i < 0 && ci < 0) return absl::NotFoundError(absl::StrCat("unknown item `", item_id, "`"));
  const std::string name = Name(catalog, item_id);
  auto compute = [&]() {
    std::vector<Candidate> out;
    if (i >= 0) {
      const ModelBundle& b = model->bundle();
      auto idx = b.item_neighbors.RowIndices(i);
      auto sim = b.item_neighbors.RowValues(i);
      const std::shared_ptr<const CatalogJoin> join = JoinFor(*model, catalog);
      for (size_t m = 0; m < idx.size(); ++m) {
        out.push_back({b.items.Name(idx[m]), sim[m],
                       absl::StrCat("shoppers who liked ", name, " also liked this"), "item_knn", idx[m],
                       join != nullptr ? join->catalog_index[idx[m]] : -1});
      }
    }
    if (ci >= 0 && static_cast<int>(out.size()) < 2 * options_.max_n) {
      absl::flat_hash_set<std::string> have;
      for (const Candidate& c : out) have.insert(c.item_id);
      const double scale = out.empty() ? 1.0 : 0.5 * out.back().score;
      for (const ScoredItem& s :
           catalog->content().Similar(catalog->content().vector(ci), 2 * options_.max_n, ci)) {
        const std::string& id = catalog->at(s.item).id;
        if (have.contains(id)) continue;
        out.push_back({id, scale * s.score, absl::StrCat("similar to ", name), "content",
                       model != nullptr ? model->bundle().items.Find(id) : -1, s.item});
      }
    }
    return out;
  };
  const std::string key = absl::StrCat(model != nullptr ? model->version() : "none", "|", item_id);
  // In process first (the list is a pure function of the snapshots), then Redis (shared by the replicas).
  std::shared_ptr<const std::vector<Candidate>> candidates = similar_memo_.GetOrCompute(
      model != nullptr ? model->instance_id() : 0, catalog != nullptr ? catalog->instance_id() : 0, key,
      [&] { return cache_ != nullptr ? cache_->GetOrCompute("similar", key, compute) : compute(); });
  absl::flat_hash_set<std::string> exclude = {item_id};
  RuleContext context{
      .catalog = catalog, .now = absl::Now(), .exclude = &exclude, .n = n, .diversity = false};
  RuleConfig rules = options_.rules;
  rules.insert_promotions = false;
  std::vector<CandidateRef> refs;
  refs.reserve(candidates->size());
  for (const Candidate& c : *candidates) refs.push_back({&c, c.score});
  return ApplyBusinessRules(absl::MakeConstSpan(refs), context, rules);
}

absl::StatusOr<std::vector<Candidate>> Engine::FrequentlyBoughtTogether(
    const ServingModel* model, const CatalogSnapshot* catalog, const std::vector<std::string>& item_ids,
    int n_in) const {
  ASSIGN_OR_RETURN(int n, CheckN(n_in));
  if (item_ids.empty()) return absl::InvalidArgumentError("item_ids must not be empty");
  if (static_cast<int>(item_ids.size()) > options_.max_input_items) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", options_.max_input_items, " item_ids"));
  }
  std::vector<int32_t> known;
  for (const std::string& id : item_ids) {
    const int32_t i = model != nullptr ? model->bundle().items.Find(id) : -1;
    if (i < 0 && (catalog == nullptr || catalog->IndexOf(id) < 0)) {
      return absl::NotFoundError(absl::StrCat("unknown item `", id, "`"));
    }
    if (i >= 0) known.push_back(i);
  }
  std::vector<Candidate> candidates;
  if (model != nullptr && !known.empty()) {
    const ModelBundle& b = model->bundle();
    auto collect = [&](const CsrMatrix& lists, const char* reason, const char* source) {
      absl::flat_hash_map<int32_t, std::pair<double, int32_t>> acc;  // item -> (score, best contributor)
      absl::flat_hash_map<int32_t, float> best;
      for (int32_t j : known) {
        auto idx = lists.RowIndices(j);
        auto val = lists.RowValues(j);
        for (size_t m = 0; m < idx.size(); ++m) {
          auto& [score, from] = acc[idx[m]];
          score += val[m];
          if (val[m] > best[idx[m]]) {
            best[idx[m]] = val[m];
            from = j;
          }
        }
      }
      for (const auto& [i, sc] : acc) {
        candidates.push_back({b.items.Name(i), sc.first,
                              absl::StrCat(reason, Name(catalog, b.items.Name(sc.second))), source});
      }
      std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
        return x.score != y.score ? x.score > y.score : x.item_id < y.item_id;
      });
    };
    collect(b.copurchase, "frequently bought together with ", "copurchase");
    if (candidates.empty()) collect(b.item_neighbors, "often viewed with ", "item_knn");
  }
  absl::flat_hash_set<std::string> exclude(item_ids.begin(), item_ids.end());
  RuleContext context{
      .catalog = catalog, .now = absl::Now(), .exclude = &exclude, .n = n, .diversity = false};
  RuleConfig rules = options_.rules;
  rules.insert_promotions = false;
  return ApplyBusinessRules(std::move(candidates), context, rules);
}

absl::StatusOr<std::vector<Candidate>> Engine::Rerank(const ServingModel* model,
                                                      const CatalogSnapshot* catalog,
                                                      const std::string& user_id,
                                                      const std::vector<std::string>& item_ids) const {
  if (item_ids.empty()) return absl::InvalidArgumentError("item_ids must not be empty");
  if (static_cast<int>(item_ids.size()) > options_.max_input_items) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", options_.max_input_items, " item_ids"));
  }
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : item_ids) {
    if (seen.insert(id).second) unique.push_back(id);
  }
  std::vector<Candidate> out;
  if (model == nullptr) {
    for (const std::string& id : unique) out.push_back({id, 0, "", "input"});
    return out;
  }
  const ModelBundle& b = model->bundle();
  History h = BuildHistory(*model, catalog, user_id, {});
  std::vector<float> scores;
  const bool personal = !h.items.items.empty();
  if (personal) {
    PersonalScores(*model, h, scores);
  } else {
    scores = model->pop_prior();
  }
  std::vector<Candidate> unknown;
  for (const std::string& id : unique) {
    const int32_t i = b.items.Find(id);
    if (i < 0) {
      unknown.push_back({id, 0, "", "input"});
      continue;
    }
    out.push_back(
        {id, scores[i], personal ? "matches your taste" : "popular", personal ? "personal" : "popular"});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
  const double floor = out.empty() ? 0.0 : out.back().score;
  for (size_t k = 0; k < unknown.size(); ++k) {
    unknown[k].score = floor - 1.0 - static_cast<double>(k);  // after the known ones, in the given order
    out.push_back(std::move(unknown[k]));
  }
  return out;
}

}  // namespace marketlens::recommender
