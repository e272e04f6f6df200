#include "services/recommender/serving/experiments.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace marketlens::recommender {
namespace {

uint64_t Fnv1a(uint64_t h, absl::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64's finaliser: FNV alone leaves similar inputs (u1, u2, ...) correlated in the high bits.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Regularised lower incomplete gamma P(a, x) (series / continued fraction, Numerical Recipes 6.2).
double GammaP(double a, double x) {
  if (x <= 0) return 0;
  const double gln = std::lgamma(a);
  if (x < a + 1) {
    double ap = a, sum = 1.0 / a, del = sum;
    for (int n = 0; n < 500; ++n) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * 1e-15) break;
    }
    return sum * std::exp(-x + a * std::log(x) - gln);
  }
  double b = x + 1 - a, c = 1.0 / 1e-300, d = 1.0 / b, h = d;
  for (int i = 1; i < 500; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::fabs(c) < 1e-300) c = 1e-300;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15) break;
  }
  return 1.0 - std::exp(-x + a * std::log(x) - gln) * h;
}

}  // namespace

absl::Status ExperimentSpec::Validate() const {
  if (id.empty()) return absl::InvalidArgumentError("experiment id is required");
  if (!(traffic > 0 && traffic <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("experiment traffic must be in (0, 1], got ", traffic));
  }
  if (variants.size() < 2) return absl::InvalidArgumentError("an experiment needs at least 2 variants");
  absl::flat_hash_set<std::string> names;
  for (const auto& v : variants) {
    if (v.name.empty()) return absl::InvalidArgumentError("every variant needs a name");
    if (!names.insert(v.name).second)
      return absl::InvalidArgumentError(absl::StrCat("duplicate variant `", v.name, "`"));
    if (!(v.weight > 0))
      return absl::InvalidArgumentError(absl::StrCat("variant `", v.name, "` needs a weight > 0"));
  }
  return absl::OkStatus();
}

double HashUnit(absl::string_view salt, absl::string_view purpose, absl::string_view user_id) {
  uint64_t h = 1469598103934665603ull;
  h = Fnv1a(h, salt);
  h = Fnv1a(h, "\x1f");
  h = Fnv1a(h, purpose);
  h = Fnv1a(h, "\x1f");
  h = Fnv1a(h, user_id);
  return static_cast<double>(Mix(h) >> 11) * 0x1.0p-53;
}

bool CoversSurface(const ExperimentSpec& e, absl::string_view surface) {
  return e.surfaces.empty() || std::find(e.surfaces.begin(), e.surfaces.end(), surface) != e.surfaces.end();
}

std::optional<std::string> AssignVariant(const ExperimentSpec& e, absl::string_view user_id) {
  if (e.variants.empty()) return std::nullopt;
  const std::string& salt = e.salt.empty() ? e.id : e.salt;
  if (HashUnit(salt, "traffic", user_id) >= e.traffic) return std::nullopt;
  double total = 0;
  for (const auto& v : e.variants) total += std::max(0.0, v.weight);
  if (total <= 0) return std::nullopt;
  const double x = HashUnit(salt, "variant", user_id) * total;
  double cumulative = 0;
  for (const auto& v : e.variants) {
    cumulative += std::max(0.0, v.weight);
    if (x < cumulative) return v.name;
  }
  return e.variants.back().name;
}

Assignment ChooseAssignment(const std::vector<ExperimentSpec>& experiments, absl::string_view surface,
                            absl::string_view user_id) {
  if (user_id.empty()) return {};
  for (const ExperimentSpec& e : experiments) {
    if (!CoversSurface(e, surface)) continue;
    std::optional<std::string> name = AssignVariant(e, user_id);
    if (!name) continue;
    for (const auto& v : e.variants) {
      if (v.name == *name) return {&e, &v};
    }
  }
  return {};
}

Interval WilsonInterval(int64_t successes, int64_t trials, double z) {
  if (trials <= 0) return {};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double TwoProportionPValue(int64_t x1, int64_t n1, int64_t x2, int64_t n2) {
  if (n1 <= 0 || n2 <= 0) return 1;
  const double p1 = static_cast<double>(x1) / n1, p2 = static_cast<double>(x2) / n2;
  const double pooled = static_cast<double>(x1 + x2) / (n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  if (se <= 0) return 1;
  const double z = (p1 - p2) / se;
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

double ChiSquareSurvival(double x, int df) {
  if (df <= 0) return 1;
  if (x <= 0) return 1;
  return std::clamp(1.0 - GammaP(df / 2.0, x / 2.0), 0.0, 1.0);
}

double ChiSquarePValue(const std::vector<int64_t>& successes, const std::vector<int64_t>& trials) {
  int64_t total_s = 0, total_n = 0;
  int groups = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    if (trials[i] <= 0) continue;
    total_s += successes[i];
    total_n += trials[i];
    ++groups;
  }
  if (groups < 2 || total_n == 0 || total_s == 0 || total_s == total_n) return 1;
  const double p = static_cast<double>(total_s) / total_n;
  double chi2 = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    if (trials[i] <= 0) continue;
    const double es = trials[i] * p, ef = trials[i] * (1 - p);
    const double os = successes[i], of = trials[i] - successes[i];
    chi2 += (os - es) * (os - es) / es + (of - ef) * (of - ef) / ef;
  }
  return ChiSquareSurvival(chi2, groups - 1);
}

}  // namespace marketlens::recommender
