#include "services/recommender/eval/split.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace marketlens::recommender {
namespace {

void Copy(const InteractionLog& from, const Event& e, InteractionLog& to) {
  to.Add(from.users.Name(e.user), from.items.Name(e.item), e.type, e.value, e.timestamp,
         e.session >= 0 ? absl::string_view(from.sessions.Name(e.session)) : absl::string_view());
}

// Distinct items per user with the latest timestamp of each, in first-seen order.
struct Pair {
  int32_t item;
  int64_t last;
};
std::vector<std::vector<Pair>> PairsByUser(const InteractionLog& log) {
  std::vector<std::vector<Pair>> out(log.users.size());
  absl::flat_hash_map<uint64_t, size_t> index;  // (user, item) -> position in out[user]
  for (const Event& e : log.events) {
    auto& pairs = out[e.user];
    const uint64_t key = (static_cast<uint64_t>(e.user) << 32) | static_cast<uint32_t>(e.item);
    auto [it, added] = index.try_emplace(key, pairs.size());
    if (added) {
      pairs.push_back({e.item, e.timestamp});
    } else {
      pairs[it->second].last = std::max(pairs[it->second].last, e.timestamp);
    }
  }
  return out;
}

Split Apply(const InteractionLog& log, const std::vector<absl::flat_hash_set<int32_t>>& test_items) {
  Split s;
  for (const Event& e : log.events) {
    Copy(log, e, test_items[e.user].contains(e.item) ? s.test : s.train);
  }
  return s;
}

}  // namespace

Split RandomPerUser(const InteractionLog& log, double test_fraction, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pairs = PairsByUser(log);
  std::vector<absl::flat_hash_set<int32_t>> test(log.users.size());
  for (size_t u = 0; u < pairs.size(); ++u) {
    auto& p = pairs[u];
    if (p.size() < 2) continue;
    std::shuffle(p.begin(), p.end(), rng);
    size_t n = static_cast<size_t>(std::lround(test_fraction * p.size()));
    n = std::clamp<size_t>(n, 1, p.size() - 1);
    for (size_t i = 0; i < n; ++i) test[u].insert(p[i].item);
  }
  return Apply(log, test);
}

Split TemporalLeaveLastN(const InteractionLog& log, int n) {
  auto pairs = PairsByUser(log);
  std::vector<absl::flat_hash_set<int32_t>> test(log.users.size());
  for (size_t u = 0; u < pairs.size(); ++u) {
    auto& p = pairs[u];
    if (static_cast<int>(p.size()) <= n) continue;
    std::stable_sort(p.begin(), p.end(), [](const Pair& a, const Pair& b) { return a.last < b.last; });
    for (size_t i = p.size() - n; i < p.size(); ++i) test[u].insert(p[i].item);
  }
  return Apply(log, test);
}

}  // namespace marketlens::recommender
