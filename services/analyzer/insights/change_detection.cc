#include "services/analyzer/insights/change_detection.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <set>

#include "absl/strings/str_format.h"
#include "services/analyzer/insights/stats.h"

namespace marketlens::analyzer {
namespace {

constexpr double kDaysPerWeek = 7;

double LogChoose(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

double HypergeometricPmf(int x, int total, int successes, int draws) {
  return std::exp(LogChoose(successes, x) + LogChoose(total - successes, draws - x) -
                  LogChoose(total, draws));
}

double HypergeometricLowerTail(int x, int total, int successes, int draws) {
  const int lo = std::max(0, draws - (total - successes));
  double p = 0;
  for (int i = lo; i <= x; ++i) p += HypergeometricPmf(i, total, successes, draws);
  return std::min(1.0, p);
}

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// The split search's grid over n reviews: "the newest k" for k = min_after, x ratio, ... and "the oldest j"
// for j = min_before, x ratio, ... (so changes early and late in a history are both tried at their own
// resolution), as counts of reviews after the split, distinct and ascending.
std::vector<int> Grid(int n, int min_after, int min_before, double ratio) {
  std::set<int> ks;
  if (n - min_before < min_after) return {};
  for (double k = min_after; k <= n - min_before + 1e-9; k *= ratio)
    ks.insert(static_cast<int>(std::ceil(k - 1e-9)));
  for (double j = min_before; j <= n - min_after + 1e-9; j *= ratio)
    ks.insert(n - static_cast<int>(std::ceil(j - 1e-9)));
  std::vector<int> out;
  for (int k : ks)
    if (k >= min_after && n - k >= min_before) out.push_back(k);
  return out;
}

// One-sided exact p that the share of 1s in x[a0, a1) is higher (+1) / lower (-1) than in x[b0, b1).
double ShareShiftP(const PrefixSums& p, int b0, int b1, int a0, int a1, int direction) {
  const int xb = static_cast<int>(std::lround(p.s[b1] - p.s[b0]));
  const int xa = static_cast<int>(std::lround(p.s[a1] - p.s[a0]));
  const int total = (b1 - b0) + (a1 - a0);
  return direction > 0 ? HypergeometricUpperTail(xa, total, xa + xb, a1 - a0)
                       : HypergeometricLowerTail(xa, total, xa + xb, a1 - a0);
}

// A stable 64-bit hash (FNV-1a) of a product and metric: the permutation test's seed, so the same reviews
// give the same p in the service, the cli and the tests.
uint64_t StableSeed(const std::string& a, const std::string& b) {
  uint64_t h = 1469598103934665603ULL;
  for (const std::string* s : {&a, &b}) {
    for (unsigned char c : *s) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
  }
  return h;
}

struct SeriesSpec {
  bool binary = false;  // issue mentions: Fisher; else Welch
  int direction = -1;   // the bad direction: -1 lower (rating, sentiment), +1 higher (issue share)
  double variance_floor = 0;
};

struct SeriesResult {
  bool tested = false;
  double p = 1;
  double min_p = 0;
  int split = 0;      // index of the first "after" review
  int recovery = -1;  // index of the first review of the recovery (-1: none)
  double before = 0, after = 0;
};

double ShiftP(const PrefixSums& p, const SeriesSpec& spec, int b0, int b1, int a0, int a1, int direction) {
  return spec.binary ? ShareShiftP(p, b0, b1, a0, a1, direction)
                     : MeanShiftP(p, b0, b1, a0, a1, direction, spec.variance_floor);
}

// Gain in log-likelihood of splitting x[0, n) at i (a mean shift; Gaussian with a common variance, or
// Bernoulli), counted only when the shift is in the bad direction.
double SplitGain(const PrefixSums& p, const SeriesSpec& spec, int i, int n) {
  const double n1 = i, n2 = n - i;
  const double m1 = (p.s[i]) / n1, m2 = (p.s[n] - p.s[i]) / n2;
  if ((m2 - m1) * spec.direction <= 0) return 0;
  if (!spec.binary) return n1 * n2 / n * (m2 - m1) * (m2 - m1);
  auto ll = [](double x, double m) {
    double v = 0;
    if (x > 0) v += x * std::log(x / m);
    if (m - x > 0) v += (m - x) * std::log((m - x) / m);
    return v;
  };
  const double x1 = p.s[i], x2 = p.s[n] - p.s[i];
  return ll(x1, n1) + ll(x2, n2) - ll(x1 + x2, n);
}

// The split search's p by permutation. The statistic is the largest standardised mean shift in the bad
// direction over the grid's splits and over the given series (the same reviews' stars, sentiment, ...;
// each series' total variance is fixed under permutation, so each is a scan of pooled t-like statistics).
// Its p is the share of random orders of the same reviews whose statistic reaches it: exact under "no
// change", where the reviews' order is exchangeable, however correlated the grid points and the series are
// (Bonferroni over them is far more conservative). Under "no change" the p-values are uniform.
// With `levels` (each review's star level 0..4), the maximum also takes the two-sample multinomial
// log-likelihood ratio of the star levels at each split where the later reviews' mean is lower (the star
// mix changed, e.g. some 5-star reviews became 1-2 stars, others stayed), on the z scale by Wilson and
// Hilferty's cube-root normal approximation of its chi-square (levels present - 1 degrees of freedom), so
// it competes with the mean shifts on a like footing; the permutation keeps the p exact whatever the scale.
double PermutationScanP(const std::vector<const std::vector<double>*>& series,
                        const std::vector<double>& variance_floors, const std::vector<int>& grid,
                        int direction, int permutations, uint64_t seed,
                        const std::vector<int>* levels = nullptr) {
  const int n = static_cast<int>(series.front()->size());
  const size_t m = series.size();
  std::vector<double> mean(m, 0), sd(m, 1);
  for (size_t j = 0; j < m; ++j) {
    double sq = 0;
    for (double v : *series[j]) mean[j] += v;
    mean[j] /= n;
    for (double v : *series[j]) sq += (v - mean[j]) * (v - mean[j]);
    sd[j] = std::sqrt(std::max(variance_floors[j], sq / std::max(1, n - 1)));
  }
  constexpr int kLevels = 5;
  int level_counts[kLevels] = {0}, level_df = -1;
  double level_mean = 0, level_ll_total = 0;  // the levels' mean and log-likelihood without a split
  if (levels != nullptr) {
    for (int l : *levels) ++level_counts[l], level_mean += l;
    level_mean /= n;
    for (int c : level_counts) {
      if (c == 0) continue;
      ++level_df;
      level_ll_total += c * std::log(static_cast<double>(c) / n);
    }
  }
  std::vector<double> weight;  // z_k = (mean of the last k - overall mean) * weight_k / sd, bad direction
  for (int k : grid) weight.push_back(direction / std::sqrt(1.0 / k - 1.0 / n));
  auto statistic = [&](const std::vector<int>& order) {
    double best = -1e300;
    for (size_t j = 0; j < m; ++j) {
      const std::vector<double>& x = *series[j];
      double tail = 0;
      size_t g = 0;
      for (int i = n - 1, taken = 1; i >= 0; --i, ++taken) {
        const double v = x[order[i]];
        tail += v;
        if (g < grid.size() && taken == grid[g]) {
          best = std::max(best, (tail / taken - mean[j]) * weight[g] / sd[j]);
          ++g;
        }
      }
    }
    if (levels != nullptr && level_df >= 1) {
      int tail_counts[kLevels] = {0};
      double tail_sum = 0;
      size_t g = 0;
      for (int i = n - 1, taken = 1; i >= 0 && g < grid.size(); --i, ++taken) {
        const int l = (*levels)[order[i]];
        ++tail_counts[l];
        tail_sum += l;
        if (taken != grid[g]) continue;
        ++g;
        if (tail_sum / taken >= level_mean) continue;  // only a worse mix counts
        double llr = -level_ll_total;
        for (int v = 0; v < kLevels; ++v) {
          const int a = tail_counts[v], b = level_counts[v] - a;
          if (a > 0) llr += a * std::log(static_cast<double>(a) / taken);
          if (b > 0) llr += b * std::log(static_cast<double>(b) / (n - taken));
        }
        const double x = std::max(0.0, 2 * llr) / level_df, c = 2.0 / (9 * level_df);
        best = std::max(best, (std::cbrt(x) - (1 - c)) / std::sqrt(c));
      }
    }
    return best;
  };
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  const double observed = statistic(order) - 1e-12;
  std::mt19937_64 rng(seed);
  // Besag and Clifford's sequential p: stop once kEnoughReached orders reach the statistic (p = reached /
  // orders drawn, still a valid p); an unchanged product, the common case, stops after a few dozen.
  constexpr int kEnoughReached = 20;
  int reached = 0;
  for (int b = 1; b <= permutations; ++b) {
    std::shuffle(order.begin(), order.end(), rng);
    reached += statistic(order) >= observed;
    if (reached == kEnoughReached) return static_cast<double>(reached) / b;
  }
  return (1.0 + reached) / (1.0 + permutations);
}

SeriesResult TestSeries(const std::vector<double>& x, const SeriesSpec& spec, const ChangeOptions& o,
                        uint64_t seed = 0) {
  SeriesResult r;
  const int n = static_cast<int>(x.size());
  const std::vector<int> grid = Grid(n, o.min_after, o.min_before, o.grid_ratio);
  if (grid.empty()) return r;
  const PrefixSums p(x);
  r.tested = true;
  int best_k = grid.front();
  double best_p = 2;
  for (int k : grid) {
    const double pk = ShiftP(p, spec, 0, n - k, n - k, n, spec.direction);
    if (pk < best_p) best_p = pk, best_k = k;
  }
  r.p = std::min(1.0, best_p * grid.size());
  if (!spec.binary && o.permutations > 0) {
    r.p = PermutationScanP({&x}, {spec.variance_floor}, grid, spec.direction, o.permutations, seed);
  }
  if (spec.binary) {  // all mentions as late as possible: the most extreme outcome the margins allow
    const int total = static_cast<int>(std::lround(p.s[n]));
    double min_p = 1;
    for (int k : grid) min_p = std::min(min_p, HypergeometricUpperTail(std::min(total, k), n, total, k));
    r.min_p = std::min(1.0, min_p * grid.size());
  }
  // Refine the date: the maximum-likelihood split near the grid point.
  const auto [k_lo, k_hi] = RefineWindow(best_k, n, o);
  int split = n - best_k;
  double best_gain = -1;
  std::vector<double> gains(n + 1, -1);
  for (int k = k_lo; k <= k_hi; ++k) {
    const double g = SplitGain(p, spec, n - k, n);
    gains[k] = g;
    if (g > best_gain) best_gain = g, split = n - k;
  }
  if (o.date_support > 0 && best_gain > 0) {
    // Gaussian gains are n1 n2 / n (m2 - m1)^2: in log-likelihood units over 2 variance.
    const double scale =
        spec.binary ? 1 : 2 * std::max(spec.variance_floor, p.Segment(0, n, 0).m2 / std::max(1, n - 1));
    for (int k = k_hi; k >= k_lo; --k) {
      if (gains[k] >= best_gain - o.date_support * scale) {
        split = n - k;
        break;
      }
    }
  }
  r.split = split;
  r.before = p.s[split] / split;
  r.after = (p.s[n] - p.s[split]) / (n - split);
  // Reverted since? The newest reviews of the "after" segment against its start, in the good direction.
  const int after_n = n - split;
  const std::vector<int> rgrid = Grid(after_n, o.min_after, o.min_after, o.grid_ratio);
  // Recovered: significantly better than just after the change, and back at least halfway. Of the grid
  // points that show it, the most significant dates the recovery (the newest few reviews alone would date
  // it late and count recovered reviews as "after").
  double best_recovery_p = o.recovery_alpha;
  for (int j : rgrid) {
    const int cut = n - j;
    const double pr = ShiftP(p, spec, split, cut, cut, n, -spec.direction) * rgrid.size();
    const double bad = (p.s[cut] - p.s[split]) / (cut - split);
    const double recent = (p.s[n] - p.s[cut]) / j;
    if (pr < best_recovery_p && std::fabs(recent - r.before) * 2 <= std::fabs(bad - r.before)) {
      best_recovery_p = pr;
      r.recovery = cut;
      r.after = bad;
    }
  }
  return r;
}

// One metric's values at the split (and recovery) found on another series: same p, own before/after.
SeriesResult AtSplitOf(const SeriesResult& found, const std::vector<double>& x) {
  SeriesResult r = found;
  if (!r.tested) return r;
  const PrefixSums p(x);
  const int n = static_cast<int>(x.size());
  const int end = r.recovery >= 0 ? r.recovery : n;
  r.before = p.s[r.split] / r.split;
  r.after = (p.s[end] - p.s[r.split]) / (end - r.split);
  return r;
}

std::vector<std::string> Evidence(const std::vector<const ReviewFact*>& sorted, int from, int to,
                                  const std::function<bool(const ReviewFact&)>& shows, int max) {
  std::vector<std::string> out;
  for (int i = from; i < to && static_cast<int>(out.size()) < max; ++i) {
    if (!sorted[i]->id.empty() && shows(*sorted[i])) out.push_back(sorted[i]->id);
  }
  return out;
}

// The change happened after review split - 1 and by review split; where in that gap (ChangeDating)? The
// default, the first review after, is what the reviews show. kArrivalLikelihood: with reviews arriving as a
// Poisson process whose rate may change with the product, the likelihood of the arrival times with one rate
// before the change time t and another after (profiled) is convex in t within the gap, so its maximum is at
// an end: just after the last review before when reviews came more slowly afterwards, else the first after.
absl::Time ChangeTime(const std::vector<const ReviewFact*>& sorted, int split, absl::Time now,
                      ChangeDating dating) {
  const absl::Time last_before = sorted[split - 1]->created_at, first_after = sorted[split]->created_at;
  const absl::Time just_after = std::min(first_after, last_before + absl::Seconds(1));
  switch (dating) {
    case ChangeDating::kFirstReviewAfter:
      return first_after;
    case ChangeDating::kGapMidpoint:
      return last_before + (first_after - last_before) / 2;
    case ChangeDating::kAfterLastBefore:
      return just_after;
    case ChangeDating::kArrivalLikelihood:
      break;
  }
  const double n = static_cast<double>(sorted.size()), x1 = split, x2 = n - split;
  const absl::Time start = sorted.front()->created_at;
  auto log_likelihood = [&](absl::Time t) {
    const double t1 = absl::ToDoubleHours(t - start), t2 = absl::ToDoubleHours(now - t);
    if (t1 <= 0 || t2 <= 0) return -1e300;
    return x1 * std::log(x1 / t1) + x2 * std::log(x2 / t2);
  };
  return log_likelihood(just_after) > log_likelihood(first_after) ? just_after : first_after;
}

void FillFromSeries(const SeriesResult& s, const std::vector<const ReviewFact*>& sorted, absl::Time now,
                    ChangeDating dating, ChangeFinding* f) {
  const int n = static_cast<int>(sorted.size());
  f->p_value = s.p;
  f->test_p_value = s.p;
  f->min_p_value = s.min_p;
  f->since = ChangeTime(sorted, s.split, now, dating);
  f->changed_after = sorted[s.split - 1]->created_at;
  f->before = s.before;
  f->after = s.after;
  f->before_reviews = s.split;
  f->after_reviews = (s.recovery >= 0 ? s.recovery : n) - s.split;
  f->open = s.recovery < 0;
  if (s.recovery >= 0) f->recovered_at = sorted[s.recovery]->created_at;
}

// The empirical-Bayes low-share test's place in the product's family (never returned as a finding).
constexpr char kEbMember[] = "low_share:empirical_bayes";
constexpr char kEbStarsMember[] = "stars:empirical_bayes";
bool IsEbMember(const std::string& metric) { return metric == kEbMember || metric == kEbStarsMember; }

// Per-product calibration: the product's tests are one family, tested by weighted Holm at product_alpha.
// Stars and sentiment (one member when judged jointly) are the primary test with weight quality_weight;
// the issue shares and the velocity share the rest, after Tarone's screen within that share (count tests
// whose smallest attainable p cannot reach their level do not count, for the smallest K with at most K
// tests left). Each finding's p_value becomes its adjusted p (1 for screened-out tests), so "p_value <=
// product_alpha" is the product's rule and the family-wise error per unchanged product is <= product_alpha.
void AdjustWithinProduct(const ChangeOptions& o, std::vector<ChangeFinding>* tests) {
  const bool joint = o.quality_test != QualityTest::kSeparate;
  std::map<std::string, std::vector<ChangeFinding*>> members;
  for (ChangeFinding& t : *tests) {
    const bool quality = t.metric == "average_rating" || t.metric == "sentiment";
    members[joint && quality ? "quality" : t.metric].push_back(&t);
  }
  auto is_primary = [&](const std::string& key) {
    return key == "quality" || IsEbMember(key) || (!joint && (key == "average_rating" || key == "sentiment"));
  };
  const bool eb = members.count(kEbMember) > 0 || members.count(kEbStarsMember) > 0;
  const bool eb_stars = members.count(kEbStarsMember) > 0;
  size_t primaries = 0, secondaries = 0;
  for (const auto& [key, fs] : members) (is_primary(key) ? primaries : secondaries)++;
  if (primaries == 0 && secondaries == 0) return;
  // With eb_from_count_tests, the empirical-Bayes member's weight comes out of the count tests' share (the
  // stars/sentiment test keeps quality_weight), else out of the stars/sentiment test's.
  const bool eb_from_count = members.count(kEbMember) > 0 && !eb_stars && o.eb_from_count_tests;
  const double count_share = 1 - o.quality_weight - (eb_from_count ? o.eb_weight : 0);
  const double secondary_share = secondaries == 0 ? 0 : primaries == 0 ? 1 : count_share;
  // Tarone within the secondary share.
  double level = 0;
  for (size_t k = 1; k <= secondaries; ++k) {
    size_t m_k = 0;
    for (const auto& [key, fs] : members)
      m_k += !is_primary(key) && fs.front()->min_p_value <= o.product_alpha * secondary_share / k;
    if (m_k <= k) {
      level = o.product_alpha * secondary_share / k;
      break;
    }
  }
  struct Member {
    double p, weight;
    std::vector<ChangeFinding*>* findings;
  };
  std::vector<Member> kept;
  size_t kept_secondaries = 0;
  for (auto& [key, fs] : members) {
    if (!is_primary(key) && fs.front()->min_p_value <= level) ++kept_secondaries;
  }
  for (auto& [key, fs] : members) {
    double weight = 0;
    if (is_primary(key)) {
      const double share = kept_secondaries == 0 ? 1.0 : o.quality_weight;
      if (!eb) {
        weight = share / primaries;
      } else if (eb_from_count) {
        weight = key == kEbMember
                     ? o.eb_weight
                     : (kept_secondaries == 0 ? 1 - o.eb_weight : o.quality_weight) / (primaries - 1);
      } else {
        // The empirical-Bayes members take eb_weight / eb_stars_weight of the share, the others the rest.
        const double low_w = members.count(kEbMember) > 0 ? o.eb_weight : 0;
        const double stars_w = eb_stars ? o.eb_stars_weight : 0;
        const size_t others = primaries - members.count(kEbMember) - members.count(kEbStarsMember);
        weight = key == kEbMember ? share * low_w
                 : key == kEbStarsMember
                     ? share * stars_w
                     : share * std::max(0.0, 1 - low_w - stars_w) / std::max<size_t>(1, others);
      }
    } else if (fs.front()->min_p_value <= level) {
      weight = (primaries == 0 ? 1.0 : count_share) / kept_secondaries;
    }
    if (weight > 0) {
      kept.push_back({fs.front()->p_value, weight, &fs});
    } else {
      for (ChangeFinding* f : fs) f->p_value = 1;
    }
  }
  // Weighted Holm: in order of p / weight, each step's adjusted p is p / weight x the weight still untested.
  std::sort(kept.begin(), kept.end(),
            [](const Member& a, const Member& b) { return a.p / a.weight < b.p / b.weight; });
  double remaining = 0, running = 0;
  for (const Member& m : kept) remaining += m.weight;
  for (const Member& m : kept) {
    running = std::max(running, std::min(1.0, m.p / m.weight * remaining));
    remaining -= m.weight;
    for (ChangeFinding* f : *m.findings) f->p_value = running;
  }
}

// "Since <first review that shows it>", with the last review before it when that is another day: the
// change happened in between, and the reviews cannot say where.
std::string Period(const ChangeFinding& f) {
  const std::string since =
      f.changed_after == absl::InfinitePast() || Day(f.changed_after) == Day(f.since)
          ? Day(f.since)
          : absl::StrFormat("%s (the last review before it: %s)", Day(f.since), Day(f.changed_after));
  return f.open ? absl::StrFormat("Since %s", since)
                : absl::StrFormat("From %s to %s (recovered since)", since, Day(f.recovered_at));
}

// The average rating's finding at a split: values, effect sizes (a drop in stars that shows as more 1-2 star
// reviews), evidence and message.
ChangeFinding RatingFinding(const SeriesResult& s, const std::vector<const ReviewFact*>& sorted,
                            const std::vector<double>& stars, absl::Time now, const ChangeOptions& o,
                            ChangeFinding f) {
  FillFromSeries(s, sorted, now, o.dating, &f);
  if (f.open) {  // how firm the date is: the change location's 90% credible range (whole history)
    const auto [earliest, latest] = ChangeLocationCredibleSplits(stars, s.split, o);
    f.since_earliest = std::min(f.since, sorted[earliest]->created_at);
    f.since_latest = std::max(f.since, sorted[latest]->created_at);
  }
  int low_before = 0, low_after = 0;
  for (int i = 0; i < s.split; ++i) low_before += sorted[i]->rating <= 2;
  for (int i = s.split; i < s.split + f.after_reviews; ++i) low_after += sorted[i]->rating <= 2;
  f.meets_effect = f.before - f.after >= o.min_rating_drop &&
                   static_cast<double>(low_after) / f.after_reviews -
                           static_cast<double>(low_before) / std::max(1, f.before_reviews) >=
                       o.min_low_share_rise;
  const double line = std::min(2.0, f.before - 1);
  f.evidence = Evidence(
      sorted, s.split, s.split + f.after_reviews, [&](const ReviewFact& r) { return r.rating <= line; },
      o.max_evidence);
  f.message = absl::StrFormat("%s: average rating %.2f stars (%d reviews), was %.2f (%d reviews before)",
                              Period(f), f.after, f.after_reviews, f.before, f.before_reviews);
  if (f.since_earliest != absl::InfinitePast() && Day(f.since_earliest) != Day(f.since_latest)) {
    absl::StrAppendFormat(&f.message, "; the change could have started between %s and %s",
                          Day(f.since_earliest), Day(f.since_latest));
  }
  return f;
}

}  // namespace

std::vector<const ReviewFact*> ReviewsInOrder(const std::vector<ReviewFact>& facts, absl::Time now) {
  std::vector<const ReviewFact*> sorted;
  for (const ReviewFact& f : facts)
    if (f.created_at <= now) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const ReviewFact* a, const ReviewFact* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at : a->id < b->id;
  });
  return sorted;
}

std::vector<int> SplitGrid(int n, const ChangeOptions& o) {
  return Grid(n, o.min_after, o.min_before, o.grid_ratio);
}

std::pair<int, int> RefineWindow(int k0, int n, const ChangeOptions& o) {
  const double r2 = o.grid_ratio * o.grid_ratio;
  return {std::max(o.min_after, static_cast<int>(k0 / r2)),
          std::min(n - o.min_before, static_cast<int>(std::ceil(k0 * r2)))};
}

double HypergeometricUpperTail(int x, int total, int successes, int draws) {
  const int hi = std::min(successes, draws);
  if (x <= std::max(0, draws - (total - successes))) return 1;
  double p = 0;
  for (int i = x; i <= hi; ++i) p += HypergeometricPmf(i, total, successes, draws);
  return std::min(1.0, p);
}

double BinomialLowerTail(int x, int n, double p) {
  if (x >= n) return 1;
  if (x < 0) return 0;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  double sum = 0;
  for (int i = 0; i <= x; ++i) sum += std::exp(LogChoose(n, i) + i * std::log(p) + (n - i) * std::log1p(-p));
  return std::min(1.0, sum);
}

std::vector<ChangeFinding> TestProductChanges(const std::string& product_id,
                                              const std::vector<ReviewFact>& facts, absl::Time now,
                                              const ChangeOptions& o) {
  std::vector<ChangeFinding> out;
  const std::vector<const ReviewFact*> sorted = ReviewsInOrder(facts, now);
  const int n = static_cast<int>(sorted.size());
  if (n < o.min_after + o.min_before) return out;

  auto base = [&](const char* kind, const std::string& metric) {
    ChangeFinding f;
    f.product_id = product_id;
    f.kind = kind;
    f.metric = metric;
    return f;
  };

  SeriesResult low_series;   // eb_date_by_low_share: the 1-2 star share's own split (stars at it)
  SeriesResult stars_split;  // eb_stars_dating: the star-levels test's own split (stars at it)
  SeriesResult redated;      // redate_when_eb_decides: RedatedRatingSplit's
  std::vector<double> stars;
  // Average rating and sentiment: by default one permutation test judges both (one member of the product's
  // family, not two; a change may move the stars, the sentiment or both), each metric dated by its own
  // split search and alerting on its own effect size. kStandardisedSum tests and dates their sum only;
  // kSeparate tests each alone.
  {
    std::vector<double> sentiment;
    for (const ReviewFact* f : sorted) {
      stars.push_back(f->rating);
      sentiment.push_back(f->sentiment);
    }
    SeriesResult rating_series, sentiment_series;
    if (o.quality_test == QualityTest::kStandardisedSum) {
      const SeriesResult combined =
          TestSeries(StandardisedSum(stars, sentiment, o.rating_variance_floor, o.sentiment_variance_floor),
                     {false, -1, o.combined_variance_floor}, o, StableSeed(product_id, "quality"));
      rating_series = AtSplitOf(combined, stars);
      sentiment_series = AtSplitOf(combined, sentiment);
    } else if (o.quality_test == QualityTest::kJointScan) {
      // Each metric dated by its own split search; one permutation test of the largest shift of the stars,
      // the sentiment or their standardised sum judges both.
      ChangeOptions own = o;
      own.permutations = 0;
      rating_series = TestSeries(stars, {false, -1, o.rating_variance_floor}, own);
      sentiment_series = TestSeries(sentiment, {false, -1, o.sentiment_variance_floor}, own);
      if (rating_series.tested && o.permutations > 0) {
        const std::vector<double> sum =
            StandardisedSum(stars, sentiment, o.rating_variance_floor, o.sentiment_variance_floor);
        std::vector<const std::vector<double>*> scanned = {&stars, &sentiment, &sum};
        std::vector<double> floors = {o.rating_variance_floor, o.sentiment_variance_floor,
                                      o.combined_variance_floor};
        std::vector<double> not_low;  // 1 for a review above 2 stars: its drop is a rise of the low share
        if (o.scan_low_share) {
          for (double v : stars) not_low.push_back(v > 2 ? 1 : 0);
          scanned.push_back(&not_low);
          floors.push_back(o.low_share_variance_floor);
        }
        std::vector<int> levels;
        if (o.scan_star_levels) {
          for (double v : stars) levels.push_back(std::clamp(static_cast<int>(std::lround(v)), 1, 5) - 1);
        }
        const double p = PermutationScanP(scanned, floors, Grid(n, o.min_after, o.min_before, o.grid_ratio),
                                          -1, o.permutations, StableSeed(product_id, "quality"),
                                          o.scan_star_levels ? &levels : nullptr);
        rating_series.p = sentiment_series.p = p;
      } else {
        rating_series.p = sentiment_series.p =
            std::min(1.0, 2 * std::min(rating_series.p, sentiment_series.p));
      }
    } else {
      rating_series = TestSeries(stars, {false, -1, o.rating_variance_floor}, o,
                                 StableSeed(product_id, "average_rating"));
      sentiment_series = TestSeries(sentiment, {false, -1, o.sentiment_variance_floor}, o,
                                    StableSeed(product_id, "sentiment"));
    }
    if (rating_series.tested && rating_series.recovery < 0) {  // re-dating: measured, not kept (README)
      SeriesResult moved = rating_series;
      moved.split = RedatedRatingSplit(stars, rating_series.split, o, sentiment);
      if (moved.split != rating_series.split)
        (o.redate_when_eb_decides ? redated : rating_series) = AtSplitOf(moved, stars);
    }
    if (rating_series.tested && o.eb_date_by_low_share && (o.eb_low_share || o.eb_stars)) {
      std::vector<double> low;
      for (double v : stars) low.push_back(v <= 2 ? 1 : 0);
      ChangeOptions own = o;
      own.permutations = 0;
      low_series = TestSeries(low, {true, +1, 0}, own);
      if (low_series.tested) low_series = AtSplitOf(low_series, stars);
    }
    if (rating_series.tested && o.eb_low_share && o.eb_model != nullptr &&
        o.quality_test == QualityTest::kJointScan && o.calibration == ChangeCalibration::kPerProduct) {
      ChangeFinding f = base("rating_drop", kEbMember);
      f.p_value = f.test_p_value =
          o.eb_model->PValue(o.eb_model->Levels(stars), Grid(n, o.min_after, o.min_before, o.grid_ratio));
      out.push_back(std::move(f));
    }
    if (rating_series.tested && o.eb_stars && o.eb_stars_model != nullptr &&
        o.quality_test == QualityTest::kJointScan && o.calibration == ChangeCalibration::kPerProduct) {
      ChangeFinding f = base("rating_drop", kEbStarsMember);
      const std::vector<int> levels = o.eb_stars_model->Levels(stars);
      const std::vector<int> grid = Grid(n, o.min_after, o.min_before, o.grid_ratio);
      f.p_value = f.test_p_value = o.eb_stars_model->PValue(levels, grid);
      if (o.eb_stars_dating) {
        stars_split.tested = true;
        stars_split.split = n - o.eb_stars_model->MostSurprisingAfter(levels, grid);
        stars_split = AtSplitOf(stars_split, stars);
      }
      out.push_back(std::move(f));
    }
    if (rating_series.tested)
      out.push_back(
          RatingFinding(rating_series, sorted, stars, now, o, base("rating_drop", "average_rating")));
    if (sentiment_series.tested) {
      const SeriesResult& s = sentiment_series;
      ChangeFinding f = base("sentiment_drop", "sentiment");
      FillFromSeries(s, sorted, now, o.dating, &f);
      f.meets_effect = f.before - f.after >= o.min_sentiment_drop;
      const double line = std::min(0.0, f.after);
      f.evidence = Evidence(
          sorted, s.split, s.split + f.after_reviews,
          [&](const ReviewFact& r) { return r.sentiment <= line; }, o.max_evidence);
      f.message = absl::StrFormat("%s: review sentiment %.2f (%d reviews), was %.2f (%d reviews before)",
                                  Period(f), f.after, f.after_reviews, f.before, f.before_reviews);
      out.push_back(std::move(f));
    }
  }
  // Each issue's share of reviews (categories mentioned at least min_issue_count times).
  {
    std::map<std::string, int> mentions;
    for (const ReviewFact* f : sorted) {
      std::set<std::string> seen(f->issues.begin(), f->issues.end());
      for (const auto& c : seen) ++mentions[c];
    }
    for (const auto& [category, count] : mentions) {
      if (count < o.min_issue_count) continue;
      std::vector<double> x;
      auto has = [&category](const ReviewFact& r) {
        return std::find(r.issues.begin(), r.issues.end(), category) != r.issues.end();
      };
      for (const ReviewFact* f : sorted) x.push_back(has(*f) ? 1 : 0);
      const SeriesResult s = TestSeries(x, {true, +1, 0}, o);
      if (!s.tested) continue;
      ChangeFinding f = base("issue_spike", "issue_share:" + category);
      FillFromSeries(s, sorted, now, o.dating, &f);
      const int mentions_after = static_cast<int>(std::lround(f.after * f.after_reviews));
      const int mentions_before = static_cast<int>(std::lround(f.before * f.before_reviews));
      f.meets_effect = f.after - f.before >= o.min_issue_rise && f.after >= o.issue_ratio * f.before &&
                       mentions_after >= o.min_issue_count;
      f.evidence = Evidence(sorted, s.split, s.split + f.after_reviews, has, o.max_evidence);
      f.message = absl::StrFormat("%s: \"%s\" in %.0f%% of reviews (%d of %d), was %.0f%% (%d of %d)",
                                  Period(f), category, 100 * f.after, mentions_after, f.after_reviews,
                                  100 * f.before, mentions_before, f.before_reviews);
      out.push_back(std::move(f));
    }
  }
  // Review velocity: reviews per week after a split time against before it (the history starts at the
  // product's first review), on a geometric grid of "after" durations.
  {
    const absl::Time first = sorted.front()->created_at;
    const double span_days = absl::ToDoubleHours(now - first) / 24;
    std::vector<double> days;
    for (double d = o.min_velocity_days; d < span_days; d *= o.grid_ratio) days.push_back(d);
    auto count_after = [&](absl::Time t) {
      return static_cast<int>(sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), t,
                                                              [](const ReviewFact* r, absl::Time v) {
                                                                return r->created_at < v;
                                                              }));
    };
    std::vector<double> usable;
    for (double d : days) {
      if (n - count_after(now - absl::Hours(24) * d) >= o.min_velocity_before) usable.push_back(d);
    }
    if (!usable.empty()) {
      double best_p = 2, best_d = usable.front();
      for (double d : usable) {
        const int after = count_after(now - absl::Hours(24) * d);
        const double pd = BinomialLowerTail(after, n, d / span_days);
        if (pd < best_p) best_p = pd, best_d = d;
      }
      ChangeFinding f = base("velocity_drop", "review_velocity");
      f.p_value = std::min(1.0, best_p * usable.size());
      f.test_p_value = f.p_value;
      double min_p = 1;  // no review at all after the split: the smallest p the history allows (Tarone)
      for (double d : usable) min_p = std::min(min_p, BinomialLowerTail(0, n, d / span_days));
      f.min_p_value = std::min(1.0, min_p * usable.size());
      // Refine: the maximum-likelihood split time (two Poisson rates) among review times near the grid point.
      const absl::Time lo = now - absl::Hours(24) * best_d * o.grid_ratio * o.grid_ratio;
      const absl::Time hi = now - absl::Hours(24) * std::max<double>(o.min_velocity_days / 2.0,
                                                                     best_d / (o.grid_ratio * o.grid_ratio));
      absl::Time split = now - absl::Hours(24) * best_d;
      double best_gain = -1;
      const double total_h = absl::ToDoubleHours(now - first);
      for (const ReviewFact* r : sorted) {
        if (r->created_at < lo || r->created_at > hi) continue;
        const double t2 = absl::ToDoubleHours(now - r->created_at), t1 = total_h - t2;
        const int x2 = count_after(r->created_at), x1 = n - x2;
        if (t1 <= 0 || t2 <= 0 || x1 <= 0 || x2 * t1 >= x1 * t2) continue;
        const double g =
            x1 * std::log(x1 / t1) + (x2 > 0 ? x2 * std::log(x2 / t2) : 0) - n * std::log(n / total_h);
        if (g > best_gain) best_gain = g, split = r->created_at;
      }
      const double after_days = absl::ToDoubleHours(now - split) / 24, before_days = span_days - after_days;
      const int after = count_after(split);
      f.since = split;
      if (after < n) f.changed_after = sorted[n - after - 1]->created_at;
      f.after_reviews = after;
      f.before_reviews = n - after;
      f.after = after_days > 0 ? after / after_days * kDaysPerWeek : 0;
      f.before = before_days > 0 ? f.before_reviews / before_days * kDaysPerWeek : 0;
      f.meets_effect = f.after <= o.max_velocity_ratio * f.before;
      f.message = absl::StrFormat("%s: %.2f reviews a week (%d reviews), was %.2f (%d reviews before)",
                                  Period(f), f.after, f.after_reviews, f.before, f.before_reviews);
      out.push_back(std::move(f));
    }
  }
  if (o.calibration == ChangeCalibration::kPerProduct) AdjustWithinProduct(o, &out);
  // The empirical-Bayes members' verdicts are the average rating's (its effect size still applies).
  for (const char* member : {kEbMember, kEbStarsMember}) {
    auto eb =
        std::find_if(out.begin(), out.end(), [&](const ChangeFinding& f) { return f.metric == member; });
    if (eb == out.end()) continue;
    for (ChangeFinding& f : out) {
      if (f.metric != "average_rating") continue;
      const SeriesResult& dated_at = redated.tested                                   ? redated
                                     : member == kEbStarsMember && stars_split.tested ? stars_split
                                                                                      : low_series;
      if (dated_at.tested && eb->p_value < f.p_value) {
        const double p = f.p_value, test_p = f.test_p_value;  // dated at the low share's split, same p
        f = RatingFinding(dated_at, sorted, stars, now, o, base("rating_drop", "average_rating"));
        f.p_value = p, f.test_p_value = test_p;
      }
      f.p_value = std::min(f.p_value, eb->p_value);
      f.test_p_value = std::min(f.test_p_value, eb->test_p_value);
    }
    out.erase(eb);
  }
  return out;
}

std::vector<ChangeFinding> DetectChanges(const std::map<std::string, std::vector<ReviewFact>>& products,
                                         absl::Time now, const ChangeOptions& given) {
  ChangeOptions options = given;
  if (options.eb_low_share && options.eb_model == nullptr) options.eb_model = FitLowShareModel(products, now);
  if (options.eb_stars && options.eb_stars_model == nullptr)
    options.eb_stars_model = FitStarLevelsModel(products, now, options.eb_stars_statistic);
  std::vector<ChangeFinding> tests;
  for (const auto& [id, facts] : products) {
    std::vector<ChangeFinding> t = TestProductChanges(id, facts, now, options);
    tests.insert(tests.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  }
  return SelectChanges(tests, options);
}

}  // namespace marketlens::analyzer
