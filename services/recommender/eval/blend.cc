#include "services/recommender/eval/blend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/algo/hybrid.h"
#include "services/recommender/algo/parallel.h"
#include "services/recommender/eval/metrics.h"

namespace marketlens::recommender {
namespace {

// One validation user's candidate pool: items and the members' scaled scores (row-major, pool x members).
struct UserPool {
  int32_t user = 0;
  std::vector<int32_t> items;
  std::vector<float> scores;
};

double PoolNdcg(const std::vector<UserPool>& pools, const EvalData& validation, const std::vector<float>& w,
                int k) {
  const size_t m = w.size();
  double sum = 0;
  std::vector<std::pair<float, int32_t>> blended;
  std::vector<int32_t> ranked;
  for (const UserPool& p : pools) {
    blended.clear();
    for (size_t n = 0; n < p.items.size(); ++n) {
      float s = 0;
      for (size_t j = 0; j < m; ++j) s += w[j] * p.scores[n * m + j];
      blended.push_back({s, p.items[n]});
    }
    const size_t top = std::min<size_t>(k, blended.size());
    std::partial_sort(blended.begin(), blended.begin() + top, blended.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : a.second < b.second;
                      });
    ranked.clear();
    for (size_t n = 0; n < top; ++n) ranked.push_back(blended[n].second);
    sum += UserRankingMetrics(ranked, validation.relevant[p.user], k).ndcg;
  }
  return pools.empty() ? 0 : sum / pools.size();
}

}  // namespace

BlendFit LearnBlendWeights(const std::vector<const Model*>& members, const EvalData& validation,
                           const EvalOptions& eval, const BlendOptions& options) {
  const size_t m = members.size();
  const int32_t n_items = validation.train.num_items();
  std::vector<UserPool> pools(validation.eval_users.size());
  const int threads = ResolveThreads(eval.threads);
  std::vector<std::vector<std::vector<float>>> buffers(
      threads, std::vector<std::vector<float>>(m, std::vector<float>(n_items)));
  ParallelFor(static_cast<int64_t>(pools.size()), threads, 16, [&](int64_t begin, int64_t end, int t) {
    std::vector<int32_t> items;
    for (int64_t n = begin; n < end; ++n) {
      UserPool& p = pools[n];
      p.user = validation.eval_users[n];
      const UserHistory h = HistoryOf(validation.train, p.user);
      items.clear();
      for (size_t j = 0; j < m; ++j) {
        std::vector<float>& s = buffers[t][j];
        members[j]->Score(p.user, h, absl::MakeSpan(s));
        NormalizeMaxAbs(absl::MakeSpan(s));
        for (const ScoredItem& si : TopN(s, options.pool, h.items)) items.push_back(si.item);
      }
      std::sort(items.begin(), items.end());
      items.erase(std::unique(items.begin(), items.end()), items.end());
      p.items = items;
      p.scores.resize(items.size() * m);
      for (size_t i = 0; i < items.size(); ++i) {
        for (size_t j = 0; j < m; ++j) p.scores[i * m + j] = buffers[t][j][items[i]];
      }
    }
  });
  BlendFit fit;
  fit.member_ndcg.resize(m);
  for (size_t j = 0; j < m; ++j) {
    std::vector<float> w(m, 0);
    w[j] = 1;
    fit.member_ndcg[j] = PoolNdcg(pools, validation, w, eval.k);
    if (fit.member_ndcg[j] > fit.member_ndcg[fit.best_member]) fit.best_member = static_cast<int>(j);
  }
  fit.weights.assign(m, 0);
  fit.weights[fit.best_member] = 1;
  fit.ndcg = fit.member_ndcg[fit.best_member];
  for (int sweep = 0; sweep < options.sweeps; ++sweep) {
    bool improved = false;
    for (size_t j = 0; j < m; ++j) {
      for (float v : options.grid) {
        if (v == fit.weights[j]) continue;
        std::vector<float> w = fit.weights;
        w[j] = v;
        bool any = false;
        for (float x : w) any = any || x > 0;
        if (!any) continue;
        const double ndcg = PoolNdcg(pools, validation, w, eval.k);
        if (ndcg > fit.ndcg + 1e-9) {
          fit.ndcg = ndcg;
          fit.weights = w;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return fit;
}

absl::StatusOr<LearnedHybridResult> EvaluateLearnedHybrid(
    const std::vector<std::pair<std::string, Params>>& members, const EvalData& validation,
    const EvalData& test, const EvalOptions& eval, const BlendOptions& options) {
  const absl::Time start = absl::Now();
  LearnedHybridResult out;
  std::vector<std::unique_ptr<Model>> on_validation;
  std::vector<std::pair<std::string, Params>> usable;
  for (const auto& [name, params] : members) {
    absl::StatusOr<std::unique_ptr<Model>> model = MakeModel(name, params, eval.threads);
    if (!model.ok()) return model.status();
    absl::Status s = (*model)->Fit(validation.train);
    if (s.code() == absl::StatusCode::kFailedPrecondition) continue;
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("hybrid member ", name, ": ", s.message()));
    on_validation.push_back(*std::move(model));
    usable.push_back({name, params});
  }
  if (usable.empty()) return absl::FailedPreconditionError("hybrid: no member could be fitted");
  std::vector<const Model*> views;
  for (const auto& m : on_validation) views.push_back(m.get());
  out.fit = LearnBlendWeights(views, validation, eval, options);
  on_validation.clear();

  std::vector<HybridMember> hybrid_members;
  AlgorithmResult& r = out.result;
  r.name = "hybrid";
  for (size_t j = 0; j < usable.size(); ++j) {
    const auto& [name, params] = usable[j];
    out.members.push_back(name);
    r.params[absl::StrCat("w_", name)] = absl::StrCat(out.fit.weights[j]);
    if (out.fit.weights[j] == 0) continue;
    absl::StatusOr<std::unique_ptr<Model>> model = MakeModel(name, params, eval.threads);
    if (!model.ok()) return model.status();
    if (absl::Status s = (*model)->Fit(test.train); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("hybrid member ", name, ": ", s.message()));
    }
    for (const auto& [k, v] : (*model)->params()) r.params[absl::StrCat(name, ".", k)] = v;
    hybrid_members.push_back({std::shared_ptr<Model>(std::move(*model)), out.fit.weights[j]});
  }
  HybridModel hybrid(std::move(hybrid_members), /*fit_members=*/false);
  r.fit_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const absl::Time eval_start = absl::Now();
  r.metrics = EvaluateModel(hybrid, test, eval);
  r.eval_seconds = absl::ToDoubleSeconds(absl::Now() - eval_start);
  r.validation_ndcg = out.fit.ndcg;
  return out;
}

}  // namespace marketlens::recommender
