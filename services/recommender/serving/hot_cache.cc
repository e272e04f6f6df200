#include "services/recommender/serving/hot_cache.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace marketlens::recommender {

std::string EncodeCandidates(const std::vector<Candidate>& candidates) {
  std::string out;
  for (const Candidate& c : candidates) {
    absl::StrAppend(&out, c.item_id, "\t", c.score, "\t", c.source, "\t", c.reason.str(), "\n");
  }
  return out;
}

std::optional<std::vector<Candidate>> DecodeCandidates(const std::string& text) {
  std::vector<Candidate> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits('\t', 3));
    if (f.size() != 4) return std::nullopt;
    Candidate c;
    c.item_id = std::string(f[0]);
    if (!absl::SimpleAtod(f[1], &c.score)) return std::nullopt;
    // Sources are literals (kCandidateSources): a list with another is not one this version wrote.
    const absl::string_view* source =
        std::find(std::begin(kCandidateSources), std::end(kCandidateSources), f[2]);
    if (source == std::end(kCandidateSources)) return std::nullopt;
    c.source = *source;
    c.reason = std::string(f[3]);
    out.push_back(std::move(c));
  }
  return out;
}

HotListCache::HotListCache(redis::RedisClient* client, absl::Duration ttl,
                           std::shared_ptr<prometheus::Registry> registry)
    : ttl_(ttl), registry_(std::move(registry)) {
  if (client != nullptr)
    cache_ = std::make_unique<redis::Cache>(client, redis::CacheOptions{.prefix = "recs:v1:"});
  family_ = &prometheus::BuildCounter()
                 .Name("recommender_cache_requests_total")
                 .Help("Hot-list cache lookups in Redis by result (hit rate = hit / all)")
                 .Register(*registry_);
  hits_ = &family_->Add({{"result", "hit"}});
  misses_ = &family_->Add({{"result", "miss"}});
}

std::vector<Candidate> HotListCache::GetOrCompute(const std::string& list, const std::string& key,
                                                  const std::function<std::vector<Candidate>()>& compute) {
  const std::string full = absl::StrCat(list, ":", key);
  if (cache_ != nullptr) {
    if (std::optional<std::string> hit = cache_->Get(full)) {
      if (std::optional<std::vector<Candidate>> decoded = DecodeCandidates(*hit)) {
        hits_->Increment();
        return *std::move(decoded);
      }
    }
  }
  misses_->Increment();
  std::vector<Candidate> computed = compute();
  if (cache_ != nullptr) cache_->Put(full, EncodeCandidates(computed), ttl_);
  return computed;
}

}  // namespace marketlens::recommender
