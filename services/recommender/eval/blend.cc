#include "services/recommender/eval/blend.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/macros.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/algo/hybrid.h"
#include "services/recommender/algo/parallel.h"
#include "services/recommender/eval/metrics.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {
namespace {

// One validation user's candidate pool: items and the members' scaled scores (row-major, pool x members).
struct UserPool {
  const std::vector<int32_t>* relevant = nullptr;  // the user's validation items (their fold's ids)
  std::vector<int32_t> items;
  std::vector<float> scores;
};

// Per-user NDCG@k of the blend `w` (one value per pool, in pool order).
void PoolNdcgs(const std::vector<UserPool>& pools, const std::vector<float>& w, int k,
               std::vector<double>& out) {
  const size_t m = w.size();
  out.resize(pools.size());
  std::vector<std::pair<float, int32_t>> blended;
  std::vector<int32_t> ranked;
  for (size_t u = 0; u < pools.size(); ++u) {
    const UserPool& p = pools[u];
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
    out[u] = UserRankingMetrics(ranked, *p.relevant, k).ndcg;
  }
}

double PoolNdcg(const std::vector<UserPool>& pools, const std::vector<float>& w, int k) {
  std::vector<double> per_user;
  PoolNdcgs(pools, w, k, per_user);
  double sum = 0;
  for (double v : per_user) sum += v;
  return pools.empty() ? 0 : sum / pools.size();
}

// Appends the candidate pools of `validation`'s users, scored by `members` (fitted on validation.train).
void AppendPools(const std::vector<const Model*>& members, const EvalData& validation,
                 const EvalOptions& eval, const BlendOptions& options, std::vector<UserPool>& pools) {
  const size_t m = members.size();
  const int32_t n_items = validation.train.num_items();
  const size_t first = pools.size();
  pools.resize(first + validation.eval_users.size());
  const int threads = ResolveThreads(eval.threads);
  std::vector<std::vector<std::vector<float>>> buffers(
      threads, std::vector<std::vector<float>>(m, std::vector<float>(n_items)));
  ParallelFor(static_cast<int64_t>(validation.eval_users.size()), threads, 16,
              [&](int64_t begin, int64_t end, int t) {
                std::vector<int32_t> items;
                for (int64_t n = begin; n < end; ++n) {
                  UserPool& p = pools[first + n];
                  const int32_t user = validation.eval_users[n];
                  p.relevant = &validation.relevant[user];
                  const UserHistory h = HistoryOf(validation.train, user);
                  items.clear();
                  for (size_t j = 0; j < m; ++j) {
                    std::vector<float>& s = buffers[t][j];
                    members[j]->Score(user, h, absl::MakeSpan(s));
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
}

}  // namespace

BlendFit LearnBlendWeights(const std::vector<std::vector<const Model*>>& members,
                           const std::vector<const EvalData*>& validations, const EvalOptions& eval,
                           const BlendOptions& options) {
  BlendFit fit;
  if (members.empty() || members.size() != validations.size()) return fit;
  const size_t m = members[0].size();
  std::vector<UserPool> pools;
  for (size_t f = 0; f < validations.size(); ++f)
    AppendPools(members[f], *validations[f], eval, options, pools);
  fit.folds = static_cast<int>(validations.size());
  fit.validation_users = static_cast<int64_t>(pools.size());
  fit.member_ndcg.resize(m);
  for (size_t j = 0; j < m; ++j) {
    std::vector<float> w(m, 0);
    w[j] = 1;
    fit.member_ndcg[j] = PoolNdcg(pools, w, eval.k);
    if (fit.member_ndcg[j] > fit.member_ndcg[fit.best_member]) fit.best_member = static_cast<int>(j);
  }
  if (m == 0) return fit;
  std::vector<float> best_alone(m, 0);
  best_alone[fit.best_member] = 1;
  // Coordinate ascent from a start; returns the weights it reached and their pooled NDCG.
  auto ascend = [&](std::vector<float> weights) {
    double ndcg = PoolNdcg(pools, weights, eval.k);
    for (int sweep = 0; sweep < options.sweeps; ++sweep) {
      bool improved = false;
      for (size_t j = 0; j < m; ++j) {
        for (float v : options.grid) {
          if (v == weights[j]) continue;
          std::vector<float> w = weights;
          w[j] = v;
          bool any = false;
          for (float x : w) any = any || x > 0;
          if (!any) continue;
          const double candidate = PoolNdcg(pools, w, eval.k);
          if (candidate > ndcg + options.min_gain) {
            ndcg = candidate;
            weights = w;
            improved = true;
          }
        }
      }
      if (!improved) break;
    }
    return std::make_pair(weights, ndcg);
  };
  // Two starts: the best member alone, and an equal blend of the members within `start_within` of it
  // (similar-quality members make partly independent errors, which an equal blend averages out; ascent
  // from a single member tends to stay near it).
  std::tie(fit.weights, fit.ndcg) = ascend(best_alone);
  std::vector<float> equal(m, 0);
  for (size_t j = 0; j < m; ++j) {
    if (fit.member_ndcg[j] >= (1 - options.start_within) * fit.member_ndcg[fit.best_member]) equal[j] = 1;
  }
  if (equal != best_alone) {
    auto [w, ndcg] = ascend(equal);
    if (ndcg > fit.ndcg) fit.weights = w, fit.ndcg = ndcg;
  }
  fit.blend_ndcg = fit.ndcg;
  // The guard: a paired comparison of the blend and the best member over the pooled validation users.
  std::vector<double> blend_users, best_users;
  PoolNdcgs(pools, fit.weights, eval.k, blend_users);
  PoolNdcgs(pools, best_alone, eval.k, best_users);
  double mean = 0, sq = 0;
  const size_t n = pools.size();
  for (size_t u = 0; u < n; ++u) mean += blend_users[u] - best_users[u];
  mean = n > 0 ? mean / n : 0;
  for (size_t u = 0; u < n; ++u)
    sq += (blend_users[u] - best_users[u] - mean) * (blend_users[u] - best_users[u] - mean);
  fit.gain_se = n > 1 ? std::sqrt(sq / (n - 1) / n) : 0;
  if (fit.weights != best_alone && !(mean > 0 && mean >= options.min_gain_se * fit.gain_se)) {
    fit.fell_back = true;
    fit.weights = best_alone;
    fit.ndcg = fit.member_ndcg[fit.best_member];
  }
  return fit;
}

BlendFit LearnBlendWeights(const std::vector<const Model*>& members, const EvalData& validation,
                           const EvalOptions& eval, const BlendOptions& options) {
  return LearnBlendWeights(std::vector<std::vector<const Model*>>{members},
                           std::vector<const EvalData*>{&validation}, eval, options);
}

absl::StatusOr<std::vector<EvalData>> BlendValidationFolds(const InteractionLog& train,
                                                           const ItemCatalog* catalog,
                                                           const EvalOptions& eval, int folds,
                                                           uint64_t seed) {
  if (folds < 1) return absl::InvalidArgumentError("blend: folds must be >= 1");
  EvalOptions options = eval;
  options.max_users = 0;
  std::vector<EvalData> out;
  for (int f = 0; f < folds; ++f) {
    Split split = RandomPerUser(train, 0.2, seed + f);
    ASSIGN_OR_RETURN(EvalData v, PrepareEvaluation(split.train, split.test, catalog, options));
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<LearnedHybridResult> EvaluateLearnedHybrid(
    const std::vector<std::pair<std::string, Params>>& members, const EvalData& validation,
    const EvalData& test, const EvalOptions& eval, const BlendOptions& options) {
  return EvaluateLearnedHybrid(members, std::vector<const EvalData*>{&validation}, test, eval, options);
}

absl::StatusOr<LearnedHybridResult> EvaluateLearnedHybrid(
    const std::vector<std::pair<std::string, Params>>& members,
    const std::vector<const EvalData*>& validations, const EvalData& test, const EvalOptions& eval,
    const BlendOptions& options) {
  if (validations.empty()) return absl::InvalidArgumentError("hybrid: no validation split");
  const absl::Time start = absl::Now();
  LearnedHybridResult out;
  std::vector<std::vector<std::unique_ptr<Model>>> on_validation(validations.size());
  std::vector<std::pair<std::string, Params>> usable;
  for (const auto& [name, params] : members) {
    std::vector<std::unique_ptr<Model>> fitted;
    bool skip = false;
    for (const EvalData* validation : validations) {
      ASSIGN_OR_RETURN(std::unique_ptr<Model> model, MakeModel(name, params, eval.threads));
      absl::Status s = model->Fit(validation->train);
      if (s.code() == absl::StatusCode::kFailedPrecondition && fitted.empty()) {
        skip = true;
        break;
      }
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat("hybrid member ", name, ": ", s.message()));
      fitted.push_back(std::move(model));
    }
    if (skip) continue;
    for (size_t f = 0; f < validations.size(); ++f) on_validation[f].push_back(std::move(fitted[f]));
    usable.push_back({name, params});
  }
  if (usable.empty()) return absl::FailedPreconditionError("hybrid: no member could be fitted");
  std::vector<std::vector<const Model*>> views(validations.size());
  for (size_t f = 0; f < validations.size(); ++f) {
    for (const auto& m : on_validation[f]) views[f].push_back(m.get());
  }
  out.fit = LearnBlendWeights(views, validations, eval, options);
  on_validation.clear();

  std::vector<HybridMember> hybrid_members;
  AlgorithmResult& r = out.result;
  r.name = "hybrid";
  for (size_t j = 0; j < usable.size(); ++j) {
    const auto& [name, params] = usable[j];
    out.members.push_back(name);
    r.params[absl::StrCat("w_", name)] = absl::StrCat(out.fit.weights[j]);
    if (out.fit.weights[j] == 0) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<Model> model, MakeModel(name, params, eval.threads));
    if (absl::Status s = model->Fit(test.train); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("hybrid member ", name, ": ", s.message()));
    }
    for (const auto& [k, v] : model->params()) r.params[absl::StrCat(name, ".", k)] = v;
    hybrid_members.push_back({std::shared_ptr<Model>(std::move(model)), out.fit.weights[j]});
  }
  HybridModel hybrid(std::move(hybrid_members), /*fit_members=*/false);
  r.fit_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const absl::Time eval_start = absl::Now();
  r.metrics = EvaluateModel(hybrid, test, eval);
  r.eval_seconds = absl::ToDoubleSeconds(absl::Now() - eval_start);
  r.validation_ndcg = out.fit.ndcg;
  r.params["blend_folds"] = absl::StrCat(out.fit.folds);
  if (out.fit.fell_back) r.params["blend_fell_back_to"] = usable[out.fit.best_member].first;
  return out;
}

}  // namespace marketlens::recommender
