#include "services/recommender/serving/snapshot_memo.h"

namespace marketlens::recommender {

SnapshotMemo::List SnapshotMemo::Lookup(uint64_t model, uint64_t catalog, const std::string& key) const {
  absl::MutexLock lock(&mu_);
  if (model_ != model || catalog_ != catalog) return nullptr;
  auto it = lists_.find(key);
  return it == lists_.end() ? nullptr : it->second;
}

SnapshotMemo::List SnapshotMemo::GetOrCompute(uint64_t model, uint64_t catalog, const std::string& key,
                                              const std::function<std::vector<Candidate>()>& compute) {
  if (List hit = Lookup(model, catalog, key)) return hit;
  auto computed = std::make_shared<const std::vector<Candidate>>(compute());
  absl::MutexLock lock(&mu_);
  if (model_ != model || catalog_ != catalog || lists_.size() >= capacity_) {
    // Another snapshot pair (or too many keys): start over.
    lists_.clear();
    model_ = model;
    catalog_ = catalog;
  }
  lists_[key] = computed;
  return computed;
}

size_t SnapshotMemo::size() const {
  absl::MutexLock lock(&mu_);
  return lists_.size();
}

}  // namespace marketlens::recommender
