// The statistics behind alerts and trends, dependency-free: Student's t and the normal distribution (via the
// regularised incomplete beta function and erfc), Welch's unequal-variance t-test, the two-proportion
// z-test, least-squares slopes, prefix sums with the pooled t-test of a mean shift between two segments, and
// the standardised sum of two series (stars and sentiment). An alert is
// raised when a shift is significant, not when it crosses a fixed line: a 0.3-star drop on 8 reviews of a
// noisy product is not news, on 80 reviews it is.
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

// Prefix sums of a series for O(1) moments of any segment (the change searches test many splits of one
// history).
struct PrefixSums {
  std::vector<double> s{0}, ss{0};  // s[i], ss[i]: sum and sum of squares of x[0, i)
  explicit PrefixSums(const std::vector<double>& x);
  // Moments of x[from, to), the variance floored at variance_floor.
  Moments Segment(int from, int to, double variance_floor) const;
};

// One-sided p that x[a0, a1) moved in `direction` (-1 lower, +1 higher) from x[b0, b1): Student's t-test
// with the pooled variance, floored at `floor` (under "no change" both sides share one distribution, so
// pooling is exact and gives a short history before the change the after side's degrees of freedom).
double MeanShiftP(const PrefixSums& p, int b0, int b1, int a0, int a1, int direction, double floor);

// Each element of a and of b standardised over its own series (sd floored) and summed: a series whose mean
// shift is a joint shift of both. Exchangeable elements stay exchangeable (a permutation test on the sum
// stays exact). a and b have the same length.
std::vector<double> StandardisedSum(const std::vector<double>& a, const std::vector<double>& b,
                                    double floor_a, double floor_b);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_STATS_H_
