// SnapshotMemo: candidate lists that are a pure function of one (model, catalogue) snapshot pair and a key
// (popular-in-context lists, SimilarItems lists), kept in process so a warm replica answers them without
// Redis or recomputation. The memo belongs to one snapshot pair at a time: a lookup for another pair misses,
// and storing for another pair (a hot reload, a catalogue refresh) or into a full memo starts over, which
// keeps memory bounded. Thread-safe; lists are shared, immutable.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_SNAPSHOT_MEMO_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_SNAPSHOT_MEMO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/recommender/serving/rules.h"

namespace marketlens::recommender {

class SnapshotMemo {
 public:
  using List = std::shared_ptr<const std::vector<Candidate>>;

  explicit SnapshotMemo(size_t capacity) : capacity_(capacity) {}

  // `model` and `catalog` are the snapshots' instance ids (0: none).
  List Lookup(uint64_t model, uint64_t catalog, const std::string& key) const;
  // The memoised list, else compute() (outside the lock), stored.
  List GetOrCompute(uint64_t model, uint64_t catalog, const std::string& key,
                    const std::function<std::vector<Candidate>()>& compute);
  size_t size() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  uint64_t model_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t catalog_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, List> lists_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_SNAPSHOT_MEMO_H_
