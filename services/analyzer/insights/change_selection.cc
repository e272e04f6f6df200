// Selecting alerts across many tests (change_detection.h): the Benjamini-Hochberg and Tarone thresholds,
// the per-product or across-tests alert threshold, and the selection itself.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "services/analyzer/insights/change_detection.h"

namespace marketlens::analyzer {

double BenjaminiHochbergThreshold(std::vector<double> p_values, double q) {
  std::sort(p_values.begin(), p_values.end());
  const double m = static_cast<double>(p_values.size());
  double threshold = 0;
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (p_values[i] <= q * (i + 1) / m) threshold = p_values[i];
  }
  return threshold;
}

double TaroneBenjaminiHochbergThreshold(const std::vector<double>& p_values,
                                        const std::vector<double>& min_p_values, double q) {
  const size_t m = p_values.size();
  std::vector<double> sorted_min(min_p_values.begin(), min_p_values.end());
  std::sort(sorted_min.begin(), sorted_min.end());
  for (size_t k = 1; k <= m; ++k) {  // the smallest K with m(K) <= K (O(m log m): the store runs this often)
    const double level = q / k;
    const size_t m_k = std::upper_bound(sorted_min.begin(), sorted_min.end(), level) - sorted_min.begin();
    if (m_k <= k) {
      std::vector<double> kept;
      kept.reserve(m_k);
      for (size_t i = 0; i < m; ++i)
        if (min_p_values[i] <= level) kept.push_back(p_values[i]);
      return BenjaminiHochbergThreshold(std::move(kept), q);
    }
  }
  return BenjaminiHochbergThreshold(p_values, q);
}

double AlertThreshold(const std::vector<ChangeFinding>& tests, const ChangeOptions& o) {
  if (o.calibration == ChangeCalibration::kBenjaminiHochberg) {
    std::vector<double> ps, min_ps;
    ps.reserve(tests.size());
    min_ps.reserve(tests.size());
    for (const ChangeFinding& t : tests) {
      ps.push_back(t.p_value);
      min_ps.push_back(t.min_p_value);
    }
    return TaroneBenjaminiHochbergThreshold(ps, min_ps, o.fdr);
  }
  if (o.product_fdr <= 0) return o.product_alpha;
  // Or Benjamini-Hochberg over the products (each product's smallest adjusted p).
  std::map<std::string, double> product_p;
  for (const ChangeFinding& t : tests) {
    auto [it, inserted] = product_p.emplace(t.product_id, t.p_value);
    if (!inserted) it->second = std::min(it->second, t.p_value);
  }
  std::vector<double> ps;
  ps.reserve(product_p.size());
  for (const auto& [product, p] : product_p) ps.push_back(p);
  return std::max(o.product_alpha, BenjaminiHochbergThreshold(std::move(ps), o.product_fdr));
}

std::vector<ChangeFinding> SelectChanges(const std::vector<ChangeFinding>& tests, const ChangeOptions& o) {
  const double threshold = AlertThreshold(tests, o);
  std::vector<ChangeFinding> out;
  for (const ChangeFinding& t : tests) {
    if (threshold > 0 && t.p_value <= threshold && t.meets_effect) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const ChangeFinding& a, const ChangeFinding& b) {
    return a.product_id != b.product_id ? a.product_id < b.product_id : a.metric < b.metric;
  });
  return out;
}

}  // namespace marketlens::analyzer
