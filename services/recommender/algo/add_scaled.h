// out[i] += scale * x[i] for i < n, four floats at a time with SSE2 (part of every x86-64 CPU). Each element
// gets the same two roundings (a product, then a sum) as the scalar loop, so results are bit-identical to
// it: the ALS fold-in and the engine's blend of personal signals rely on that.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_ADD_SCALED_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_ADD_SCALED_H_

#include <emmintrin.h>

#include <cstdint>

namespace marketlens::recommender {

inline void AddScaled(float* out, const float* x, float scale, int64_t n) {
  const __m128 s4 = _mm_set1_ps(scale);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    _mm_storeu_ps(out + i, _mm_add_ps(_mm_loadu_ps(out + i), _mm_mul_ps(s4, _mm_loadu_ps(x + i))));
  }
  for (; i < n; ++i) out[i] += scale * x[i];
}

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_ADD_SCALED_H_
