// IdMap: external string ids (user "U123", product "P0042", MovieLens "196") <-> dense indexes 0..n-1.
// Every algorithm works on dense indexes (matrix rows/columns); the strings only come back at the edges
// (files, gRPC, the registry). Indexes are assigned in first-seen order and never change.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_IDS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_IDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace marketlens::recommender {

class IdMap {
 public:
  // The index of `id`, adding it when new.
  int32_t Intern(absl::string_view id);
  // The index of `id`, or -1.
  int32_t Find(absl::string_view id) const;
  bool Contains(absl::string_view id) const { return Find(id) >= 0; }
  // The id of an index (must be valid).
  const std::string& Name(int32_t index) const { return names_[index]; }
  int32_t size() const { return static_cast<int32_t>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  void Reserve(size_t n);

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, int32_t> index_;
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_IDS_H_
