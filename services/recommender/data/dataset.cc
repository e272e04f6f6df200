#include "services/recommender/data/dataset.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"

namespace marketlens::recommender {

float EventWeight(const Event& event, const EventWeights& w) {
  switch (event.type) {
    case EventType::kRating:
      return event.value < w.min_rating ? 0 : event.value * w.rating_scale;
    case EventType::kView:
      return w.view;
    case EventType::kClick:
      return w.click;
    case EventType::kAddToCart:
      return w.add_to_cart;
    case EventType::kPurchase:
      return w.purchase;
    case EventType::kLike:
      return w.like;
    case EventType::kSkip:
    case EventType::kDoNotShow:
      return 0;
  }
  return 0;
}

TrainingData BuildTrainingData(const InteractionLog& log, const BuildOptions& options,
                               const ItemCatalog* catalog) {
  TrainingData d;
  d.users = log.users;
  d.items = log.items;
  if (catalog != nullptr && options.include_catalog_items) {
    std::vector<std::string> extra;
    for (const auto& [id, info] : *catalog) {
      if (!d.items.Contains(id)) extra.push_back(id);
    }
    std::sort(extra.begin(), extra.end());  // deterministic column order
    for (const std::string& id : extra) d.items.Intern(id);
  }
  d.events = log.events;
  d.sessions = log.sessions.size();
  std::tie(d.time_from, d.time_to) = log.TimeRange();

  // One weight per (user, item): the sum of its events' weights, capped.
  std::vector<Triplet> triplets;
  triplets.reserve(log.events.size());
  for (const Event& e : log.events) {
    const float w = EventWeight(e, options.weights);
    if (w > 0) triplets.push_back({e.user, e.item, w});
  }
  d.user_items = CsrMatrix::FromTriplets(d.users.size(), d.items.size(), std::move(triplets));
  for (float& v : d.user_items.values) v = std::min(v, options.weights.max_weight);
  d.item_users = d.user_items.Transpose();

  d.item_info.resize(d.items.size());
  if (catalog != nullptr) {
    for (int32_t i = 0; i < d.items.size(); ++i) {
      auto it = catalog->find(d.items.Name(i));
      if (it != catalog->end()) {
        d.item_info[i] = it->second;
        d.has_item_info = true;
      }
    }
  }
  return d;
}

}  // namespace marketlens::recommender
