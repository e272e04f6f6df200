#include "services/analyzer/insights/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace marketlens::analyzer {
namespace {

// Continued fraction for the incomplete beta function (modified Lentz).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr int kMaxIterations = 300;
  constexpr double kEps = 1e-14, kTiny = 1e-300;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double ln_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(ln_front);
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
}

double StudentTCdf(double t, double df) {
  if (!(df > 0)) return 0.5;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  const double x = df / (df + t * t);
  const double tail = 0.5 * RegularizedIncompleteBeta(df / 2, 0.5, x);  // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

TestResult WelchTTest(const Moments& a, const Moments& b) {
  TestResult r;
  if (a.n < 2 || b.n < 2) return r;
  const double va = a.variance() / a.n, vb = b.variance() / b.n;
  const double se2 = va + vb;
  if (!(se2 > 0)) return r;
  r.statistic = (b.mean - a.mean) / std::sqrt(se2);
  r.df = se2 * se2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
  r.p_less = StudentTCdf(r.statistic, r.df);
  r.p_greater = 1 - r.p_less;
  r.p_two_sided = std::min(1.0, 2 * std::min(r.p_less, r.p_greater));
  r.valid = true;
  return r;
}

TestResult TwoProportionZTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  TestResult r;
  if (n1 <= 0 || n2 <= 0) return r;
  const double p1 = static_cast<double>(x1) / n1, p2 = static_cast<double>(x2) / n2;
  const double pooled = static_cast<double>(x1 + x2) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  if (!(se > 0)) return r;
  r.statistic = (p2 - p1) / se;
  r.p_less = NormalCdf(r.statistic);
  r.p_greater = 1 - r.p_less;
  r.p_two_sided = std::min(1.0, 2 * std::min(r.p_less, r.p_greater));
  r.valid = true;
  return r;
}

double Slope(const std::vector<double>& y) {
  const size_t n = y.size();
  if (n < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    sx += i;
    sy += y[i];
    sxx += static_cast<double>(i) * i;
    sxy += i * y[i];
  }
  const double denom = n * sxx - sx * sx;
  return denom == 0 ? 0 : (n * sxy - sx * sy) / denom;
}

PrefixSums::PrefixSums(const std::vector<double>& x) {
  for (double v : x) {
    s.push_back(s.back() + v);
    ss.push_back(ss.back() + v * v);
  }
}

Moments PrefixSums::Segment(int from, int to, double variance_floor) const {
  Moments m;
  m.n = to - from;
  if (m.n <= 0) return m;
  const double sum = s[to] - s[from], sq = ss[to] - ss[from];
  m.mean = sum / m.n;
  const double var = m.n > 1 ? std::max(0.0, (sq - sum * sum / m.n) / (m.n - 1)) : 0;
  m.m2 = std::max(var, variance_floor) * (m.n - 1);
  return m;
}

double MeanShiftP(const PrefixSums& p, int b0, int b1, int a0, int a1, int direction, double floor) {
  const Moments b = p.Segment(b0, b1, 0), a = p.Segment(a0, a1, 0);
  const double df = static_cast<double>(a.n + b.n - 2);
  if (a.n < 1 || b.n < 1 || df < 1) return 1;
  const double pooled = std::max(floor, (a.m2 + b.m2) / df);
  const double t = (a.mean - b.mean) / std::sqrt(pooled * (1.0 / a.n + 1.0 / b.n));
  const double p_less = StudentTCdf(t, df);
  return direction < 0 ? p_less : 1 - p_less;
}

std::vector<double> StandardisedSum(const std::vector<double>& a, const std::vector<double>& b,
                                    double floor_a, double floor_b) {
  auto standardise = [](const std::vector<double>& x, double floor) {
    double mean = 0, sq = 0;
    for (double v : x) mean += v;
    mean /= x.size();
    for (double v : x) sq += (v - mean) * (v - mean);
    const double sd = std::sqrt(std::max(floor, x.size() > 1 ? sq / (x.size() - 1) : 0));
    std::vector<double> z;
    for (double v : x) z.push_back((v - mean) / sd);
    return z;
  };
  std::vector<double> za = standardise(a, floor_a), zb = standardise(b, floor_b);
  for (size_t i = 0; i < za.size(); ++i) za[i] += zb[i];
  return za;
}

}  // namespace marketlens::analyzer
