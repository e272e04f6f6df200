#include "services/recommender/serving/serving_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

std::vector<float> Scaled(const std::vector<float>& v) {
  std::vector<float> out = v;
  NormalizeMaxAbs(absl::MakeSpan(out));
  return out;
}

// Whether each row's values never increase (NaN anywhere: not sorted, to stay on the safe side).
bool RowsSortedBySimilarity(const CsrMatrix& m) {
  for (int32_t r = 0; r < m.rows; ++r) {
    auto v = m.RowValues(r);
    for (size_t k = 0; k < v.size(); ++k) {
      if (std::isnan(v[k]) || (k > 0 && v[k] > v[k - 1])) return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ServingModel>> ServingModel::Create(ModelBundle bundle,
                                                                         const ServingModelOptions& options) {
  RETURN_IF_ERROR(bundle.Validate());
  static std::atomic<uint64_t> next_instance{1};
  std::shared_ptr<ServingModel> m(new ServingModel());
  m->instance_id_ = next_instance++;
  m->bundle_ = std::move(bundle);
  const ModelBundle& b = m->bundle_;
  if (b.factors > 0) {
    AlsOptions o;
    o.factors = b.factors;
    o.alpha = b.als_alpha;
    o.regularization = b.als_regularization;
    auto fold_in = b.params.find("fold_in");
    o.mean_fold_in = fold_in != b.params.end() && fold_in->second == "mean";  // a two-tower model
    m->als_ = std::make_unique<AlsModel>(o);
    AlsModel::Matrix users =
        Eigen::Map<const AlsModel::Matrix>(b.user_factors.data(), b.num_users(), b.factors);
    AlsModel::Matrix items =
        Eigen::Map<const AlsModel::Matrix>(b.item_factors.data(), b.num_items(), b.factors);
    m->als_->SetFactors(std::move(users), std::move(items));
    if (b.num_items() >= options.ann_min_items) {
      ASSIGN_OR_RETURN(auto index,
                       MipsIndex::Build(b.item_factors.data(), b.num_items(), b.factors, options.ann));
      m->ann_ = std::move(index);
    }
  }
  if (b.ncf_factors > 0) {
    using M = NcfScorer::Matrix;
    NcfScorer::Parts p;
    const int32_t u = b.num_users(), i = b.num_items(), k = b.ncf_factors, h = b.ncf_hidden;
    p.user_gmf = Eigen::Map<const M>(b.ncf_user_gmf.data(), u, k);
    p.user_hidden = Eigen::Map<const M>(b.ncf_user_hidden.data(), u, h);
    p.item_gmf = Eigen::Map<const M>(b.ncf_item_gmf.data(), i, k);
    p.item_hidden = Eigen::Map<const M>(b.ncf_item_hidden.data(), i, h);
    p.w_mlp = Eigen::Map<const Eigen::VectorXf>(b.ncf_w_mlp.data(), h);
    p.item_bias = Eigen::Map<const Eigen::VectorXf>(b.ncf_item_bias.data(), i);
    m->ncf_ = std::make_unique<NcfScorer>(std::move(p), b.user_items.Transpose());
    RETURN_IF_ERROR(m->ncf_->Check());
  }
  m->neighbor_rows_sorted_ = RowsSortedBySimilarity(b.item_neighbors);
  m->bought_indptr_.assign(b.num_users() + 1, 0);
  for (int32_t u = 0; u < b.num_users(); ++u) {
    const size_t row_start = m->bought_items_.size();
    for (int64_t k = b.user_items.indptr[u]; k < b.user_items.indptr[u + 1]; ++k) {
      if (static_cast<ItemKind>(b.user_item_kind[k]) == ItemKind::kBought) {
        m->bought_items_.push_back(b.user_items.indices[k]);
      }
    }
    std::sort(m->bought_items_.begin() + row_start, m->bought_items_.end());  // rows are sorted already
    m->bought_indptr_[u + 1] = static_cast<int64_t>(m->bought_items_.size());
  }
  m->pop_recent_ = Scaled(b.pop_recent);
  m->pop_all_ = Scaled(b.pop_all);
  for (float v : m->pop_recent_) m->pop_recent_has_signal_ |= v > 0;
  for (int d = 0; d < kDayparts; ++d) m->pop_daypart_[d] = Scaled(b.pop_daypart[d]);
  for (const auto& [region, v] : b.pop_region) m->pop_region_[region] = Scaled(v);
  return std::shared_ptr<const ServingModel>(std::move(m));
}

const std::vector<float>* ServingModel::pop_region(const std::string& region) const {
  auto it = pop_region_.find(region);
  return it == pop_region_.end() ? nullptr : &it->second;
}

}  // namespace marketlens::recommender
