// The item scoring kernels of serving (and of AlsModel / NcfScorer scoring), with run-time CPU dispatch: a
// portable version (SSE2, the baseline x86-64 ISA the images are built for) and an AVX2 one
// (score_kernels_avx2.cc, its own cc_library built with -mavx2), chosen per call by what the CPU supports.
//
// Both versions compute bit-identical scores, by one arithmetic written out: a dot product of length k is
// eight lane sums, lane l adding a[j] * b[j] for j = l, l + 8, ... below k rounded down to 8, in order (each
// product rounded, then added: no FMA contraction, both libraries build with -ffp-contract=off); then
// t_l = acc_l + acc_{l+4} (l < 4), u_0 = t_0 + t_2, u_1 = t_1 + t_3, s = u_0 + u_1; then the remaining
// j < k added to s one by one. AVX2 holds the eight lanes in one register, SSE2 in two: the same operations
// in the same order. score_kernels_test compares the two bit for bit on random inputs.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_ALGO_SCORE_KERNELS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_ALGO_SCORE_KERNELS_H_

namespace marketlens::recommender {

// out[i] = rows[i] . x for the n x k row-major rows (ALS and two-tower: items x factors times a user).
void ScoreDotRowsPortable(const float* rows, long n, int k, const float* x, float* out);
void ScoreDotRowsAvx2(const float* rows, long n, int k, const float* x,
                      float* out);                                                // only if ScoreCpuHasAvx2()
void ScoreDotRows(const float* rows, long n, int k, const float* x, float* out);  // dispatched

// NCF over every item (ncf.h): out[i] = (item_gmf[i] . gmf + item_bias[i]) + w_mlp . max(item_hidden[i] +
// hidden, 0), both dots as above. A plain aggregate (no member initializers, so no constructor): the AVX2
// translation unit must not see any inline code it could instantiate (see score_kernels_avx2.cc).
struct NcfScoreArgs {
  const float* item_gmf;     // n x k, row-major
  const float* item_hidden;  // n x h, row-major
  const float* item_bias;    // n
  const float* gmf;          // k: the user's GMF vector (GMF weights folded in)
  const float* hidden;       // h: the user's part of the hidden layer
  const float* w_mlp;        // h
  long n;
  int k;
  int h;
};
void NcfScoreItemsPortable(const NcfScoreArgs& args, float* out);
void NcfScoreItemsAvx2(const NcfScoreArgs& args, float* out);  // only if ScoreCpuHasAvx2()
void NcfScoreItems(const NcfScoreArgs& args, float* out);      // dispatched

// __builtin_cpu_supports("avx2"), and not disabled by the environment variable
// MARKETLENS_SCORE_PORTABLE_KERNELS=1 (to measure or test the portable path on an AVX2 machine). Computed
// once.
bool ScoreCpuHasAvx2();

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_ALGO_SCORE_KERNELS_H_
