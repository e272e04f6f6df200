// ServingModel: a loaded ModelBundle made ready to answer requests: the ALS model for fold-in (or the NCF
// scorer of an NCF bundle), the
// popularity tables scaled to [0, 1], and an HNSW index over the item factors when the catalogue is large
// enough for exact scoring to cost more than the latency budget. Immutable once created, shared between
// requests through shared_ptr; a hot reload swaps the pointer, in-flight requests finish on the old one.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_MODEL_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_MODEL_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/algo/ann.h"
#include "services/recommender/algo/ncf.h"
#include "services/recommender/bundle/bundle.h"

namespace marketlens::recommender {

struct ServingModelOptions {
  // Above this many items, personal ALS candidates come from the HNSW index instead of scoring every item.
  int ann_min_items = 50000;
  AnnOptions ann;
};

class ServingModel {
 public:
  static absl::StatusOr<std::shared_ptr<const ServingModel>> Create(ModelBundle bundle,
                                                                    const ServingModelOptions& options = {});

  const ModelBundle& bundle() const { return bundle_; }
  const std::string& version() const { return bundle_.version; }
  // Unique per created model in this process (memos compare this, not addresses, which can be reused).
  uint64_t instance_id() const { return instance_id_; }
  int32_t num_items() const { return bundle_.num_items(); }
  // Null when the bundle has no ALS factors.
  const AlsModel* als() const { return als_.get(); }
  // Null when the bundle has no NCF section; when set it gives the personal collaborative scores.
  const NcfScorer* ncf() const { return ncf_.get(); }
  // Null unless the catalogue is above ann_min_items.
  const MipsIndex* ann() const { return ann_.get(); }

  const std::vector<float>& pop_recent() const { return pop_recent_; }  // scaled to [0, 1]
  const std::vector<float>& pop_all() const { return pop_all_; }
  // The popularity prior of personal scores: recent popularity, or all-time when nothing is recent.
  const std::vector<float>& pop_prior() const { return pop_recent_has_signal_ ? pop_recent_ : pop_all_; }
  const std::vector<float>& pop_daypart(int part) const { return pop_daypart_[part & 3]; }
  // Null when the region has no table.
  const std::vector<float>* pop_region(const std::string& region) const;
  // Every row of the bundle's item_neighbors has non-increasing similarities (as training writes them;
  // checked once here, so a scan of a row may stop as soon as no later entry can win).
  bool neighbor_rows_sorted() const { return neighbor_rows_sorted_; }
  // The items the user bought in the training history (user_item_kind kBought), sorted model indexes:
  // the business rules' "already bought" set, without a per-request copy.
  absl::Span<const int32_t> bought_items(int32_t user) const {
    return absl::MakeConstSpan(bought_items_.data() + bought_indptr_[user],
                               bought_indptr_[user + 1] - bought_indptr_[user]);
  }

 private:
  ServingModel() = default;

  ModelBundle bundle_;
  uint64_t instance_id_ = 0;
  std::unique_ptr<AlsModel> als_;
  std::unique_ptr<MipsIndex> ann_;
  std::unique_ptr<NcfScorer> ncf_;
  std::vector<float> pop_recent_, pop_all_;
  bool pop_recent_has_signal_ = false;
  bool neighbor_rows_sorted_ = false;
  std::array<std::vector<float>, kDayparts> pop_daypart_;
  std::map<std::string, std::vector<float>> pop_region_;
  std::vector<int64_t> bought_indptr_;  // per user, as a CSR row pointer into bought_items_
  std::vector<int32_t> bought_items_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_SERVING_MODEL_H_
