// AVX2 + FMA version of AlsCgSolveRowPortable (als_kernels.cc), compiled with -mavx2 -mfma in its own
// cc_library and called only after AlsCpuHasAvx2Fma() (run-time dispatch; the rest of the binary stays
// baseline x86-64 so the images run on any node).
//
// Why this file is written this way: every inline function or template instantiated here is compiled with
// AVX2 enabled. If it were one shared with other translation units (anything from Eigen, std:: containers
// or algorithms, even std::min), the linker would keep a single copy of that weak/COMDAT symbol, possibly
// this AVX2 one, and the baseline code path would then execute AVX2 instructions: SIGILL on CPUs without
// them. So this file includes only <immintrin.h> (whose intrinsics are always-inline and never emitted)
// and als_kernels.h (declarations and a plain aggregate), works on raw float pointers, keeps every helper
// in an anonymous namespace (internal linkage: never merged), and exports exactly one function with
// external linkage per kernel, AlsCgSolveRowAvx2 and AlsGramianAddAvx2.
#include <immintrin.h>

#include "services/recommender/algo/als_kernels.h"

namespace marketlens::recommender {
namespace {

float HorizontalSum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

float Dot(const float* a, const float* b, int k) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
         s3 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= k; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = HorizontalSum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < k; ++i) s += a[i] * b[i];
  return s;
}

// out[0, 8V) = sum_j ca[j] * a[j * k + 0..8V) + sum_m cb[m] * b[m * k + 0..8V): the columns [col, col + 8V)
// of G^T ca + B^T cb, with a = G + col and b = B + col. V accumulators of 8 floats stay in registers (V = 8
// gives the 8 independent FMA chains a core needs to keep both FMA units busy).
template <int V>
void AccumulateColumns(const float* a, const float* ca, int na, const float* b, const float* cb, int nb,
                       int k, float* out) {
  __m256 acc[V];
  // Unrolled so that acc lives in registers (GCC -O2 otherwise keeps it in memory, one store per FMA).
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) acc[v] = _mm256_setzero_ps();
  for (int j = 0; j < na; ++j) {
    const __m256 c = _mm256_broadcast_ss(ca + j);
    const float* src = a + static_cast<long>(j) * k;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(c, _mm256_loadu_ps(src + 8 * v), acc[v]);
  }
  for (int m = 0; m < nb; ++m) {
    const __m256 c = _mm256_broadcast_ss(cb + m);
    const float* src = b + static_cast<long>(m) * k;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(c, _mm256_loadu_ps(src + 8 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) _mm256_storeu_ps(out + 8 * v, acc[v]);
}

// out = G ca + B^T cb (G symmetric, so its rows are its columns): the k x k Gramian product and the
// block's transposed product in one pass over the output.
void GramianPlusBlockProduct(const AlsCgRow& row, const float* ca, const float* cb, float* out) {
  const int k = row.k, n = row.n;
  int col = 0;
  for (; col + 64 <= k; col += 64)
    AccumulateColumns<8>(row.gramian + col, ca, k, row.block + col, cb, n, k, out + col);
  for (; col + 32 <= k; col += 32)
    AccumulateColumns<4>(row.gramian + col, ca, k, row.block + col, cb, n, k, out + col);
  for (; col + 8 <= k; col += 8)
    AccumulateColumns<1>(row.gramian + col, ca, k, row.block + col, cb, n, k, out + col);
  for (; col < k; ++col) {
    float s = 0;
    for (int j = 0; j < k; ++j) s += ca[j] * row.gramian[static_cast<long>(j) * k + col];
    for (int m = 0; m < n; ++m) s += cb[m] * row.block[static_cast<long>(m) * k + col];
    out[col] = s;
  }
}

}  // namespace

void AlsCgSolveRowAvx2(const AlsCgRow& row, float* x, float* work) {
  const int k = row.k, n = row.n;
  float* r = work;
  float* p = work + k;
  float* ap = work + 2 * k;
  float* neg_x = work + 3 * k;
  float* t = work + 4 * k;
  // r = B^T (1 + conf * (1 - B x)) - G x (as in the portable kernel).
  for (int m = 0; m < n; ++m)
    t[m] = row.conf[m] * (1.0f - Dot(row.block + static_cast<long>(m) * k, x, k)) + 1.0f;
  for (int i = 0; i < k; ++i) neg_x[i] = -x[i];
  GramianPlusBlockProduct(row, neg_x, t, r);
  for (int i = 0; i < k; ++i) p[i] = r[i];
  float rs_old = Dot(r, r, k);
  if (rs_old < 1e-20f) return;
  for (int step = 0; step < row.cg_steps; ++step) {
    // ap = (G + B^T diag(conf) B) p.
    for (int m = 0; m < n; ++m) t[m] = row.conf[m] * Dot(row.block + static_cast<long>(m) * k, p, k);
    GramianPlusBlockProduct(row, p, t, ap);
    const float pap = Dot(p, ap, k);
    if (pap <= 0) break;
    const float step_size = rs_old / pap;
    const __m256 s = _mm256_set1_ps(step_size);
    int i = 0;
    for (; i + 8 <= k; i += 8) {
      _mm256_storeu_ps(x + i, _mm256_fmadd_ps(s, _mm256_loadu_ps(p + i), _mm256_loadu_ps(x + i)));
      _mm256_storeu_ps(r + i, _mm256_fnmadd_ps(s, _mm256_loadu_ps(ap + i), _mm256_loadu_ps(r + i)));
    }
    for (; i < k; ++i) {
      x[i] += step_size * p[i];
      r[i] -= step_size * ap[i];
    }
    const float rs_new = Dot(r, r, k);
    if (rs_new < 1e-20f) break;
    const float beta = rs_new / rs_old;
    const __m256 b = _mm256_set1_ps(beta);
    i = 0;
    for (; i + 8 <= k; i += 8) {
      _mm256_storeu_ps(p + i, _mm256_fmadd_ps(b, _mm256_loadu_ps(p + i), _mm256_loadu_ps(r + i)));
    }
    for (; i < k; ++i) p[i] = r[i] + beta * p[i];
    rs_old = rs_new;
  }
}

void AlsGramianAddAvx2(const float* rows, long n, int k, float* out) {
  // Four rows per pass over out: out[j, :] += sum_q r_q[j] r_q (four FMAs per load and store of out).
  long m = 0;
  for (; m + 4 <= n; m += 4) {
    const float* r0 = rows + m * k;
    const float* r1 = r0 + k;
    const float* r2 = r1 + k;
    const float* r3 = r2 + k;
    for (int j = 0; j < k; ++j) {
      const __m256 c0 = _mm256_broadcast_ss(r0 + j), c1 = _mm256_broadcast_ss(r1 + j),
                   c2 = _mm256_broadcast_ss(r2 + j), c3 = _mm256_broadcast_ss(r3 + j);
      float* o = out + static_cast<long>(j) * k;
      int c = 0;
      for (; c + 8 <= k; c += 8) {
        __m256 acc = _mm256_loadu_ps(o + c);
        acc = _mm256_fmadd_ps(c0, _mm256_loadu_ps(r0 + c), acc);
        acc = _mm256_fmadd_ps(c1, _mm256_loadu_ps(r1 + c), acc);
        acc = _mm256_fmadd_ps(c2, _mm256_loadu_ps(r2 + c), acc);
        acc = _mm256_fmadd_ps(c3, _mm256_loadu_ps(r3 + c), acc);
        _mm256_storeu_ps(o + c, acc);
      }
      for (; c < k; ++c) o[c] += r0[j] * r0[c] + r1[j] * r1[c] + r2[j] * r2[c] + r3[j] * r3[c];
    }
  }
  for (; m < n; ++m) {
    const float* r0 = rows + m * k;
    for (int j = 0; j < k; ++j) {
      const __m256 c0 = _mm256_broadcast_ss(r0 + j);
      float* o = out + static_cast<long>(j) * k;
      int c = 0;
      for (; c + 8 <= k; c += 8) {
        _mm256_storeu_ps(o + c, _mm256_fmadd_ps(c0, _mm256_loadu_ps(r0 + c), _mm256_loadu_ps(o + c)));
      }
      for (; c < k; ++c) o[c] += r0[j] * r0[c];
    }
  }
}

}  // namespace marketlens::recommender
