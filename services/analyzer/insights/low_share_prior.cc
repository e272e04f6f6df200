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

// Nelder-Mead on (log alpha, log beta) of the beta-binomial negative log-likelihood.
BetaPrior MinimiseNll(const std::map<std::pair<int, int>, int>& counts, double a0, double b0) {
  auto nll = [&](const std::array<double, 2>& v) {
    const double a = std::exp(v[0]), b = std::exp(v[1]);
    if (!std::isfinite(a) || !std::isfinite(b) || a < 1e-4 || b < 1e-4 || a > 1e5 || b > 1e5) return 1e300;
    double s = 0;
    const double lb = LogBeta(a, b);
    for (const auto& [xn, c] : counts) s -= c * (LogBeta(xn.first + a, xn.second - xn.first + b) - lb);
    return s;
  };
  std::array<std::array<double, 2>, 3> p = {
      {{std::log(a0), std::log(b0)}, {std::log(a0) + 0.5, std::log(b0)}, {std::log(a0), std::log(b0) + 0.5}}};
  std::array<double, 3> f = {nll(p[0]), nll(p[1]), nll(p[2])};
  for (int it = 0; it < 500; ++it) {
    std::array<int, 3> o = {0, 1, 2};
    std::sort(o.begin(), o.end(), [&](int i, int j) { return f[i] < f[j]; });
    const int best = o[0], mid = o[1], worst = o[2];
    if (std::fabs(f[worst] - f[best]) < 1e-10 && it > 20) break;
    const std::array<double, 2> c = {(p[best][0] + p[mid][0]) / 2, (p[best][1] + p[mid][1]) / 2};
    auto along = [&](double t) {
      return std::array<double, 2>{c[0] + t * (p[worst][0] - c[0]), c[1] + t * (p[worst][1] - c[1])};
    };
    const std::array<double, 2> r = along(-1);
    const double fr = nll(r);
    if (fr < f[best]) {
      const std::array<double, 2> e = along(-2);
      const double fe = nll(e);
      if (fe < fr)
        p[worst] = e, f[worst] = fe;
      else
        p[worst] = r, f[worst] = fr;
    } else if (fr < f[mid]) {
      p[worst] = r, f[worst] = fr;
    } else {
      const std::array<double, 2> k = along(0.5);
      const double fk = nll(k);
      if (fk < f[worst]) {
        p[worst] = k, f[worst] = fk;
      } else {  // shrink towards the best
        for (int i : {mid, worst}) {
          p[i] = {(p[i][0] + p[best][0]) / 2, (p[i][1] + p[best][1]) / 2};
          f[i] = nll(p[i]);
        }
      }
    }
  }
  const int best = static_cast<int>(std::min_element(f.begin(), f.end()) - f.begin());
  return {std::exp(p[best][0]), std::exp(p[best][1])};
}

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

LowShareEmpiricalBayes::LowShareEmpiricalBayes(BetaPrior prior, int simulations, uint64_t seed)
    : prior_(prior), simulations_(simulations), seed_(seed) {}

double LowShareEmpiricalBayes::Statistic(const std::vector<int>& low, const std::vector<int>& grid) const {
  const int n = static_cast<int>(low.size());
  std::vector<int> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + (low[i] != 0);
  double best = 1;
  for (int k : grid) {
    const int nb = n - k, xb = prefix[nb], xa = prefix[n] - xb;
    best = std::min(best, BetaBinomialUpperTail(xa, k, prior_.alpha + xb, prior_.beta + nb - xb));
  }
  return best;
}

const std::vector<double>& LowShareEmpiricalBayes::Null(int n, const std::vector<int>& grid) {
  auto key = std::make_pair(n, grid);
  auto it = null_.find(key);
  if (it != null_.end()) return it->second;
  // Rows of tails per grid point and count before, computed when a simulation first needs them.
  std::vector<std::vector<std::vector<double>>> rows(grid.size());
  for (size_t g = 0; g < grid.size(); ++g) rows[g].resize(n - grid[g] + 1);
  std::mt19937_64 rng(seed_ ^ (static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ULL));
  std::gamma_distribution<double> ga(prior_.alpha, 1), gb(prior_.beta, 1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> stats;
  stats.reserve(simulations_);
  std::vector<int> prefix(n + 1, 0);
  for (int s = 0; s < simulations_; ++s) {
    const double x = ga(rng), y = gb(rng);
    const double theta = x + y > 0 ? x / (x + y) : 0;
    for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + (u(rng) < theta);
    double best = 1;
    for (size_t g = 0; g < grid.size(); ++g) {
      const int k = grid[g], nb = n - k, xb = prefix[nb], xa = prefix[n] - xb;
      if (xa == 0) continue;
      std::vector<double>& row = rows[g][xb];
      if (row.empty()) row = UpperTails(k, prior_.alpha + xb, prior_.beta + nb - xb);
      best = std::min(best, row[xa]);
    }
    stats.push_back(best);
  }
  std::sort(stats.begin(), stats.end());
  return null_.emplace(std::move(key), std::move(stats)).first->second;
}

double LowShareEmpiricalBayes::PValue(const std::vector<int>& low, const std::vector<int>& grid) {
  if (grid.empty()) return 1;
  const double observed = Statistic(low, grid);
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<double>& null = Null(static_cast<int>(low.size()), grid);
  const size_t as_small = std::upper_bound(null.begin(), null.end(), observed) - null.begin();
  return (1.0 + as_small) / (1.0 + null.size());
}

}  // namespace marketlens::analyzer
