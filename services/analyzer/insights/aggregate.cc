#include "services/analyzer/insights/aggregate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "services/analyzer/insights/stats.h"

namespace marketlens::analyzer {
namespace {

// Rounded to a multiple of `unit` (a power of ten), dividing by the integer scale so that the result is the
// double nearest the decimal and prints as such (3.4, never 3.4000000000000004).
double Round(double x, double unit = 1e-4) {
  const double scale = std::round(1 / unit);
  return std::round(x * scale) / scale;
}

}  // namespace

absl::CivilDay WeekStart(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  const int offset =
      (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday) + 7) % 7;
  return day - offset;
}

ProductAggregate Aggregate(const std::vector<ReviewFact>& facts, absl::Time now,
                           const AggregateOptions& options) {
  ProductAggregate out;
  out.review_count = static_cast<int>(facts.size());
  if (facts.empty()) return out;
  std::vector<const ReviewFact*> sorted;
  for (const auto& f : facts) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const ReviewFact* a, const ReviewFact* b) { return a->created_at < b->created_at; });

  std::map<absl::CivilDay, WeeklyAggregate> weeks;
  std::map<std::string, IssueAggregate> issues;
  std::map<std::string, std::pair<int, double>> features;
  double rating_sum = 0, sentiment_sum = 0;
  for (const ReviewFact* f : sorted) {
    rating_sum += f->rating;
    sentiment_sum += f->sentiment;
    out.last_review_at = std::max(out.last_review_at, f->created_at);
    WeeklyAggregate& w = weeks[WeekStart(f->created_at)];
    w.average_rating += f->rating;  // sums for now
    w.sentiment += f->sentiment;
    ++w.reviews;
    absl::flat_hash_set<std::string> seen;
    for (size_t i = 0; i < f->issues.size(); ++i) {
      if (!seen.insert(f->issues[i]).second) continue;
      ++w.issue_counts[f->issues[i]];
      IssueAggregate& ia = issues[f->issues[i]];
      ia.category = f->issues[i];
      ++ia.count;
    }
    for (size_t i = 0; i < f->aspects.size() && i < f->aspect_polarities.size(); ++i) {
      auto& [n, sum] = features[f->aspects[i]];
      ++n;
      sum += f->aspect_polarities[i];
    }
  }
  // Quotes: newest first, distinct.
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
    const ReviewFact* f = *it;
    for (size_t i = 0; i < f->issues.size() && i < f->issue_sentences.size(); ++i) {
      IssueAggregate& ia = issues[f->issues[i]];
      if (static_cast<int>(ia.quotes.size()) >= options.max_quotes || f->issue_sentences[i].empty()) continue;
      if (std::find(ia.quotes.begin(), ia.quotes.end(), f->issue_sentences[i]) == ia.quotes.end()) {
        ia.quotes.push_back(f->issue_sentences[i]);
      }
    }
  }
  const double n = static_cast<double>(facts.size());
  out.average_rating = Round(rating_sum / n);
  out.sentiment = Round(sentiment_sum / n);
  for (auto& [day, w] : weeks) {
    w.week_start = day;
    w.average_rating = Round(w.average_rating / w.reviews);
    w.sentiment = Round(w.sentiment / w.reviews);
    out.weekly.push_back(w);
  }
  // Velocity and trends over the last trend_weeks weeks up to now (empty weeks count as 0 reviews).
  const absl::CivilDay this_week = WeekStart(now);
  std::vector<double> counts, sentiments;
  for (int k = options.trend_weeks - 1; k >= 0; --k) {
    const absl::CivilDay day = this_week - 7 * k;
    auto it = weeks.find(day);
    counts.push_back(it == weeks.end() ? 0 : it->second.reviews);
    if (it != weeks.end()) sentiments.push_back(it->second.sentiment);
  }
  double total = 0;
  for (double c : counts) total += c;
  out.reviews_per_week = Round(total / std::max(1, options.trend_weeks));
  out.velocity_trend = Round(Slope(counts));
  out.sentiment_trend = Round(Slope(sentiments));
  for (auto& [category, ia] : issues) {
    ia.share = Round(ia.count / n);
    out.issues.push_back(ia);
  }
  std::sort(out.issues.begin(), out.issues.end(), [](const IssueAggregate& a, const IssueAggregate& b) {
    return a.count != b.count ? a.count > b.count : a.category < b.category;
  });
  for (const auto& [aspect, v] : features)
    out.features.push_back({aspect, v.first, Round(v.second / v.first, 1e-3)});
  std::sort(out.features.begin(), out.features.end(),
            [](const FeatureAggregate& a, const FeatureAggregate& b) {
              return a.mentions != b.mentions ? a.mentions > b.mentions : a.aspect < b.aspect;
            });
  return out;
}

namespace {

// Start of the recent window: the last recent_days, or further back to take in the newest min_recent
// reviews, never beyond max_recent_days.
absl::Time RecentWindowStart(const std::vector<ReviewFact>& facts, absl::Time now,
                             const AlertOptions& options) {
  const absl::Time nominal = now - absl::Hours(24) * options.recent_days;
  const absl::Time widest = now - absl::Hours(24) * std::max(options.recent_days, options.max_recent_days);
  std::vector<absl::Time> times;
  for (const ReviewFact& f : facts) {
    if (f.created_at <= now && f.created_at >= widest) times.push_back(f.created_at);
  }
  const size_t k = static_cast<size_t>(std::max(1, options.min_recent));
  if (times.size() < k)
    return nominal;  // too few reviews even in the widest window: judged on the nominal one
  std::nth_element(times.begin(), times.begin() + (k - 1), times.end(), std::greater<>());
  return std::min(nominal, times[k - 1]);
}

}  // namespace

std::vector<AlertFinding> DetectAlerts(const std::vector<ReviewFact>& facts, absl::Time now,
                                       const AlertOptions& options) {
  std::vector<AlertFinding> out;
  const absl::Time recent_start = RecentWindowStart(facts, now, options);
  const absl::Time baseline_start = recent_start - absl::Hours(24) * options.baseline_days;
  const int recent_days = static_cast<int>(std::ceil(absl::ToDoubleHours(now - recent_start) / 24));
  Moments rating_base, rating_recent, sent_base, sent_recent;
  std::map<std::string, std::pair<int64_t, int64_t>> issue_counts;  // category -> (baseline, recent)
  for (const ReviewFact& f : facts) {
    if (f.created_at > now || f.created_at < baseline_start) continue;
    const bool recent = f.created_at >= recent_start;
    (recent ? rating_recent : rating_base).Add(f.rating);
    (recent ? sent_recent : sent_base).Add(f.sentiment);
    absl::flat_hash_set<std::string> seen;
    for (const auto& c : f.issues) {
      if (!seen.insert(c).second) continue;
      (recent ? issue_counts[c].second : issue_counts[c].first)++;
    }
  }
  if (rating_recent.n < options.min_recent || rating_base.n < options.min_baseline) return out;
  const int nr = static_cast<int>(rating_recent.n), nb = static_cast<int>(rating_base.n);

  const TestResult rating = WelchTTest(rating_base, rating_recent);
  if (rating.valid && rating.p_less < options.alpha &&
      rating_base.mean - rating_recent.mean >= options.min_rating_drop) {
    out.push_back(
        {"rating_drop", "average_rating", Round(rating_base.mean, 0.01), Round(rating_recent.mean, 0.01),
         rating.p_less, nr, nb,
         absl::StrFormat("Average rating fell from %.2f to %.2f stars in the last %d days (%d reviews vs "
                         "%d before; Welch t-test p=%.2g)",
                         rating_base.mean, rating_recent.mean, recent_days, nr, nb, rating.p_less)});
  }
  const TestResult sentiment = WelchTTest(sent_base, sent_recent);
  if (sentiment.valid && sentiment.p_less < options.alpha &&
      sent_base.mean - sent_recent.mean >= options.min_sentiment_drop) {
    out.push_back(
        {"sentiment_drop", "sentiment", Round(sent_base.mean, 0.001), Round(sent_recent.mean, 0.001),
         sentiment.p_less, nr, nb,
         absl::StrFormat("Review sentiment fell from %.2f to %.2f in the last %d days (%d reviews vs %d "
                         "before; Welch t-test p=%.2g)",
                         sent_base.mean, sent_recent.mean, recent_days, nr, nb, sentiment.p_less)});
  }
  for (const auto& [category, c] : issue_counts) {
    const auto [xb, xr] = c;
    if (xr < options.min_issue_count) continue;
    const double share_b = static_cast<double>(xb) / nb, share_r = static_cast<double>(xr) / nr;
    const TestResult z = TwoProportionZTest(xb, nb, xr, nr);
    if (!z.valid || z.p_greater >= options.alpha || share_r - share_b < options.min_issue_share_rise)
      continue;
    out.push_back(
        {"issue_spike", "issue_share:" + category, Round(share_b, 0.001), Round(share_r, 0.001), z.p_greater,
         nr, nb,
         absl::StrFormat("\"%s\" mentioned in %.0f%% of reviews in the last %d days vs %.0f%% before "
                         "(%d of %d vs %d of %d; two-proportion z-test p=%.2g)",
                         category, 100 * share_r, recent_days, 100 * share_b, static_cast<int>(xr), nr,
                         static_cast<int>(xb), nb, z.p_greater)});
  }
  return out;
}

}  // namespace marketlens::analyzer
