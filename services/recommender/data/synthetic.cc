#include "services/recommender/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/random/distributions.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace marketlens::recommender {
namespace {

constexpr absl::string_view kVocabulary[] = {
    "garden", "hose",  "kitchen", "knife",   "camera", "lens",  "yoga",   "mat",     "guitar", "string",
    "laptop", "stand", "coffee",  "grinder", "tent",   "stove", "paint",  "brush",   "dog",    "leash",
    "lamp",   "shade", "running", "shoe",    "puzzle", "board", "wallet", "leather", "drone",  "battery"};
constexpr int kVocabularySize = sizeof(kVocabulary) / sizeof(kVocabulary[0]);

}  // namespace

int SyntheticItemCluster(absl::string_view item_id, int clusters) {
  int index = 0;
  if (item_id.size() < 2 || !absl::SimpleAtoi(item_id.substr(1), &index)) return -1;
  return index % clusters;
}

SyntheticData GenerateSynthetic(const SyntheticOptions& o) {
  SyntheticData out;
  std::mt19937_64 rng(o.seed);
  const int clusters = std::max(1, o.clusters);

  // Items by cluster, with Zipf weights by rank.
  std::vector<std::vector<int>> cluster_items(clusters);
  for (int i = 0; i < o.items; ++i) cluster_items[i % clusters].push_back(i);
  std::vector<std::vector<double>> cumulative(clusters);
  for (int c = 0; c < clusters; ++c) {
    double sum = 0;
    for (size_t r = 0; r < cluster_items[c].size(); ++r) {
      sum += 1.0 / std::pow(static_cast<double>(r + 1), o.zipf);
      cumulative[c].push_back(sum);
    }
  }
  auto pick_in_cluster = [&](int c) {
    const auto& cum = cumulative[c];
    double x = absl::Uniform(rng, 0.0, cum.back());
    size_t r = std::lower_bound(cum.begin(), cum.end(), x) - cum.begin();
    return cluster_items[c][std::min(r, cum.size() - 1)];
  };

  // Catalog: each cluster owns a few vocabulary words.
  for (int i = 0; i < o.items; ++i) {
    const int c = i % clusters;
    ItemInfo info;
    info.category = absl::StrCat("cat", c);
    const int w1 = (2 * c) % kVocabularySize, w2 = (2 * c + 1) % kVocabularySize;
    const int noise = absl::Uniform(rng, 0, kVocabularySize);
    info.title = absl::StrCat(kVocabulary[w1], " ", kVocabulary[w2], " ", i);
    info.description = absl::StrCat("a fine ", kVocabulary[w1], " with ", kVocabulary[noise]);
    info.brand = absl::StrCat("brand", c, absl::Uniform(rng, 0, 3));
    info.attributes.emplace_back("line", absl::StrCat("line", c));
    out.catalog[absl::StrCat("i", i)] = std::move(info);
  }

  // Intern every item first so that item index == the number in the id.
  for (int i = 0; i < o.items; ++i) out.log.items.Intern(absl::StrCat("i", i));
  out.item_cluster.resize(o.items);
  for (int i = 0; i < o.items; ++i) out.item_cluster[i] = i % clusters;

  int64_t session_counter = 0;
  for (int u = 0; u < o.users; ++u) {
    const int c = u % clusters;
    const std::string user = absl::StrCat("u", u);
    out.log.users.Intern(user);
    out.user_cluster.push_back(c);
    const int n =
        std::max(1, static_cast<int>(std::lround(o.events_per_user * absl::Uniform(rng, 0.5, 1.5))));
    int64_t t = o.start_time + absl::Uniform<int64_t>(rng, 0, 86400 * 30);
    absl::flat_hash_set<int> seen;
    std::string session;
    for (int k = 0; k < n; ++k) {
      const bool own = absl::Bernoulli(rng, o.in_cluster);
      int item = own ? pick_in_cluster(c) : absl::Uniform(rng, 0, o.items);
      // Ratings: one per item (re-draw a few times for a new item); shop events may repeat.
      for (int tries = 0; !o.shop_events && seen.contains(item) && tries < 5; ++tries) {
        item = own ? pick_in_cluster(c) : absl::Uniform(rng, 0, o.items);
      }
      if (!o.shop_events && seen.contains(item)) continue;
      seen.insert(item);
      const bool in_cluster = (item % clusters) == c;
      t += absl::Uniform<int64_t>(rng, 30, 3600 * 12);
      const std::string item_id = absl::StrCat("i", item);
      if (!o.shop_events) {
        float rating = in_cluster ? static_cast<float>(absl::Uniform(absl::IntervalClosed, rng, 3, 5))
                                  : static_cast<float>(absl::Uniform(absl::IntervalClosed, rng, 1, 3));
        out.log.Add(user, item_id, EventType::kRating, rating, t);
        continue;
      }
      if (k % 4 == 0) session = absl::StrCat("s", ++session_counter);
      out.log.Add(user, item_id, EventType::kView, 1, t, session);
      if (absl::Bernoulli(rng, in_cluster ? 0.35 : 0.05)) {
        out.log.Add(user, item_id, EventType::kAddToCart, 1, t + 20, session);
        if (absl::Bernoulli(rng, 0.6)) out.log.Add(user, item_id, EventType::kPurchase, 1, t + 60, session);
      }
    }
  }
  return out;
}

}  // namespace marketlens::recommender
