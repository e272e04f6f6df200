// Deterministic randomness for the generator and the simulated clock: one std::mt19937_64 per purpose,
// seeded from (seed, stream) through std::seed_seq, so the same seed always builds the same world and
// independent parts (products, shoppers, texts) do not shift each other's draws. Distributions are
// Abseil's, which are portable given the engine (std:: distributions are implementation-defined).
#ifndef MARKETLENS_SERVICES_MARKETPLACE_RNG_H_
#define MARKETLENS_SERVICES_MARKETPLACE_RNG_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/types/span.h"

namespace marketlens::marketplace {

using Rng = std::mt19937_64;

// An engine for one purpose (`stream`) of one world (`seed`).
inline Rng MakeRng(uint64_t seed, uint64_t stream) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32), 0x6d6c656eu};
  return Rng(seq);
}

// True with probability p.
inline bool Chance(Rng& rng, double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return absl::Bernoulli(rng, p);
}

// Uniform in [lo, hi] (both included).
inline int UniformInt(Rng& rng, int lo, int hi) { return absl::Uniform(absl::IntervalClosed, rng, lo, hi); }
inline double Uniform01(Rng& rng) { return absl::Uniform(rng, 0.0, 1.0); }
inline double UniformReal(Rng& rng, double lo, double hi) { return absl::Uniform(rng, lo, hi); }

// One element, uniformly. `items` must not be empty.
template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& items) {
  return items[absl::Uniform<size_t>(rng, 0, items.size())];
}
template <typename T>
const T& Pick(Rng& rng, absl::Span<const T> items) {
  return items[absl::Uniform<size_t>(rng, 0, items.size())];
}

// An index drawn with probability proportional to weights[i] (cumulative weights, ascending; the last is
// the total). Binary search: O(log n).
inline size_t PickCumulative(Rng& rng, const std::vector<double>& cumulative) {
  const double total = cumulative.back();
  const double u = absl::Uniform(rng, 0.0, total);
  size_t lo = 0, hi = cumulative.size() - 1;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (cumulative[mid] > u) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

inline std::vector<double> Cumulative(const std::vector<double>& weights) {
  std::vector<double> out(weights.size());
  double sum = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    sum += weights[i] > 0 ? weights[i] : 0;
    out[i] = sum;
  }
  return out;
}

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_RNG_H_
