// The statistics behind alerts and trends, dependency-free: Student's t and the normal distribution (via the
// regularised incomplete beta function and erfc), Welch's unequal-variance t-test, the two-proportion
// z-test, and least-squares slopes. An alert is raised when a shift is significant, not when it crosses a
// fixed line: a 0.3-star drop on 8 reviews of a noisy product is not news, on 80 reviews it is.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STATS_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STATS_H_

#include <cstdint>
#include <vector>

namespace marketlens::analyzer {

// Running mean/variance (Welford).
struct Moments {
  int64_t n = 0;
  double mean = 0;
  double m2 = 0;
  void Add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  double variance() const { return n > 1 ? m2 / (n - 1) : 0; }  // sample variance
};

// I_x(a, b), the regularised incomplete beta function.
double RegularizedIncompleteBeta(double a, double b, double x);
// P(T <= t) for Student's t with `df` degrees of freedom (df may be fractional).
double StudentTCdf(double t, double df);
// P(Z <= z) for the standard normal.
double NormalCdf(double z);

struct TestResult {
  double statistic = 0;  // t or z
  double df = 0;         // Welch-Satterthwaite degrees of freedom (t-test only)
  double p_less = 1;     // one-sided p-value for "second mean/proportion is lower than the first"
  double p_greater = 1;  // ... "higher"
  double p_two_sided = 1;
  bool valid = false;  // false when a sample is too small or both variances are zero
};

// Welch's t-test of a (baseline) against b (recent).
TestResult WelchTTest(const Moments& a, const Moments& b);
// Two-proportion z-test (pooled) of x1/n1 (baseline) against x2/n2 (recent).
TestResult TwoProportionZTest(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

// Least-squares slope of y against x = 0, 1, 2, ... (0 for fewer than two points).
double Slope(const std::vector<double>& y);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STATS_H_
