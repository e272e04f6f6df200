#include "services/recommender/eval/session_eval.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace marketlens::recommender {

SessionSplitData SplitSessions(const InteractionLog& log, const SessionEvalOptions& options) {
  SessionSplitData out;
  out.num_items = log.items.size();
  // Group events (keeping the log order for ties in time, e.g. lines of one invoice).
  absl::flat_hash_map<int64_t, std::vector<size_t>> groups;
  for (size_t n = 0; n < log.events.size(); ++n) {
    const Event& e = log.events[n];
    const int64_t key =
        options.by_session ? (e.session >= 0 ? e.session : -1 - static_cast<int64_t>(e.user)) : e.user;
    groups[key].push_back(n);
  }
  std::vector<SessionSequence> all;
  for (auto& [key, events] : groups) {
    std::stable_sort(events.begin(), events.end(),
                     [&](size_t a, size_t b) { return log.events[a].timestamp < log.events[b].timestamp; });
    SessionSequence s;
    for (size_t n : events) {
      const int32_t item = log.events[n].item;
      if (std::find(s.items.begin(), s.items.end(), item) == s.items.end()) s.items.push_back(item);
    }
    s.time = log.events[events.back()].timestamp;
    s.hour = absl::ToTM(absl::FromUnixSeconds(s.time), absl::UTCTimeZone()).tm_hour;
    all.push_back(std::move(s));
  }
  std::sort(all.begin(), all.end(), [](const SessionSequence& a, const SessionSequence& b) {
    return a.time != b.time ? a.time < b.time : a.items < b.items;
  });
  const size_t cut = static_cast<size_t>(all.size() * (1 - options.test_fraction));
  for (size_t n = 0; n < all.size(); ++n) (n < cut ? out.train : out.test).push_back(std::move(all[n]));
  return out;
}

NextItemMetrics EvaluateNextItem(const SessionSplitData& data, const SessionScorer& scorer,
                                 const SessionEvalOptions& options) {
  NextItemMetrics m;
  std::vector<float> scores(data.num_items);
  double hits = 0, rr = 0;
  for (const SessionSequence& s : data.test) {
    for (size_t t = 1; t < s.items.size(); ++t) {
      size_t from =
          options.max_prefix > 0 && t > static_cast<size_t>(options.max_prefix) ? t - options.max_prefix : 0;
      absl::Span<const int32_t> prefix(s.items.data() + from, t - from);
      scorer(prefix, s.hour, absl::MakeSpan(scores));
      std::vector<int32_t> exclude(s.items.begin(), s.items.begin() + t);
      std::sort(exclude.begin(), exclude.end());
      const int32_t target = s.items[t];
      int rank = 0;
      for (const ScoredItem& si : TopN(scores, options.k, exclude)) {
        ++rank;
        if (si.score <= 0) break;  // an item nobody voted for is no recommendation
        if (si.item == target) {
          hits += 1;
          rr += 1.0 / rank;
          break;
        }
      }
      ++m.predictions;
    }
  }
  if (m.predictions > 0) {
    m.hit_rate = hits / m.predictions;
    m.mrr = rr / m.predictions;
  }
  return m;
}

}  // namespace marketlens::recommender
