#include "services/analyzer/engine/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "common/status/macros.h"

namespace marketlens::analyzer {
namespace {

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double MaxAbs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

absl::Status MinimizeLbfgs(const Objective& f, std::vector<double>* x, const LbfgsOptions& options) {
  const size_t n = x->size();
  std::vector<double> g(n), g_new(n), d(n), x_new(n);
  double fx = f(*x, &g);
  if (!std::isfinite(fx)) return absl::CancelledError("objective interrupted");
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  std::vector<double> alpha(options.history);
  for (int it = 0; it < options.max_iterations; ++it) {
    if (options.before_iteration) {
      RETURN_IF_ERROR(options.before_iteration(it));
    }
    if (MaxAbs(g) <= options.gradient_tolerance * std::max(1.0, std::abs(fx))) break;
    // Two-loop recursion: d = -H g.
    d = g;
    for (int k = static_cast<int>(s_hist.size()) - 1; k >= 0; --k) {
      alpha[k] = rho_hist[k] * Dot(s_hist[k], d);
      for (size_t i = 0; i < n; ++i) d[i] -= alpha[k] * y_hist[k][i];
    }
    if (!s_hist.empty()) {
      const double gamma = Dot(s_hist.back(), y_hist.back()) / Dot(y_hist.back(), y_hist.back());
      for (double& v : d) v *= gamma;
    } else {
      const double scale = 1.0 / std::max(1.0, std::sqrt(Dot(g, g)));
      for (double& v : d) v *= scale;
    }
    for (size_t k = 0; k < s_hist.size(); ++k) {
      const double beta = rho_hist[k] * Dot(y_hist[k], d);
      for (size_t i = 0; i < n; ++i) d[i] += s_hist[k][i] * (alpha[k] - beta);
    }
    for (double& v : d) v = -v;
    double slope = Dot(g, d);
    if (slope >= 0) {  // not a descent direction (numerical trouble): restart with steepest descent
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
      for (size_t i = 0; i < n; ++i) d[i] = -g[i];
      slope = -Dot(g, g);
    }
    double step = 1.0;
    double f_new = 0;
    bool accepted = false;
    for (int ls = 0; ls < 40; ++ls) {
      for (size_t i = 0; i < n; ++i) x_new[i] = (*x)[i] + step * d[i];
      f_new = f(x_new, &g_new);
      if (std::isnan(f_new) && !std::isinf(f_new)) return absl::CancelledError("objective interrupted");
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;  // no progress possible: at the optimum within precision
    std::vector<double> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = x_new[i] - (*x)[i];
      y[i] = g_new[i] - g[i];
    }
    const double sy = Dot(s, y);
    if (sy > 1e-12) {
      if (static_cast<int>(s_hist.size()) == options.history) {
        s_hist.pop_front();
        y_hist.pop_front();
        rho_hist.pop_front();
      }
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
    }
    const double decrease = fx - f_new;
    x->swap(x_new);
    g.swap(g_new);
    fx = f_new;
    if (decrease <= 1e-10 * std::max(1.0, std::abs(fx))) break;
  }
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer
