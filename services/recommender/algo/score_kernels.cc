// The portable scoring kernels (SSE2: two 4-float registers hold the eight lane sums of score_kernels.h)
// and the dispatch.
#include "services/recommender/algo/score_kernels.h"

#include <emmintrin.h>

#include <cstdlib>
#include <cstring>

namespace marketlens::recommender {
namespace {

bool DetectAvx2() {
  if (const char* env = std::getenv("MARKETLENS_SCORE_PORTABLE_KERNELS"); env && std::strcmp(env, "1") == 0) {
    return false;
  }
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

// The eight lane sums (lo: lanes 0-3, hi: 4-7) reduced in the header's order.
inline float Reduce(__m128 lo, __m128 hi) {
  const __m128 t = _mm_add_ps(lo, hi);                           // t_l = acc_l + acc_{l+4}
  const __m128 u = _mm_add_ps(t, _mm_movehl_ps(t, t));           // u_0 = t_0 + t_2, u_1 = t_1 + t_3
  return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));  // u_0 + u_1
}

// Four rows at a time (independent sums, so their additions overlap); each row's arithmetic is the same.
void DotRows4(const float* r, int k, int k8, const float* x, float* out) {
  __m128 lo[4], hi[4];
  for (int q = 0; q < 4; ++q) lo[q] = hi[q] = _mm_setzero_ps();
  for (int j = 0; j < k8; j += 8) {
    const __m128 xl = _mm_loadu_ps(x + j), xh = _mm_loadu_ps(x + j + 4);
    for (int q = 0; q < 4; ++q) {
      const float* row = r + static_cast<long>(q) * k + j;
      lo[q] = _mm_add_ps(lo[q], _mm_mul_ps(_mm_loadu_ps(row), xl));
      hi[q] = _mm_add_ps(hi[q], _mm_mul_ps(_mm_loadu_ps(row + 4), xh));
    }
  }
  for (int q = 0; q < 4; ++q) {
    const float* row = r + static_cast<long>(q) * k;
    float s = Reduce(lo[q], hi[q]);
    for (int j = k8; j < k; ++j) s += row[j] * x[j];
    out[q] = s;
  }
}

float Dot(const float* row, int k, int k8, const float* x) {
  __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
  for (int j = 0; j < k8; j += 8) {
    lo = _mm_add_ps(lo, _mm_mul_ps(_mm_loadu_ps(row + j), _mm_loadu_ps(x + j)));
    hi = _mm_add_ps(hi, _mm_mul_ps(_mm_loadu_ps(row + j + 4), _mm_loadu_ps(x + j + 4)));
  }
  float s = Reduce(lo, hi);
  for (int j = k8; j < k; ++j) s += row[j] * x[j];
  return s;
}

// w . max(row + add, 0).
float ReluDot(const float* row, const float* add, const float* w, int h, int h8) {
  const __m128 zero = _mm_setzero_ps();
  __m128 lo = zero, hi = zero;
  for (int j = 0; j < h8; j += 8) {
    const __m128 vl = _mm_max_ps(_mm_add_ps(_mm_loadu_ps(row + j), _mm_loadu_ps(add + j)), zero);
    const __m128 vh = _mm_max_ps(_mm_add_ps(_mm_loadu_ps(row + j + 4), _mm_loadu_ps(add + j + 4)), zero);
    lo = _mm_add_ps(lo, _mm_mul_ps(_mm_loadu_ps(w + j), vl));
    hi = _mm_add_ps(hi, _mm_mul_ps(_mm_loadu_ps(w + j + 4), vh));
  }
  float s = Reduce(lo, hi);
  for (int j = h8; j < h; ++j) {
    const float v = row[j] + add[j];
    s += w[j] * (v > 0.0f ? v : 0.0f);  // maxps(v, 0): v when v > 0, else 0 (also for NaN)
  }
  return s;
}

}  // namespace

void ScoreDotRowsPortable(const float* rows, long n, int k, const float* x, float* out) {
  const int k8 = k / 8 * 8;
  long i = 0;
  for (; i + 4 <= n; i += 4) DotRows4(rows + i * k, k, k8, x, out + i);
  for (; i < n; ++i) out[i] = Dot(rows + i * k, k, k8, x);
}

void NcfScoreItemsPortable(const NcfScoreArgs& a, float* out) {
  const int k8 = a.k / 8 * 8, h8 = a.h / 8 * 8;
  for (long i = 0; i < a.n; ++i) {
    const float g = Dot(a.item_gmf + i * a.k, a.k, k8, a.gmf) + a.item_bias[i];
    out[i] = g + ReluDot(a.item_hidden + i * a.h, a.hidden, a.w_mlp, a.h, h8);
  }
}

bool ScoreCpuHasAvx2() {
  static const bool has = DetectAvx2();
  return has;
}

void ScoreDotRows(const float* rows, long n, int k, const float* x, float* out) {
  if (ScoreCpuHasAvx2()) {
    ScoreDotRowsAvx2(rows, n, k, x, out);
  } else {
    ScoreDotRowsPortable(rows, n, k, x, out);
  }
}

void NcfScoreItems(const NcfScoreArgs& args, float* out) {
  if (ScoreCpuHasAvx2()) {
    NcfScoreItemsAvx2(args, out);
  } else {
    NcfScoreItemsPortable(args, out);
  }
}

}  // namespace marketlens::recommender
