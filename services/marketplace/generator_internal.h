// Helpers shared by generator.cc and planted_model.cc (not part of the generator's interface).
#ifndef MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_INTERNAL_H_
#define MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_INTERNAL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/time/time.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/rng.h"
#include "services/marketplace/vocabulary.h"

namespace marketlens::marketplace::generator_internal {

// Independent random streams, so that changing one part does not reshuffle the others.
enum Stream : uint64_t {
  kProducts = 1,
  kCustomers = 2,
  kSessions = 3,
  kReviews = 4,
  kCampaigns = 5,
  kContacts = 6,
  kCaptions = 7,
};

constexpr absl::Duration kDay = absl::Hours(24);

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

inline double Clamp(double v, double lo, double hi) { return std::max(lo, std::min(hi, v)); }

inline double Round(double v, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

// A time in [from, to): activity grows over time (half uniform, half weighted towards the end), and
// the time of day follows a daily curve (lunch and evening peaks).
inline absl::Time SampleTime(absl::Time from, absl::Time to, Rng& rng) {
  if (to <= from) return from;
  const double u = Uniform01(rng);
  const double x = Chance(rng, 0.5) ? u : std::sqrt(u);
  const absl::Time t = from + (to - from) * x;
  static const std::vector<double>* hours =
      new std::vector<double>(Cumulative({0.6, 0.4, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.2, 2.6, 2.8, 3.2,
                                          4.0, 3.8, 3.0, 2.8, 2.9, 3.2, 3.8, 4.6, 5.2, 5.0, 3.6, 1.6}));
  const absl::Time day = absl::FromUnixSeconds(absl::ToUnixSeconds(t) / 86400 * 86400);
  absl::Time out = day + absl::Hours(static_cast<int64_t>(PickCumulative(rng, *hours))) +
                   absl::Seconds(absl::Uniform<int>(rng, 0, 3600));
  if (out < from) out = from;
  if (out >= to) out = to - absl::Seconds(1);
  return out;
}

inline std::string AsinLike(Rng& rng) {
  static constexpr char kChars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string id = "B0";
  for (int i = 0; i < 8; ++i) id.push_back(kChars[absl::Uniform<int>(rng, 0, 36)]);
  return id;
}

inline double LogNormal(Rng& rng, double median, double sigma) {
  return median * std::exp(absl::Gaussian<double>(rng, 0.0, sigma));
}

inline const ProductKind& KindOf(const ProductPlan& p) { return Categories()[p.category].kinds[p.kind]; }

// Order of preference for the issue a deteriorating product develops.
inline const IssueSpec* DeteriorationIssue(const CategorySpec& category) {
  for (const std::string& name : DeteriorationIssues()) {
    for (const auto& i : category.issues) {
      if (i == name) return FindIssue(name);
    }
  }
  return FindIssue(category.issues.front());
}

}  // namespace marketlens::marketplace::generator_internal

#endif  // MARKETLENS_SERVICES_MARKETPLACE_GENERATOR_INTERNAL_H_
