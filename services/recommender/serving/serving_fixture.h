// A small world for serving tests: 5 planted taste clusters of users and items (item i is in cluster
// i % 5, category "cat<c>"), a hybrid bundle trained on it, and the matching catalogue (everything in
// stock, margins 0.2, plus "new1": a cluster-2 item launched after training).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_FIXTURE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "services/recommender/data/synthetic.h"
#include "services/recommender/serving/catalog.h"
#include "services/recommender/serving/serving_model.h"

namespace marketlens::recommender::testing {

struct TestWorld {
  SyntheticData data;
  std::shared_ptr<const ServingModel> model;
  std::vector<CatalogItem> items;  // the catalogue's items, editable before MakeCatalog
  std::shared_ptr<const CatalogSnapshot> MakeCatalog(std::vector<Promotion> promotions = {}) const;
  int Cluster(const std::string& item_id) const;  // -1 for ids not from the generator
  // A user known to the model, in cluster c.
  std::string UserInCluster(int c) const;
};

// Trained once per process (a second or so), then copied.
const TestWorld& World();
std::unique_ptr<TestWorld> MakeWorld(const std::string& version = "v-test");

}  // namespace marketlens::recommender::testing

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_FIXTURE_H_
