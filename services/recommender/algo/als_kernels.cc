#include "services/recommender/algo/als_kernels.h"

#include <cstdlib>
#include <cstring>
#include <eigen3/Eigen/Dense>

namespace marketlens::recommender {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

bool DetectAvx2Fma() {
  if (const char* env = std::getenv("MARKETLENS_ALS_PORTABLE_KERNELS"); env && std::strcmp(env, "1") == 0) {
    return false;
  }
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace

long AlsCgWorkSize(int k, int n) { return 4L * k + n; }

void AlsCgSolveRowPortable(const AlsCgRow& row, float* x_data, float* work) {
  const Eigen::Index k = row.k, n = row.n;
  Eigen::Map<const Eigen::MatrixXf> yty(row.gramian, k, k);
  Eigen::Map<const RowMajor> block(row.block, n, k);
  Eigen::Map<const Eigen::VectorXf> conf(row.conf, n);
  Eigen::Map<Eigen::VectorXf> x(x_data, k), r(work, k), p(work + k, k), ap(work + 2 * k, k),
      t(work + 4 * k, n);
  // r = b - A x = sum_i (c_i - (c_i - 1) y_i.x) y_i - YtY x = Y_u^T (1 + conf * (1 - Y_u x)) - YtY x.
  t.noalias() = block * x;
  t = (conf.array() * (1.0f - t.array()) + 1.0f).matrix();
  r.noalias() = block.transpose() * t;
  r.noalias() -= yty * x;
  p = r;
  float rs_old = r.squaredNorm();
  if (rs_old < 1e-20f) return;
  for (int step = 0; step < row.cg_steps; ++step) {
    ap.noalias() = yty * p;
    t.noalias() = block * p;
    t.array() *= conf.array();
    ap.noalias() += block.transpose() * t;
    const float pap = p.dot(ap);
    if (pap <= 0) break;
    const float step_size = rs_old / pap;
    x.noalias() += step_size * p;
    r.noalias() -= step_size * ap;
    const float rs_new = r.squaredNorm();
    if (rs_new < 1e-20f) break;
    p = r + (rs_new / rs_old) * p;
    rs_old = rs_new;
  }
}

bool AlsCpuHasAvx2Fma() {
  static const bool has = DetectAvx2Fma();
  return has;
}

void AlsCgSolveRow(const AlsCgRow& row, float* x, float* work, bool allow_avx2) {
  if (allow_avx2 && AlsCpuHasAvx2Fma()) {
    AlsCgSolveRowAvx2(row, x, work);
  } else {
    AlsCgSolveRowPortable(row, x, work);
  }
}

void AlsGramianAddPortable(const float* rows, long n, int k, float* out) {
  Eigen::Map<const RowMajor> r(rows, n, k);
  Eigen::Map<Eigen::MatrixXf> g(out, k, k);
  g.noalias() += r.transpose() * r;
}

void AlsGramianAdd(const float* rows, long n, int k, float* out, bool allow_avx2) {
  if (allow_avx2 && AlsCpuHasAvx2Fma()) {
    AlsGramianAddAvx2(rows, n, k, out);
  } else {
    AlsGramianAddPortable(rows, n, k, out);
  }
}

}  // namespace marketlens::recommender
