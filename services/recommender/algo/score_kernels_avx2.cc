// AVX2 versions of the scoring kernels (score_kernels.h): one 8-float register holds the eight lane sums
// that the portable version keeps in two 4-float registers, so the operations and their order are the
// same and the scores bit-identical. Built with -mavx2 and -ffp-contract=off (a multiply then an add, never
// fused) in its own cc_library and called only after ScoreCpuHasAvx2() (run-time dispatch; the rest of
// the binary stays baseline x86-64 so the images run on any node).
//
// As in als_kernels_avx2.cc: every inline function or template instantiated here is compiled with AVX2
// enabled, and the linker keeps one copy of a weak symbol shared with other files, possibly this one (SIGILL
// on CPUs without AVX2). So this file includes only <immintrin.h> (always-inline intrinsics) and
// score_kernels.h (declarations and a plain aggregate), keeps its helpers in an anonymous namespace, and
// exports exactly the two kernels.
#include <immintrin.h>

#include "services/recommender/algo/score_kernels.h"

namespace marketlens::recommender {
namespace {

// The eight lane sums reduced in the header's order.
inline float Reduce(__m256 acc) {
  const __m128 t = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));
  return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

// Eight rows at a time (independent sums, so their additions overlap); each row's arithmetic is the same.
void DotRows8(const float* r, int k, int k8, const float* x, float* out) {
  __m256 acc[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_ps();
  for (int j = 0; j < k8; j += 8) {
    const __m256 xv = _mm256_loadu_ps(x + j);
#pragma GCC unroll 8
    for (int q = 0; q < 8; ++q) {
      acc[q] = _mm256_add_ps(acc[q], _mm256_mul_ps(_mm256_loadu_ps(r + static_cast<long>(q) * k + j), xv));
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) {
    const float* row = r + static_cast<long>(q) * k;
    float s = Reduce(acc[q]);
    for (int j = k8; j < k; ++j) s += row[j] * x[j];
    out[q] = s;
  }
}

float Dot(const float* row, int k, int k8, const float* x) {
  __m256 acc = _mm256_setzero_ps();
  for (int j = 0; j < k8; j += 8) {
    acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(x + j)));
  }
  float s = Reduce(acc);
  for (int j = k8; j < k; ++j) s += row[j] * x[j];
  return s;
}

// Four items at a time: w . max(row + add, 0) and the GMF dot of each, eight independent sums.
void NcfItems4(const NcfScoreArgs& a, long i, int k8, int h8, float* out) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 g[4], m[4];
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) g[q] = m[q] = zero;
  for (int j = 0; j < k8; j += 8) {
    const __m256 xv = _mm256_loadu_ps(a.gmf + j);
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      g[q] = _mm256_add_ps(g[q], _mm256_mul_ps(_mm256_loadu_ps(a.item_gmf + (i + q) * a.k + j), xv));
    }
  }
  for (int j = 0; j < h8; j += 8) {
    const __m256 add = _mm256_loadu_ps(a.hidden + j), w = _mm256_loadu_ps(a.w_mlp + j);
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m256 v =
          _mm256_max_ps(_mm256_add_ps(_mm256_loadu_ps(a.item_hidden + (i + q) * a.h + j), add), zero);
      m[q] = _mm256_add_ps(m[q], _mm256_mul_ps(w, v));
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    const float* grow = a.item_gmf + (i + q) * a.k;
    const float* hrow = a.item_hidden + (i + q) * a.h;
    float gs = Reduce(g[q]);
    for (int j = k8; j < a.k; ++j) gs += grow[j] * a.gmf[j];
    float ms = Reduce(m[q]);
    for (int j = h8; j < a.h; ++j) {
      const float v = hrow[j] + a.hidden[j];
      ms += a.w_mlp[j] * (v > 0.0f ? v : 0.0f);
    }
    out[i + q] = (gs + a.item_bias[i + q]) + ms;
  }
}

}  // namespace

void ScoreDotRowsAvx2(const float* rows, long n, int k, const float* x, float* out) {
  const int k8 = k / 8 * 8;
  long i = 0;
  for (; i + 8 <= n; i += 8) DotRows8(rows + i * k, k, k8, x, out + i);
  for (; i < n; ++i) out[i] = Dot(rows + i * k, k, k8, x);
}

void NcfScoreItemsAvx2(const NcfScoreArgs& a, float* out) {
  const int k8 = a.k / 8 * 8, h8 = a.h / 8 * 8;
  long i = 0;
  for (; i + 4 <= a.n; i += 4) NcfItems4(a, i, k8, h8, out);
  for (; i < a.n; ++i) {
    const float* hrow = a.item_hidden + i * a.h;
    float gs = Dot(a.item_gmf + i * a.k, a.k, k8, a.gmf) + a.item_bias[i];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < h8; j += 8) {
      const __m256 v = _mm256_max_ps(_mm256_add_ps(_mm256_loadu_ps(hrow + j), _mm256_loadu_ps(a.hidden + j)),
                                     _mm256_setzero_ps());
      m = _mm256_add_ps(m, _mm256_mul_ps(_mm256_loadu_ps(a.w_mlp + j), v));
    }
    float ms = Reduce(m);
    for (int j = h8; j < a.h; ++j) {
      const float v = hrow[j] + a.hidden[j];
      ms += a.w_mlp[j] * (v > 0.0f ? v : 0.0f);
    }
    out[i] = gs + ms;
  }
}

}  // namespace marketlens::recommender
