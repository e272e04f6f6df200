// Synthetic interaction data with planted taste clusters, for tests, the CLI's `generate` and benchmarks
// (MovieLens cannot be downloaded here). Every user belongs to one cluster and every item to one cluster
// (item i is in cluster i % clusters, its category "cat<c>", its title words from the cluster's vocabulary);
// a user's events hit items of their own cluster with probability `in_cluster`, popular items within a
// cluster more often (Zipf). A model that learned something recommends a user's own cluster.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_SYNTHETIC_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_SYNTHETIC_H_

#include <cstdint>
#include <vector>

#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct SyntheticOptions {
  int users = 500;
  int items = 200;
  int clusters = 5;
  double events_per_user = 20;  // mean (geometric-ish spread between half and 1.5x)
  double in_cluster = 0.9;
  double zipf = 0.8;  // popularity skew within a cluster
  uint64_t seed = 1;
  int64_t start_time = 1700000000;
  // false: MovieLens-style ratings (in-cluster items rated higher); true: shop events (views, carts,
  // purchases) grouped into sessions.
  bool shop_events = false;
};

struct SyntheticData {
  InteractionLog log;
  ItemCatalog catalog;
  std::vector<int> user_cluster;  // by user index in `log`
  std::vector<int> item_cluster;  // by item index in `log`
};

SyntheticData GenerateSynthetic(const SyntheticOptions& options);

// The planted cluster of an item id made by GenerateSynthetic ("i17" -> 17 % clusters).
int SyntheticItemCluster(absl::string_view item_id, int clusters);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_SYNTHETIC_H_
