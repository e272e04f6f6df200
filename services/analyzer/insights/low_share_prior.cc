#include "services/analyzer/insights/low_share_prior.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

namespace marketlens::analyzer {
namespace {

double LogBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// P(X >= x) for x = 0..n, X ~ BetaBinomial(n, a, b): the log pmf by its ratio recurrence, summed from the
// top. Both the observed statistic and the simulated ones read these rows, so equal counts give equal
// doubles (ties compare exactly).
std::vector<double> UpperTails(int n, double a, double b) {
  std::vector<double> log_pmf(n + 1);
  log_pmf[0] = LogBeta(a, b + n) - LogBeta(a, b);
  for (int x = 0; x < n; ++x) {
    log_pmf[x + 1] = log_pmf[x] + std::log(static_cast<double>(n - x) / (x + 1)) + std::log(x + a) -
                     std::log(b + n - x - 1);
  }
  std::vector<double> tail(n + 2, 0);
  for (int x = n; x >= 0; --x) tail[x] = std::min(1.0, tail[x + 1] + std::exp(log_pmf[x]));
  tail.pop_back();
  return tail;
}

// Nelder-Mead on the logs of the parameters (d of them, from `start`), minimising `nll`; d = 2 is the
// beta-binomial's search step for step.
template <typename Nll>
std::vector<double> MinimiseOnLogs(const Nll& nll, const std::vector<double>& start) {
  const size_t d = start.size();
  auto f_of = [&](const std::vector<double>& v) {
    for (double x : v) {
      const double a = std::exp(x);
      if (!std::isfinite(a) || a < 1e-4 || a > 1e5) return 1e300;
    }
    return nll(v);
  };
  std::vector<std::vector<double>> p(d + 1);
  for (size_t i = 0; i <= d; ++i) {
    for (double s : start) p[i].push_back(std::log(s));
    if (i > 0) p[i][i - 1] += 0.5;
  }
  std::vector<double> f(d + 1);
  for (size_t i = 0; i <= d; ++i) f[i] = f_of(p[i]);
  std::vector<size_t> o(d + 1);
  for (int it = 0; it < 250 * static_cast<int>(d); ++it) {
    for (size_t i = 0; i <= d; ++i) o[i] = i;
    std::sort(o.begin(), o.end(), [&](size_t i, size_t j) { return f[i] < f[j]; });
    const size_t best = o[0], mid = o[d - 1], worst = o[d];
    if (std::fabs(f[worst] - f[best]) < 1e-10 && it > 20) break;
    std::vector<double> c(d, 0);
    for (size_t i = 0; i < d; ++i)
      for (size_t j = 0; j < d; ++j) c[j] += p[o[i]][j];
    for (double& x : c) x /= d;
    auto along = [&](double t) {
      std::vector<double> v(d);
      for (size_t j = 0; j < d; ++j) v[j] = c[j] + t * (p[worst][j] - c[j]);
      return v;
    };
    const std::vector<double> r = along(-1);
    const double fr = f_of(r);
    if (fr < f[best]) {
      const std::vector<double> e = along(-2);
      const double fe = f_of(e);
      if (fe < fr)
        p[worst] = e, f[worst] = fe;
      else
        p[worst] = r, f[worst] = fr;
    } else if (fr < f[mid]) {
      p[worst] = r, f[worst] = fr;
    } else {
      const std::vector<double> k = along(0.5);
      const double fk = f_of(k);
      if (fk < f[worst]) {
        p[worst] = k, f[worst] = fk;
      } else {  // shrink towards the best
        for (size_t i = 1; i <= d; ++i) {
          for (size_t j = 0; j < d; ++j) p[o[i]][j] = (p[o[i]][j] + p[best][j]) / 2;
          f[o[i]] = f_of(p[o[i]]);
        }
      }
    }
  }
  const size_t best = std::min_element(f.begin(), f.end()) - f.begin();
  std::vector<double> out;
  for (double x : p[best]) out.push_back(std::exp(x));
  return out;
}

// The beta-binomial's negative log-likelihood.
BetaPrior MinimiseNll(const std::map<std::pair<int, int>, int>& counts, double a0, double b0) {
  auto nll = [&](const std::vector<double>& v) {
    const double a = std::exp(v[0]), b = std::exp(v[1]);
    double s = 0;
    const double lb = LogBeta(a, b);
    for (const auto& [xn, c] : counts) s -= c * (LogBeta(xn.first + a, xn.second - xn.first + b) - lb);
    return s;
  };
  const std::vector<double> ab = MinimiseOnLogs(nll, {a0, b0});
  return {ab[0], ab[1]};
}

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

BetaPrior FitBetaBinomial(const std::vector<std::pair<int, int>>& successes_and_trials) {
  std::map<std::pair<int, int>, int> counts;
  double sx = 0, sn = 0;
  int usable = 0;
  for (const auto& [x, n] : successes_and_trials) {
    if (n <= 0) continue;
    ++counts[{std::clamp(x, 0, n), n}];
    sx += std::clamp(x, 0, n), sn += n, ++usable;
  }
  if (usable < 2) return {};
  // Method of moments on the shares (weighted equally) for the start: mean m, variance v = m(1-m)/(a+b+1).
  const double m = std::clamp(sx / sn, 0.01, 0.99);
  double v = 0;
  for (const auto& [xn, c] : counts) {
    const double d = static_cast<double>(xn.first) / xn.second - m;
    v += c * d * d;
  }
  v /= usable;
  const double total = std::clamp(m * (1 - m) / std::max(v, 1e-6) - 1, 0.5, 1000.0);
  return MinimiseNll(counts, m * total, (1 - m) * total);
}

double BetaBinomialUpperTail(int x, int n, double a, double b) {
  if (x <= 0) return 1;
  if (x > n) return 0;
  return UpperTails(n, a, b)[x];
}

std::vector<double> FitDirichletMultinomial(const std::vector<std::vector<int>>& counts, int levels) {
  std::map<std::vector<int>, int> distinct;
  std::vector<double> sums(levels, 0);
  int usable = 0;
  for (const std::vector<int>& c : counts) {
    std::vector<int> x(levels, 0);
    int n = 0;
    for (int j = 0; j < levels && j < static_cast<int>(c.size()); ++j) n += x[j] = std::max(0, c[j]);
    if (n == 0) continue;
    ++distinct[x];
    for (int j = 0; j < levels; ++j) sums[j] += x[j];
    ++usable;
  }
  if (usable < 2) return std::vector<double>(levels, 1.0);
  // Method of moments for the start: the mean shares m_j, and the precision a0 from the levels' variances
  // of the products' shares (each m_j (1 - m_j) / (a0 + 1)), averaged over the levels.
  double total_reviews = 0;
  for (double s : sums) total_reviews += s;
  std::vector<double> m(levels);
  for (int j = 0; j < levels; ++j) m[j] = std::clamp(sums[j] / total_reviews, 0.01, 0.99);
  double precision = 0;
  for (int j = 0; j < levels; ++j) {
    double v = 0;
    for (const auto& [x, c] : distinct) {
      int n = 0;
      for (int k : x) n += k;
      const double d = static_cast<double>(x[j]) / n - m[j];
      v += c * d * d;
    }
    v /= usable;
    precision += std::clamp(m[j] * (1 - m[j]) / std::max(v, 1e-6) - 1, 0.5, 1000.0) / levels;
  }
  std::vector<double> start(levels);
  for (int j = 0; j < levels; ++j) start[j] = m[j] * precision;
  auto nll = [&](const std::vector<double>& v) {
    std::vector<double> a(levels), lg(levels);
    double a0 = 0;
    for (int j = 0; j < levels; ++j) a0 += a[j] = std::exp(v[j]), lg[j] = std::lgamma(a[j]);
    const double lg0 = std::lgamma(a0);
    double s = 0;
    for (const auto& [x, c] : distinct) {
      int n = 0;
      double l = lg0;
      for (int j = 0; j < levels; ++j) {
        n += x[j];
        if (x[j] > 0) l += std::lgamma(x[j] + a[j]) - lg[j];
      }
      s -= c * (l - std::lgamma(n + a0));
    }
    return s;
  };
  return MinimiseOnLogs(nll, start);
}

SplitEmpiricalBayes::SplitEmpiricalBayes(std::vector<double> level_prior, int simulations, uint64_t seed)
    : level_prior_(std::move(level_prior)), simulations_(simulations), seed_(seed) {}

std::vector<int> SplitEmpiricalBayes::Levels(const std::vector<double>& stars) const {
  std::vector<int> out;
  for (double s : stars) out.push_back(Level(static_cast<int>(std::lround(s))));
  return out;
}

const std::vector<double>& SplitEmpiricalBayes::Null(int n, const std::vector<int>& grid) {
  auto key = std::make_pair(n, grid);
  auto it = null_.find(key);
  if (it != null_.end()) return it->second;
  std::mt19937_64 rng(seed_ ^ (static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ULL));
  std::vector<std::gamma_distribution<double>> gammas;
  for (double a : level_prior_) gammas.emplace_back(a, 1);
  std::uniform_real_distribution<double> u(0, 1);
  const size_t k = level_prior_.size();
  std::vector<double> stats, g(k);
  stats.reserve(simulations_);
  std::vector<int> levels(n);
  for (int s = 0; s < simulations_; ++s) {
    // The product's level shares from the prior (normalised gammas), then its n reviews iid.
    double sum = 0;
    for (size_t j = 0; j < k; ++j) sum += g[j] = gammas[j](rng);
    for (int i = 0; i < n; ++i) {
      const double v = u(rng);
      size_t level = k - 1;
      if (sum > 0) {
        double cumulative = 0;
        for (size_t j = 0; j + 1 < k; ++j) {
          cumulative += g[j] / sum;
          if (v < cumulative) {
            level = j;
            break;
          }
        }
      }
      levels[i] = static_cast<int>(level);
    }
    stats.push_back(Statistic(levels, grid));
  }
  std::sort(stats.begin(), stats.end());
  while (!insertion_order_.empty() && null_.size() >= std::max<size_t>(1, max_cached_)) {
    null_.erase(insertion_order_.front());
    insertion_order_.pop_front();
  }
  insertion_order_.push_back(key);
  return null_.emplace(std::move(key), std::move(stats)).first->second;
}

void SplitEmpiricalBayes::set_max_cached(size_t entries) {
  std::lock_guard<std::mutex> lock(mu_);
  max_cached_ = entries;
}

size_t SplitEmpiricalBayes::cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return null_.size();
}

double SplitEmpiricalBayes::PValue(const std::vector<int>& levels, const std::vector<int>& grid) {
  if (grid.empty()) return 1;
  const double observed = Statistic(levels, grid);
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<double>& null = Null(static_cast<int>(levels.size()), grid);
  const size_t as_small = std::upper_bound(null.begin(), null.end(), observed) - null.begin();
  return (1.0 + as_small) / (1.0 + null.size());
}

LowShareEmpiricalBayes::LowShareEmpiricalBayes(BetaPrior prior, int simulations, uint64_t seed)
    : SplitEmpiricalBayes({prior.alpha, prior.beta}, simulations, seed) {}

double LowShareEmpiricalBayes::Statistic(const std::vector<int>& levels, const std::vector<int>& grid) const {
  const int n = static_cast<int>(levels.size());
  const BetaPrior p = prior();
  std::vector<int> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + (levels[i] == 0);
  double best = 1;
  for (int k : grid) {
    const int nb = n - k, xb = prefix[nb], xa = prefix[n] - xb;
    best = std::min(best, BetaBinomialUpperTail(xa, k, p.alpha + xb, p.beta + nb - xb));
  }
  return best;
}

StarLevelsEmpiricalBayes::StarLevelsEmpiricalBayes(std::vector<double> prior, StarsStatistic statistic,
                                                   int simulations, uint64_t seed)
    : SplitEmpiricalBayes(std::move(prior), simulations, seed), statistic_(statistic) {}

double StarLevelsEmpiricalBayes::SplitTail(const std::vector<int>& before,
                                           const std::vector<int>& after) const {
  const std::vector<double>& a = level_prior();
  const size_t levels = a.size();
  // The posterior Dirichlet(a + before); the after-window's k reviews are Dirichlet-multinomial under it.
  // S = sum (K - 1 - level) x_level: mean k mu, variance k var1 (A + k) / (A + 1) with A the posterior's
  // total, mu and var1 one review's drop mean and variance under the posterior mean shares.
  double total = 0, k = 0, s = 0;
  for (size_t j = 0; j < levels; ++j) total += a[j] + before[j], k += after[j];
  if (k <= 0) return 1;
  double mu = 0, second = 0, low_prior = 0, low_before = 0, low_after = 0;
  for (size_t j = 0; j < levels; ++j) {
    const double w = static_cast<double>(levels - 1 - j), p = (a[j] + before[j]) / total;
    mu += w * p, second += w * w * p, s += w * after[j];
    if (j < 2) low_prior += a[j], low_before += before[j], low_after += after[j];
  }
  const double variance = k * std::max(1e-12, second - mu * mu) * (total + k) / (total + 1);
  double tail = NormalUpperTail((s - k * mu) / std::sqrt(variance));
  if (statistic_ == StarsStatistic::kMeanDropOrLowShare && levels > 2) {
    tail = std::min(tail, BetaBinomialUpperTail(static_cast<int>(low_after), static_cast<int>(k),
                                                low_prior + low_before, total - low_prior - low_before));
  }
  return tail;
}

int StarLevelsEmpiricalBayes::MostSurprisingAfter(const std::vector<int>& levels,
                                                  const std::vector<int>& grid) const {
  if (grid.empty()) return 0;
  const int n = static_cast<int>(levels.size());
  const size_t k = level_prior().size();
  auto tail_at = [&](int after_count) {
    std::vector<int> before(k, 0), after(k, 0);
    for (int i = 0; i < n; ++i)
      ++(i < n - after_count ? before : after)[std::clamp<size_t>(levels[i], 0, k - 1)];
    return SplitTail(before, after);
  };
  size_t best_g = 0;
  double best = 2;
  for (size_t g = 0; g < grid.size(); ++g) {
    const double t = tail_at(grid[g]);
    if (t < best) best = t, best_g = g;
  }
  const int lo = best_g == 0 ? grid.front() : grid[best_g - 1] + 1;
  const int hi = best_g + 1 == grid.size() ? grid.back() : grid[best_g + 1] - 1;
  int best_k = grid[best_g];
  for (int a = lo; a <= hi; ++a) {
    const double t = tail_at(a);
    if (t < best) best = t, best_k = a;
  }
  return best_k;
}

double StarLevelsEmpiricalBayes::Statistic(const std::vector<int>& levels,
                                           const std::vector<int>& grid) const {
  const int n = static_cast<int>(levels.size());
  const size_t k = level_prior().size();
  std::vector<int> prefix((n + 1) * k, 0);  // prefix[i * k + j]: reviews of level j among the first i
  for (int i = 0; i < n; ++i) {
    std::copy(prefix.begin() + i * k, prefix.begin() + (i + 1) * k, prefix.begin() + (i + 1) * k);
    ++prefix[(i + 1) * k + std::clamp<size_t>(levels[i], 0, k - 1)];
  }
  double best = 1;
  std::vector<int> before(k), after(k);
  for (int g : grid) {
    for (size_t j = 0; j < k; ++j) {
      before[j] = prefix[(n - g) * k + j];
      after[j] = prefix[n * k + j] - before[j];
    }
    best = std::min(best, SplitTail(before, after));
  }
  return best;
}

}  // namespace marketlens::analyzer
