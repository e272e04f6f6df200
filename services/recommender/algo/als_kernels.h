// The hot loop of ALS's conjugate-gradient solve (als.cc), with run-time CPU dispatch: one row's CG steps
// on its gathered block, either portable (Eigen, baseline x86-64 / SSE2, as the images must run on any
// node) or AVX2 + FMA (als_kernels_avx2.cc, compiled with -mavx2 -mfma), chosen per call by what the CPU
// supports. Per CG step the row costs a k x k matrix-vector product with YtY + reg I plus two products
// with its n x k block, and a few dots/axpys of length k: all in one kernel call, so nothing is
// dispatched per operation.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_KERNELS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_KERNELS_H_

namespace marketlens::recommender {

// One row of implicit ALS: solve (G + B^T diag(conf) B) x = B^T (1 + conf), warm-started from x, with
// `cg_steps` conjugate-gradient steps (fewer if the residual vanishes or the curvature is not positive).
// A plain aggregate (no member initializers, so no constructor): the AVX2 translation unit must not see any
// inline code it could instantiate (see als_kernels_avx2.cc).
struct AlsCgRow {
  const float* gramian;  // k x k, G = YtY + reg I (symmetric; row- or column-major alike)
  const float* block;    // n x k, row-major: the row's fixed-side vectors
  const float* conf;     // n: c - 1 = alpha * weight per vector
  int k;
  int n;
  int cg_steps;
};

// Floats of `work` the kernels need: 4 k + n.
long AlsCgWorkSize(int k, int n);

// Updates x (k floats) in place. Portable: Eigen as built for the baseline ISA.
void AlsCgSolveRowPortable(const AlsCgRow& row, float* x, float* work);
// Same arithmetic with AVX2 + FMA intrinsics; only call when AlsCpuHasAvx2Fma().
void AlsCgSolveRowAvx2(const AlsCgRow& row, float* x, float* work);

// __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), and not disabled by the environment
// variable MARKETLENS_ALS_PORTABLE_KERNELS=1 (to measure or test the fallback on an AVX2 machine).
// Computed once.
bool AlsCpuHasAvx2Fma();

// AVX2 when allowed and AlsCpuHasAvx2Fma(), else portable.
void AlsCgSolveRow(const AlsCgRow& row, float* x, float* work, bool allow_avx2);

// The Gramian of the fixed side, once per half-iteration: out (k x k, symmetric) += R^T R for the n x k
// row-major rows R. Portable: Eigen's matrix product; AVX2: four rank-1 updates per pass over out.
void AlsGramianAddPortable(const float* rows, long n, int k, float* out);
void AlsGramianAddAvx2(const float* rows, long n, int k, float* out);
void AlsGramianAdd(const float* rows, long n, int k, float* out, bool allow_avx2);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_ALS_KERNELS_H_
