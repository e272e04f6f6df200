// The RecommendedItem list of a response, two ways that give the same bytes:
//   - AddRecommendedItems: protobuf messages (SimilarItems, FrequentlyBoughtTogether, Rerank);
//   - ResponseWriter: Recommend's response written straight to wire bytes, each item's fixed fields
//     (item_id; title, category and price from the catalogue, else the model's category) serialised once
//     per (model, catalogue) snapshot pair (ItemFieldCache) and copied, the per-call fields (score, reason,
//     source) encoded in between. Fields go in field-number order with proto3's defaults skipped, exactly
//     as the generated serialiser writes them (response_encoding_test compares the bytes).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_RESPONSE_ENCODING_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_RESPONSE_ENCODING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "marketlens/recommender/v1/recommender.pb.h"
#include "services/recommender/serving/catalog.h"
#include "services/recommender/serving/rules.h"
#include "services/recommender/serving/serving_model.h"

namespace marketlens::recommender {

// Items with their product details from the catalogue snapshot of the call (the model's category when
// the catalogue does not know the item). `model` and `catalog` may be null.
void AddRecommendedItems(const std::vector<Candidate>& items, const ServingModel* model,
                         const CatalogSnapshot* catalog,
                         google::protobuf::RepeatedPtrField<v1::RecommendedItem>* out);

// The fixed fields of every model item, serialised, for one (model, catalogue) snapshot pair. All the
// items' bytes are in one buffer, each item's head and tail next to each other, so writing an item touches
// one or two cache lines instead of three heap blocks.
class ItemFieldCache {
 public:
  struct Fields {
    absl::string_view head;  // field 1 (item_id)
    absl::string_view tail;  // fields 5-7 (title, category, price)
  };
  ItemFieldCache(const ServingModel* model, const CatalogSnapshot* catalog);
  ItemFieldCache(const ItemFieldCache&) = delete;
  ItemFieldCache& operator=(const ItemFieldCache&) = delete;
  // Starts loading the cached bytes of these candidates' items. After the engine's work they are out of the
  // cache: asked for all at once, their misses overlap instead of stalling AddItem one item at a time.
  void Prefetch(const std::vector<Candidate>& items) const;
  // Null for an item the model does not have (its fields are then encoded per call).
  const Fields* ForModelItem(int32_t index) const {
    return index >= 0 && index < static_cast<int32_t>(fields_.size()) ? &fields_[index] : nullptr;
  }

 private:
  std::string bytes_;  // every item's head and tail; `fields_` points into it
  std::vector<Fields> fields_;
};

// Keeps the ItemFieldCache of the snapshot pairs in use (a few: the promoted model, experiment variants).
class ItemFieldCaches {
 public:
  std::shared_ptr<const ItemFieldCache> For(const ServingModel* model, const CatalogSnapshot* catalog);

 private:
  absl::Mutex mu_;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::shared_ptr<const ItemFieldCache>>> caches_
      ABSL_GUARDED_BY(mu_);
};

// Writes a RecommendResponse's wire bytes (appended to `out`).
class ResponseWriter {
 public:
  explicit ResponseWriter(std::string* out) : out_(out) {}
  // One RecommendedItem (field 1). `fields` may be null (the item's fixed fields are encoded here).
  void AddItem(const Candidate& c, const ItemFieldCache* fields, const ServingModel* model,
               const CatalogSnapshot* catalog);
  // Fields 2-4; call after the items.
  void SetTrailer(const std::string& model_version, const std::string& experiment_id,
                  const std::string& variant);

 private:
  std::string* out_;
  std::string item_;  // scratch: the bytes of an item without cached fields (their length goes first)
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_RESPONSE_ENCODING_H_
