// TrainingData: what every algorithm is fitted on. The cleaned events become one weight per (user, item)
// (the sum of its event weights, a purchase counting more than a view, capped), stored as a user x item
// CSR matrix and its transpose; the events themselves stay available for time-aware parts (popularity
// windows, co-purchase baskets), and item metadata for content-based similarity and categories.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_DATASET_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "services/recommender/data/ids.h"
#include "services/recommender/data/interactions.h"
#include "services/recommender/data/matrix.h"

namespace marketlens::recommender {

// How much each event says about a user's interest (the implicit-feedback "confidence" before ALS' alpha).
struct EventWeights {
  float view = 1;
  float click = 2;
  float add_to_cart = 4;
  float purchase = 8;
  float like = 4;
  float rating_scale = 1;  // a rating r weighs r * rating_scale
  float min_rating = 0;    // a rating below this is no positive signal
  float max_weight = 20;   // cap per (user, item)
};

// The weight of one event (0 for skip, do_not_show and ratings under min_rating).
float EventWeight(const Event& event, const EventWeights& weights);

struct TrainingData {
  IdMap users;
  IdMap items;
  CsrMatrix user_items;             // users x items, weights > 0
  CsrMatrix item_users;             // the transpose
  std::vector<Event> events;        // the events behind the matrix, indexes as above
  int32_t sessions = 0;             // distinct session ids among the events
  std::vector<ItemInfo> item_info;  // per item; empty fields when unknown
  bool has_item_info = false;       // at least one item has metadata
  int64_t time_from = 0;            // event time range (seconds)
  int64_t time_to = 0;

  int32_t num_users() const { return users.size(); }
  int32_t num_items() const { return items.size(); }
  const std::string& Category(int32_t item) const { return item_info[item].category; }
};

struct BuildOptions {
  EventWeights weights;
  // Adds the catalog's items that have no events as columns (all zero), so that content-based
  // similarity can recommend them.
  bool include_catalog_items = false;
};

TrainingData BuildTrainingData(const InteractionLog& log, const BuildOptions& options = {},
                               const ItemCatalog* catalog = nullptr);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_DATASET_H_
