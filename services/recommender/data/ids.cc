#include "services/recommender/data/ids.h"

namespace marketlens::recommender {

int32_t IdMap::Intern(absl::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  const int32_t index = static_cast<int32_t>(names_.size());
  names_.emplace_back(id);
  index_.emplace(names_.back(), index);
  return index;
}

int32_t IdMap::Find(absl::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

void IdMap::Reserve(size_t n) {
  names_.reserve(n);
  index_.reserve(n);
}

}  // namespace marketlens::recommender
