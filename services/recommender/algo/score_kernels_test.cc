// The AVX2 scoring kernels give the portable kernels' scores bit for bit (score_kernels.h), on random
// inputs of many sizes (row counts around the 4- and 8-row blocks, lengths around the 8 lanes), with
// negative hidden sums (the ReLU's zeros) and values of very different magnitudes (rounding that depends
// on the order of additions).
#include "services/recommender/algo/score_kernels.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

std::vector<float> Random(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-12, 12);
  std::vector<float> v(n);
  for (float& x : v) x = std::ldexp(normal(rng), exponent(rng));
  return v;
}

// Bit patterns, so that -0 and 0 (and NaN payloads) would count as different.
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The lanes' arithmetic of score_kernels.h, written out in scalar code: both kernels must equal it.
float ReferenceDot(const float* a, const float* b, int k) {
  float acc[8] = {};
  const int k8 = k / 8 * 8;
  for (int j = 0; j < k8; ++j) acc[j % 8] = acc[j % 8] + a[j] * b[j];
  const float t0 = acc[0] + acc[4], t1 = acc[1] + acc[5], t2 = acc[2] + acc[6], t3 = acc[3] + acc[7];
  float s = (t0 + t2) + (t1 + t3);
  for (int j = k8; j < k; ++j) s += a[j] * b[j];
  return s;
}

TEST(ScoreKernelsTest, CpuHasAvx2OnThisMachineOrSaysWhy) {
  if (!ScoreCpuHasAvx2()) GTEST_SKIP() << "no AVX2 on this CPU: only the portable kernels run here";
}

TEST(ScoreKernelsTest, DotRowsAvx2EqualsPortableBitForBit) {
  if (!ScoreCpuHasAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(7);
  for (int k : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100}) {
    for (long n : {0L, 1L, 3L, 4L, 5L, 7L, 8L, 9L, 17L, 1000L}) {
      const std::vector<float> rows = Random(rng, static_cast<size_t>(n * k)), x = Random(rng, k);
      std::vector<float> portable(n, -1.0f), avx2(n, -2.0f), reference(n);
      ScoreDotRowsPortable(rows.data(), n, k, x.data(), portable.data());
      ScoreDotRowsAvx2(rows.data(), n, k, x.data(), avx2.data());
      for (long i = 0; i < n; ++i) reference[i] = ReferenceDot(rows.data() + i * k, x.data(), k);
      EXPECT_TRUE(SameBits(portable, avx2)) << "k " << k << " n " << n;
      EXPECT_TRUE(SameBits(portable, reference)) << "k " << k << " n " << n;
    }
  }
}

TEST(ScoreKernelsTest, NcfItemsAvx2EqualsPortableBitForBit) {
  if (!ScoreCpuHasAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(11);
  for (int k : {1, 8, 13, 32}) {
    for (int h : {1, 7, 8, 16, 32, 41}) {
      for (long n : {1L, 3L, 4L, 5L, 9L, 1000L}) {
        const std::vector<float> item_gmf = Random(rng, n * k), item_hidden = Random(rng, n * h),
                                 bias = Random(rng, n), gmf = Random(rng, k), hidden = Random(rng, h),
                                 w = Random(rng, h);
        const NcfScoreArgs args{.item_gmf = item_gmf.data(),
                                .item_hidden = item_hidden.data(),
                                .item_bias = bias.data(),
                                .gmf = gmf.data(),
                                .hidden = hidden.data(),
                                .w_mlp = w.data(),
                                .n = n,
                                .k = k,
                                .h = h};
        std::vector<float> portable(n, -1.0f), avx2(n, -2.0f), reference(n);
        NcfScoreItemsPortable(args, portable.data());
        NcfScoreItemsAvx2(args, avx2.data());
        for (long i = 0; i < n; ++i) {
          std::vector<float> relu(h);
          for (int j = 0; j < h; ++j) {
            const float v = item_hidden[i * h + j] + hidden[j];
            relu[j] = v > 0.0f ? v : 0.0f;
          }
          reference[i] = (ReferenceDot(item_gmf.data() + i * k, gmf.data(), k) + bias[i]) +
                         ReferenceDot(w.data(), relu.data(), h);
        }
        EXPECT_TRUE(SameBits(portable, avx2)) << "k " << k << " h " << h << " n " << n;
        EXPECT_TRUE(SameBits(portable, reference)) << "k " << k << " h " << h << " n " << n;
      }
    }
  }
}

}  // namespace
}  // namespace marketlens::recommender
