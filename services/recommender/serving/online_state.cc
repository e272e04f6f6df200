#include "services/recommender/serving/online_state.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace marketlens::recommender {

OnlineState::Shard& OnlineState::ShardOf(const std::string& user) const {
  return shards_[absl::Hash<std::string>()(user) % shards_.size()];
}

bool OnlineState::Record(const std::string& user, const std::string& item, EventType type,
                         int64_t timestamp) {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  if (s.forgotten.contains(user)) return false;
  UserOverlay& o = s.users[user];
  o.last_update = ++clock_;
  switch (type) {
    case EventType::kDoNotShow:
      o.do_not_show.insert(item);
      break;
    case EventType::kSkip:
      break;
    default:
      if (type == EventType::kPurchase) o.bought.insert(item);
      o.events.push_back({item, type, timestamp});
      if (static_cast<int>(o.events.size()) > options_.max_events_per_user) o.events.erase(o.events.begin());
  }
  EvictIfNeeded(s);
  return true;
}

void OnlineState::EvictIfNeeded(Shard& s) {
  const int64_t per_shard = std::max<int64_t>(1, options_.max_users / static_cast<int64_t>(shards_.size()));
  if (static_cast<int64_t>(s.users.size()) <= per_shard) return;
  // Drop the least recently updated tenth of the shard (amortised).
  std::vector<std::pair<uint64_t, std::string>> order;
  order.reserve(s.users.size());
  for (const auto& [u, o] : s.users) order.emplace_back(o.last_update, u);
  std::sort(order.begin(), order.end());
  const size_t drop = std::max<size_t>(1, s.users.size() / 10);
  for (size_t i = 0; i < drop; ++i) s.users.erase(order[i].second);
}

UserOverlay OnlineState::Get(const std::string& user) const {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  auto it = s.users.find(user);
  return it == s.users.end() ? UserOverlay{} : it->second;
}

bool OnlineState::GetUnlessForgotten(const std::string& user, UserOverlay* overlay) const {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  if (s.forgotten.contains(user)) return false;
  auto it = s.users.find(user);
  if (it != s.users.end()) *overlay = it->second;
  return true;
}

bool OnlineState::HasOverlay(const std::string& user) const {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  auto it = s.users.find(user);
  return it != s.users.end() && !it->second.empty();
}

void OnlineState::Forget(const std::string& user) {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  s.users.erase(user);
  s.forgotten.insert(user);
}

bool OnlineState::IsForgotten(const std::string& user) const {
  Shard& s = ShardOf(user);
  absl::MutexLock lock(&s.mu);
  return s.forgotten.contains(user);
}

void OnlineState::AddForgotten(const std::vector<std::string>& users) {
  for (const std::string& u : users) Forget(u);
}

size_t OnlineState::users() const {
  size_t n = 0;
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += s.users.size();
  }
  return n;
}

}  // namespace marketlens::recommender
