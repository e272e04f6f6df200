// The AVX2 + FMA conjugate-gradient kernel gives the portable kernel's results (within float rounding) on
// random rows of many shapes, both solve the row's linear system, and ALS trained with either kernel
// reaches the same factors. On a CPU without AVX2 + FMA the AVX2 comparisons are skipped with a notice.
#include "services/recommender/algo/als_kernels.h"

#include <cmath>
#include <random>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/data/synthetic.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

struct RandomRow {
  RandomRow(int k, int n, uint64_t seed) : k(k), n(n), gramian(k * k), block(n * k), conf(n), x(k) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    std::uniform_real_distribution<float> uniform(0.0f, 8.0f);
    Eigen::MatrixXf y(3 * k + 5, k);
    for (int64_t i = 0; i < y.size(); ++i) y.data()[i] = normal(rng);
    Eigen::MatrixXf g = y.transpose() * y;
    g.diagonal().array() += 0.5f;
    std::copy(g.data(), g.data() + g.size(), gramian.begin());
    for (float& v : block) v = normal(rng);
    for (float& v : conf) v = uniform(rng);
    for (float& v : x) v = normal(rng);
  }
  AlsCgRow row(int cg_steps) const {
    return {.gramian = gramian.data(),
            .block = block.data(),
            .conf = conf.data(),
            .k = k,
            .n = n,
            .cg_steps = cg_steps};
  }
  // The exact solution of (G + B^T diag(conf) B) x = B^T (1 + conf).
  Eigen::VectorXf Exact() const {
    Eigen::Map<const Eigen::MatrixXf> g(gramian.data(), k, k);
    Eigen::Map<const AlsModel::Matrix> b(block.data(), n, k);
    Eigen::Map<const Eigen::VectorXf> c(conf.data(), n);
    const Eigen::MatrixXf a = g + b.transpose() * c.asDiagonal() * b;
    const Eigen::VectorXf rhs = b.transpose() * (c.array() + 1.0f).matrix();
    return a.ldlt().solve(rhs);
  }
  int k, n;
  std::vector<float> gramian, block, conf, x;
};

float MaxAbs(const std::vector<float>& v) {
  float m = 0;
  for (float f : v) m = std::max(m, std::abs(f));
  return m;
}

// Odd sizes exercise the kernel's 64-, 32- and 8-column chunks and its scalar tails.
const int kFactors[] = {1, 3, 8, 16, 24, 32, 33, 64, 65, 100, 128, 200};
const int kRowLengths[] = {1, 2, 7, 20, 150};

TEST(AlsKernelsTest, Avx2MatchesPortableOnRandomRows) {
  if (!AlsCpuHasAvx2Fma())
    GTEST_SKIP() << "this CPU has no AVX2 + FMA (or MARKETLENS_ALS_PORTABLE_KERNELS=1)";
  uint64_t seed = 1;
  for (int k : kFactors) {
    for (int n : kRowLengths) {
      for (int cg_steps : {1, 3}) {
        RandomRow r(k, n, seed++);
        std::vector<float> portable = r.x, avx2 = r.x;
        std::vector<float> work(AlsCgWorkSize(k, n));
        AlsCgSolveRowPortable(r.row(cg_steps), portable.data(), work.data());
        AlsCgSolveRowAvx2(r.row(cg_steps), avx2.data(), work.data());
        const float scale = 1.0f + MaxAbs(portable);
        for (int i = 0; i < k; ++i) {
          ASSERT_NEAR(avx2[i], portable[i], 2e-4f * scale)
              << "k=" << k << " n=" << n << " steps=" << cg_steps << " i=" << i;
        }
        EXPECT_NE(portable, r.x) << "k=" << k << " n=" << n;  // the step did something
      }
    }
  }
}

TEST(AlsKernelsTest, BothKernelsSolveTheRowSystem) {
  uint64_t seed = 1000;
  for (int k : {8, 33, 64}) {
    for (int n : {5, 40}) {
      RandomRow r(k, n, seed++);
      const Eigen::VectorXf exact = r.Exact();
      // CG converges in at most k steps in exact arithmetic; a few more absorb rounding.
      for (bool avx2 : {false, true}) {
        if (avx2 && !AlsCpuHasAvx2Fma()) continue;
        std::vector<float> x = r.x, work(AlsCgWorkSize(k, n));
        if (avx2) {
          AlsCgSolveRowAvx2(r.row(3 * k), x.data(), work.data());
        } else {
          AlsCgSolveRowPortable(r.row(3 * k), x.data(), work.data());
        }
        const float scale = 1.0f + exact.cwiseAbs().maxCoeff();
        for (int i = 0; i < k; ++i) {
          EXPECT_NEAR(x[i], exact[i], 1e-3f * scale) << "avx2=" << avx2 << " k=" << k << " n=" << n;
        }
      }
    }
  }
}

TEST(AlsKernelsTest, Avx2GramianMatchesPortable) {
  if (!AlsCpuHasAvx2Fma())
    GTEST_SKIP() << "this CPU has no AVX2 + FMA (or MARKETLENS_ALS_PORTABLE_KERNELS=1)";
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int k : kFactors) {
    for (long n : {1L, 3L, 4L, 9L, 1000L, 4096L}) {
      std::vector<float> rows(n * k);
      for (float& v : rows) v = normal(rng);
      // Both add into what is there.
      std::vector<float> portable(k * k), avx2;
      for (float& v : portable) v = normal(rng);
      avx2 = portable;
      AlsGramianAddPortable(rows.data(), n, k, portable.data());
      AlsGramianAddAvx2(rows.data(), n, k, avx2.data());
      const float scale = 1.0f + MaxAbs(portable);
      for (int i = 0; i < k * k; ++i) {
        ASSERT_NEAR(avx2[i], portable[i], 1e-5f * scale * std::sqrt(static_cast<float>(n)))
            << "k=" << k << " n=" << n << " i=" << i;
      }
    }
  }
}

TEST(AlsKernelsTest, DispatchHonoursAllowAvx2) {
  RandomRow r(64, 20, 7);
  std::vector<float> dispatched = r.x, portable = r.x, work(AlsCgWorkSize(64, 20));
  AlsCgSolveRow(r.row(3), dispatched.data(), work.data(), /*allow_avx2=*/false);
  AlsCgSolveRowPortable(r.row(3), portable.data(), work.data());
  EXPECT_EQ(dispatched, portable);  // bit for bit: the same code ran
  std::vector<float> g_dispatched(64 * 64), g_portable(64 * 64);
  AlsGramianAdd(r.block.data(), 20, 64, g_dispatched.data(), /*allow_avx2=*/false);
  AlsGramianAddPortable(r.block.data(), 20, 64, g_portable.data());
  EXPECT_EQ(g_dispatched, g_portable);
}

TEST(AlsKernelsTest, AlsTrainsToTheSameFactorsWithEitherKernel) {
  if (!AlsCpuHasAvx2Fma())
    GTEST_SKIP() << "this CPU has no AVX2 + FMA (or MARKETLENS_ALS_PORTABLE_KERNELS=1)";
  SyntheticData s = GenerateSynthetic({.users = 400, .items = 150, .clusters = 5, .events_per_user = 15});
  TrainingData data = BuildTrainingData(s.log);
  AlsModel portable(
      {.factors = 64, .iterations = 5, .threads = 2, .track_loss = true, .avx2_kernels = false});
  AlsModel avx2({.factors = 64, .iterations = 5, .threads = 2, .track_loss = true, .avx2_kernels = true});
  ASSERT_THAT(portable.Fit(data), IsOk());
  ASSERT_THAT(avx2.Fit(data), IsOk());
  EXPECT_TRUE(avx2.item_factors().isApprox(portable.item_factors(), 1e-3f));
  EXPECT_TRUE(avx2.user_factors().isApprox(portable.user_factors(), 1e-3f));
  EXPECT_NEAR(avx2.losses().back(), portable.losses().back(), 1e-4 * std::abs(portable.losses().back()));
}

}  // namespace
}  // namespace marketlens::recommender
