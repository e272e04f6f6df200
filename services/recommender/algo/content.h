// Content-based similarity from what an item IS rather than who bought it: TF-IDF vectors over the
// words of the title and description, the category, the brand and key=value attributes (each feature
// family weighted), L2-normalised, compared by cosine. Because it needs no interactions, it is how an item
// launched after the last training run can be recommended ("similar to what you bought") and found by
// SimilarItems. The vocabulary and IDF are kept, so new items are vectorised the same way at serving time.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_CONTENT_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_CONTENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/recommender/algo/model.h"
#include "services/recommender/algo/neighbors.h"

namespace marketlens::recommender {

struct ContentOptions {
  int neighbors = 50;
  float title_weight = 1.0f;        // per title word
  float description_weight = 0.5f;  // per description word
  float category_weight = 2.0f;
  float brand_weight = 1.0f;
  float attribute_weight = 1.0f;
  // Features in more than this share of the items are dropped (they say nothing); only applied when
  // there are at least 20 items.
  float max_df = 0.8f;
  int threads = 0;
};

// A sparse vector: (feature id, value), sorted by feature id.
using SparseVector = std::vector<std::pair<int32_t, float>>;

// Lowercase words of at least 2 characters (pure numbers need 4: years), minus a few stop words.
std::vector<std::string> Tokenize(absl::string_view text);

class ContentIndex {
 public:
  explicit ContentIndex(ContentOptions options = {}) : options_(options) {}
  // Builds the vocabulary, IDF, every item's vector and the inverted index.
  void Build(const std::vector<ItemInfo>& items);
  // The vector of an item described by `info` (features unknown to the vocabulary are ignored).
  SparseVector Vectorize(const ItemInfo& info) const;
  // The k items most similar to `v` by cosine (excluding `exclude`, e.g. the item itself).
  std::vector<ScoredItem> Similar(const SparseVector& v, int k, int32_t exclude = -1) const;
  // Top-k neighbour lists of every indexed item.
  NeighborLists AllNeighbors() const;

  int32_t size() const { return static_cast<int32_t>(vectors_.size()); }
  const SparseVector& vector(int32_t item) const { return vectors_[item]; }
  // Cosine of two items' vectors.
  float Cosine(int32_t a, int32_t b) const;

 private:
  // Raw weighted term frequencies of an item (feature string -> tf).
  absl::flat_hash_map<std::string, float> Features(const ItemInfo& info) const;

  ContentOptions options_;
  absl::flat_hash_map<std::string, int32_t> vocabulary_;
  std::vector<float> idf_;
  std::vector<SparseVector> vectors_;
  std::vector<std::vector<std::pair<int32_t, float>>> postings_;  // feature -> (item, value)
};

class ContentModel : public Model {
 public:
  explicit ContentModel(ContentOptions options = {}) : options_(options), index_(options) {}
  std::string name() const override { return "content"; }
  Params params() const override;
  // FAILED_PRECONDITION without item metadata.
  absl::Status Fit(const TrainingData& data) override;
  void Score(int32_t user, const UserHistory& history, absl::Span<float> out) const override;
  int32_t num_items() const override { return neighbors_.rows; }
  const ContentIndex& index() const { return index_; }
  const NeighborLists& neighbors() const { return neighbors_; }

 private:
  ContentOptions options_;
  ContentIndex index_;
  NeighborLists neighbors_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_CONTENT_H_
