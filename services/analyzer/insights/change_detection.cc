#include "services/analyzer/insights/change_detection.h"

#include <algorithm>
#include <cmath>
#include <functional>
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

// Prefix sums of a series for O(1) segment moments.
struct Prefix {
  std::vector<double> s{0}, ss{0};
  explicit Prefix(const std::vector<double>& x) {
    for (double v : x) {
      s.push_back(s.back() + v);
      ss.push_back(ss.back() + v * v);
    }
  }
  // Moments of x[from, to).
  Moments Segment(int from, int to, double variance_floor) const {
    Moments m;
    m.n = to - from;
    if (m.n <= 0) return m;
    const double sum = s[to] - s[from], sq = ss[to] - ss[from];
    m.mean = sum / m.n;
    const double var = m.n > 1 ? std::max(0.0, (sq - sum * sum / m.n) / (m.n - 1)) : 0;
    m.m2 = std::max(var, variance_floor) * (m.n - 1);
    return m;
  }
};

// One-sided p that x[a0, a1) moved in `direction` (-1 lower, +1 higher) from x[b0, b1): Student's t-test
// with the pooled variance (under "no change" both sides share one distribution, so pooling is exact and
// gives a short history before the change the after side's degrees of freedom).
double MeanShiftP(const Prefix& p, int b0, int b1, int a0, int a1, int direction, double floor) {
  const Moments b = p.Segment(b0, b1, 0), a = p.Segment(a0, a1, 0);
  const double df = static_cast<double>(a.n + b.n - 2);
  if (a.n < 1 || b.n < 1 || df < 1) return 1;
  const double pooled = std::max(floor, (a.m2 + b.m2) / df);
  const double t = (a.mean - b.mean) / std::sqrt(pooled * (1.0 / a.n + 1.0 / b.n));
  const double p_less = StudentTCdf(t, df);
  return direction < 0 ? p_less : 1 - p_less;
}

// One-sided exact p that the share of 1s in x[a0, a1) is higher (+1) / lower (-1) than in x[b0, b1).
double ShareShiftP(const Prefix& p, int b0, int b1, int a0, int a1, int direction) {
  const int xb = static_cast<int>(std::lround(p.s[b1] - p.s[b0]));
  const int xa = static_cast<int>(std::lround(p.s[a1] - p.s[a0]));
  const int total = (b1 - b0) + (a1 - a0);
  return direction > 0 ? HypergeometricUpperTail(xa, total, xa + xb, a1 - a0)
                       : HypergeometricLowerTail(xa, total, xa + xb, a1 - a0);
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

double ShiftP(const Prefix& p, const SeriesSpec& spec, int b0, int b1, int a0, int a1, int direction) {
  return spec.binary ? ShareShiftP(p, b0, b1, a0, a1, direction)
                     : MeanShiftP(p, b0, b1, a0, a1, direction, spec.variance_floor);
}

// Gain in log-likelihood of splitting x[0, n) at i (a mean shift; Gaussian with a common variance, or
// Bernoulli), counted only when the shift is in the bad direction.
double SplitGain(const Prefix& p, const SeriesSpec& spec, int i, int n) {
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

SeriesResult TestSeries(const std::vector<double>& x, const SeriesSpec& spec, const ChangeOptions& o) {
  SeriesResult r;
  const int n = static_cast<int>(x.size());
  const std::vector<int> grid = Grid(n, o.min_after, o.min_before, o.grid_ratio);
  if (grid.empty()) return r;
  const Prefix p(x);
  r.tested = true;
  int best_k = grid.front();
  double best_p = 2;
  for (int k : grid) {
    const double pk = ShiftP(p, spec, 0, n - k, n - k, n, spec.direction);
    if (pk < best_p) best_p = pk, best_k = k;
  }
  r.p = std::min(1.0, best_p * grid.size());
  if (spec.binary) {  // all mentions as late as possible: the most extreme outcome the margins allow
    const int total = static_cast<int>(std::lround(p.s[n]));
    double min_p = 1;
    for (int k : grid) min_p = std::min(min_p, HypergeometricUpperTail(std::min(total, k), n, total, k));
    r.min_p = std::min(1.0, min_p * grid.size());
  }
  // Refine the date: the maximum-likelihood split near the grid point.
  const int k_lo = std::max(o.min_after, static_cast<int>(best_k / (o.grid_ratio * o.grid_ratio)));
  const int k_hi =
      std::min(n - o.min_before, static_cast<int>(std::ceil(best_k * o.grid_ratio * o.grid_ratio)));
  int split = n - best_k;
  double best_gain = -1;
  for (int k = k_lo; k <= k_hi; ++k) {
    const double g = SplitGain(p, spec, n - k, n);
    if (g > best_gain) best_gain = g, split = n - k;
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

std::vector<std::string> Evidence(const std::vector<const ReviewFact*>& sorted, int from, int to,
                                  const std::function<bool(const ReviewFact&)>& shows, int max) {
  std::vector<std::string> out;
  for (int i = from; i < to && static_cast<int>(out.size()) < max; ++i) {
    if (!sorted[i]->id.empty() && shows(*sorted[i])) out.push_back(sorted[i]->id);
  }
  return out;
}

void FillFromSeries(const SeriesResult& s, const std::vector<const ReviewFact*>& sorted, ChangeFinding* f) {
  const int n = static_cast<int>(sorted.size());
  f->p_value = s.p;
  f->min_p_value = s.min_p;
  f->since = sorted[s.split]->created_at;
  f->before = s.before;
  f->after = s.after;
  f->before_reviews = s.split;
  f->after_reviews = (s.recovery >= 0 ? s.recovery : n) - s.split;
  f->open = s.recovery < 0;
  if (s.recovery >= 0) f->recovered_at = sorted[s.recovery]->created_at;
}

std::string Period(const ChangeFinding& f) {
  return f.open ? absl::StrFormat("Since %s", Day(f.since))
                : absl::StrFormat("From %s to %s (recovered since)", Day(f.since), Day(f.recovered_at));
}

}  // namespace

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
  std::vector<const ReviewFact*> sorted;
  for (const ReviewFact& f : facts)
    if (f.created_at <= now) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const ReviewFact* a, const ReviewFact* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at : a->id < b->id;
  });
  const int n = static_cast<int>(sorted.size());
  if (n < o.min_after + o.min_before) return out;

  auto base = [&](const char* kind, const std::string& metric) {
    ChangeFinding f;
    f.product_id = product_id;
    f.kind = kind;
    f.metric = metric;
    return f;
  };

  // Average rating.
  {
    std::vector<double> x;
    for (const ReviewFact* f : sorted) x.push_back(f->rating);
    const SeriesResult s = TestSeries(x, {false, -1, o.rating_variance_floor}, o);
    if (s.tested) {
      ChangeFinding f = base("rating_drop", "average_rating");
      FillFromSeries(s, sorted, &f);
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
      out.push_back(std::move(f));
    }
  }
  // Sentiment.
  {
    std::vector<double> x;
    for (const ReviewFact* f : sorted) x.push_back(f->sentiment);
    const SeriesResult s = TestSeries(x, {false, -1, o.sentiment_variance_floor}, o);
    if (s.tested) {
      ChangeFinding f = base("sentiment_drop", "sentiment");
      FillFromSeries(s, sorted, &f);
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
      FillFromSeries(s, sorted, &f);
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
  return out;
}

double BenjaminiHochbergThreshold(std::vector<double> p_values, double q) {
  std::sort(p_values.begin(), p_values.end());
  const double m = static_cast<double>(p_values.size());
  double threshold = 0;
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (p_values[i] <= q * (i + 1) / m) threshold = p_values[i];
  }
  return threshold;
}

double TaroneBenjaminiHochbergThreshold(const std::vector<double>& p_values,
                                        const std::vector<double>& min_p_values, double q) {
  const size_t m = p_values.size();
  std::vector<double> sorted_min(min_p_values.begin(), min_p_values.end());
  std::sort(sorted_min.begin(), sorted_min.end());
  for (size_t k = 1; k <= m; ++k) {  // the smallest K with m(K) <= K (O(m log m): the store runs this often)
    const double level = q / k;
    const size_t m_k = std::upper_bound(sorted_min.begin(), sorted_min.end(), level) - sorted_min.begin();
    if (m_k <= k) {
      std::vector<double> kept;
      kept.reserve(m_k);
      for (size_t i = 0; i < m; ++i)
        if (min_p_values[i] <= level) kept.push_back(p_values[i]);
      return BenjaminiHochbergThreshold(std::move(kept), q);
    }
  }
  return BenjaminiHochbergThreshold(p_values, q);
}

std::vector<ChangeFinding> SelectChanges(const std::vector<ChangeFinding>& tests, const ChangeOptions& o) {
  std::vector<double> ps, min_ps;
  ps.reserve(tests.size());
  min_ps.reserve(tests.size());
  for (const ChangeFinding& t : tests) {
    ps.push_back(t.p_value);
    min_ps.push_back(t.min_p_value);
  }
  const double threshold = TaroneBenjaminiHochbergThreshold(ps, min_ps, o.fdr);
  std::vector<ChangeFinding> out;
  for (const ChangeFinding& t : tests) {
    if (threshold > 0 && t.p_value <= threshold && t.meets_effect) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const ChangeFinding& a, const ChangeFinding& b) {
    return a.product_id != b.product_id ? a.product_id < b.product_id : a.metric < b.metric;
  });
  return out;
}

std::vector<ChangeFinding> DetectChanges(const std::map<std::string, std::vector<ReviewFact>>& products,
                                         absl::Time now, const ChangeOptions& options) {
  std::vector<ChangeFinding> tests;
  for (const auto& [id, facts] : products) {
    std::vector<ChangeFinding> t = TestProductChanges(id, facts, now, options);
    tests.insert(tests.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  }
  return SelectChanges(tests, options);
}

}  // namespace marketlens::analyzer
