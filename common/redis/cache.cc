#include "common/redis/cache.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"

namespace marketlens::redis {

std::string EscapeGlob(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Cache::Cache(RedisClient* client, CacheOptions options) : client_(client), options_(std::move(options)) {}

std::string Cache::FullKey(absl::string_view key) const { return absl::StrCat(options_.prefix, key); }

void Cache::RecordError(absl::string_view op, const absl::Status& status) {
  int64_t total = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t now = absl::GetCurrentTimeNanos();
  int64_t last = last_log_ns_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < absl::ToInt64Nanoseconds(options_.log_interval)) return;
  // One thread wins the interval; the others stay quiet.
  if (!last_log_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  int64_t before = errors_at_last_log_.exchange(total, std::memory_order_relaxed);
  logging::Warn("redis cache unavailable, serving without it", {{"cache", options_.prefix},
                                                                {"op", std::string(op)},
                                                                {"error", status},
                                                                {"errors_since_last_log", total - before}});
}

std::optional<std::string> Cache::Get(absl::string_view key) {
  auto value = client_->Get(FullKey(key));
  if (!value.ok()) {
    RecordError("get", value.status());
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (!value->has_value()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return *std::move(*value);
}

void Cache::Put(absl::string_view key, absl::string_view value, absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration()) return;
  absl::Status status = client_->Set(FullKey(key), value, ttl);
  if (!status.ok()) RecordError("put", status);
}

void Cache::Invalidate(absl::string_view key) {
  auto removed = client_->Del(FullKey(key));
  if (!removed.ok()) RecordError("invalidate", removed.status());
}

int64_t Cache::InvalidatePrefix(absl::string_view key_prefix) {
  const std::string pattern = absl::StrCat(EscapeGlob(FullKey(key_prefix)), "*");
  std::string cursor = "0";
  int64_t removed = 0;
  do {
    auto page = client_->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!page.ok()) {
      RecordError("invalidate_prefix", page.status());
      return removed;
    }
    if (!page->is_array() || page->size() != 2 || !(*page)[1].is_array()) {
      RecordError("invalidate_prefix",
                  absl::InternalError(absl::StrCat("unexpected SCAN reply ", page->DebugString())));
      return removed;
    }
    cursor = (*page)[0].str();
    const Reply& keys = (*page)[1];
    if (keys.size() > 0) {
      std::vector<std::string> argv = {"UNLINK"};
      argv.reserve(keys.size() + 1);
      for (const Reply& k : keys.elements()) argv.push_back(k.str());
      auto n = client_->Command(argv);
      if (!n.ok()) {
        RecordError("invalidate_prefix", n.status());
        return removed;
      }
      removed += n->integer();
    }
  } while (cursor != "0");
  return removed;
}

Cache::Stats Cache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace marketlens::redis
