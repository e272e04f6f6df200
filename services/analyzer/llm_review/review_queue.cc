#include "services/analyzer/llm_review/review_queue.h"

#include <cstdint>

namespace marketlens::analyzer::llm_review {
namespace {

// FNV-1a: stable across runs and instances (absl::Hash is not), and cheap on a short id.
uint64_t StableHash(absl::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // MurmurHash3's finaliser: FNV's high bits are poorly mixed for short, similar ids.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

int SamplePriority(const ReviewRow& review, const Analysis& local, const SamplingPolicy& policy) {
  if (local.HasFlag("empty") || local.HasFlag("too_short")) return -1;
  const bool low_star = review.rating >= 1 && review.rating <= 2;
  const bool flagged = !local.issues.empty() || local.HasFlag("rating_mismatch");
  const int priority = (low_star ? 2 : 0) + (flagged ? 1 : 0);
  if (priority > 0) return priority;
  if (policy.sample_rate <= 0) return -1;
  const double u = static_cast<double>(StableHash(review.id) >> 11) * 0x1.0p-53;
  return u < policy.sample_rate ? 0 : -1;
}

ReviewQueue::Key ReviewQueue::KeyOf(const ReviewCandidate& c) {
  return {-c.priority, -absl::ToUnixMicros(c.review.created_at), c.review.id};
}

int ReviewQueue::Push(std::vector<ReviewCandidate> candidates) {
  absl::MutexLock lock(&mu_);
  int dropped = 0;
  for (ReviewCandidate& c : candidates) {
    if (auto old = by_id_.find(c.review.id); old != by_id_.end()) {
      queue_.erase(old->second);
      by_id_.erase(old);
    }
    Key key = KeyOf(c);
    std::string id = c.review.id;
    queue_.emplace(key, std::move(c));
    by_id_[id] = std::move(key);
    while (queue_.size() > capacity_) {
      auto worst = std::prev(queue_.end());
      by_id_.erase(std::get<2>(worst->first));
      queue_.erase(worst);
      ++dropped;
    }
  }
  return dropped;
}

std::vector<ReviewCandidate> ReviewQueue::PopBest(size_t n) {
  absl::MutexLock lock(&mu_);
  std::vector<ReviewCandidate> out;
  while (out.size() < n && !queue_.empty()) {
    auto best = queue_.begin();
    by_id_.erase(std::get<2>(best->first));
    out.push_back(std::move(best->second));
    queue_.erase(best);
  }
  return out;
}

bool ReviewQueue::WaitNonEmpty(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &ReviewQueue::NonEmpty), timeout);
}

size_t ReviewQueue::size() {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

}  // namespace marketlens::analyzer::llm_review
