#include "services/recommender/eval/tuning.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {

Grid DefaultGrid(const std::string& algorithm) {
  if (algorithm == "als") {
    return {{"factors", {"16", "32", "64"}},
            {"regularization", {"0.01", "0.1", "1"}},
            {"alpha", {"1", "4", "16"}}};
  }
  if (algorithm == "item_knn" || algorithm == "item_knn_bm25") {
    return {{"neighbors", {"20", "50", "200"}}, {"shrink", {"0", "10", "50"}}};
  }
  if (algorithm == "ease") return {{"lambda", {"50", "200", "500", "1000"}}};
  if (algorithm == "copurchase") return {{"min_support", {"1", "2", "5"}}, {"shrink", {"0", "5", "20"}}};
  if (algorithm == "content")
    return {{"category_weight", {"1", "2", "4"}}, {"description_weight", {"0.25", "0.5", "1"}}};
  if (algorithm == "popularity_window") return {{"window_days", {"7", "30", "90"}}};
  if (algorithm == "hybrid") {
    return {{"w_item_knn", {"0", "0.25", "0.5", "1"}},
            {"w_popularity", {"0", "0.1", "0.3"}},
            {"w_content", {"0", "0.2"}}};
  }
  return {};
}

std::vector<Params> ExpandGrid(const Grid& grid, const Params& base) {
  std::vector<Params> out = {base};
  for (const auto& [key, values] : grid) {
    std::vector<Params> next;
    for (const Params& p : out) {
      for (const std::string& v : values) {
        Params q = p;
        q[key] = v;
        next.push_back(std::move(q));
      }
    }
    out = std::move(next);
  }
  return out;
}

SearchSpace DefaultSpace(const std::string& algorithm) {
  using D = Dimension;
  SearchSpace s;
  if (algorithm == "als") {
    s.dimensions = {{"factors", 16, 256, D::kLog, true},
                    {"regularization", 1e-3, 100, D::kLog},
                    {"alpha", 0.1, 100, D::kLog},
                    {"iterations", 5, 30, D::kLinear, true}};
    s.fidelity_param = "iterations";
  } else if (algorithm == "item_knn") {
    s.dimensions = {{"neighbors", 10, 1000, D::kLog, true}, {"shrink", 0, 200, D::kLinear}};
  } else if (algorithm == "item_knn_bm25") {
    s.dimensions = {{"neighbors", 10, 1000, D::kLog, true},
                    {"shrink", 0, 200, D::kLinear},
                    {"bm25_k1", 0.3, 3, D::kLog},
                    {"bm25_b", 0, 1, D::kLinear}};
  } else if (algorithm == "ease") {
    s.dimensions = {{"lambda", 1, 1e4, D::kLog}};
  } else if (algorithm == "copurchase") {
    s.dimensions = {{"min_support", 1, 6, D::kLinear, true}, {"shrink", 0, 50, D::kLinear}};
  } else if (algorithm == "content") {
    s.dimensions = {{"category_weight", 0.25, 8, D::kLog}, {"description_weight", 0.05, 2, D::kLog}};
  } else if (algorithm == "popularity_window") {
    s.dimensions = {{"window_days", 1, 365, D::kLog}};
  } else if (algorithm.find("ncf") != std::string::npos || algorithm.find("two_tower") != std::string::npos) {
    s.dimensions = {{"factors", 16, 128, D::kLog, true},
                    {"learning_rate", 0.005, 0.2, D::kLog},
                    {"regularization", 1e-6, 1e-2, D::kLog},
                    {"epochs", 5, 40, D::kLinear, true}};
    s.fidelity_param = "epochs";
  } else if (algorithm == "session_knn") {
    s.dimensions = {{"neighbors", 20, 1000, D::kLog, true}, {"sample", 100, 5000, D::kLog, true}};
  } else if (algorithm == "hybrid") {
    s.dimensions = {{"w_item_knn", 0, 1, D::kLinear},
                    {"w_popularity", 0, 0.3, D::kLinear},
                    {"w_content", 0, 0.3, D::kLinear}};
  }
  return s;
}

namespace {

double RadicalInverse(int64_t index, int base) {
  double result = 0, f = 1.0 / base;
  while (index > 0) {
    result += f * (index % base);
    index /= base;
    f /= base;
  }
  return result;
}

constexpr int kPrimes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};

std::string FormatValue(const Dimension& d, double v) {
  if (d.integer) return absl::StrCat(static_cast<int64_t>(std::llround(v)));
  return absl::StrFormat("%.4g", v);
}

}  // namespace

std::vector<Params> SampleSpace(const SearchSpace& space, int n, uint64_t seed, const Params& base) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<double> shift(space.dimensions.size());
  for (double& s : shift) s = uniform(rng);  // Cranley-Patterson rotation: a different scramble per seed
  std::vector<Params> out;
  for (int i = 0; i < n; ++i) {
    Params p = base;
    for (size_t d = 0; d < space.dimensions.size(); ++d) {
      const Dimension& dim = space.dimensions[d];
      if (base.count(dim.name)) continue;
      double u = RadicalInverse(i + 1, kPrimes[d % 10]) + shift[d];
      u -= std::floor(u);
      double v = dim.scale == Dimension::kLog
                     ? std::exp(std::log(dim.lo) + u * (std::log(dim.hi) - std::log(dim.lo)))
                     : dim.lo + u * (dim.hi - dim.lo);
      p[dim.name] = FormatValue(dim, v);
    }
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<TuningResult> TuneOn(const std::string& algorithm, const EvalData& validation,
                                    const Params& base, const EvalOptions& eval,
                                    const TuningOptions& options) {
  const absl::Time start = absl::Now();
  const SearchSpace space = DefaultSpace(algorithm);
  TuningResult result;
  bool searchable = false;
  for (const Dimension& d : space.dimensions) searchable = searchable || !base.count(d.name);
  if (!searchable || options.max_trials <= 1) {  // nothing to choose
    result.best = base;
    return result;
  }
  std::vector<Params> alive = SampleSpace(space, options.max_trials, options.seed, base);
  const int eta = std::max(2, options.eta);
  // Fewer rungs when there are few candidates: the last rung should still hold one or more.
  int rungs = std::max(1, options.rungs);
  while (rungs > 1 && std::pow(eta, rungs - 1) > alive.size()) --rungs;
  // Validation users in a fixed shuffled order, so a cheap rung evaluates a random subset.
  std::vector<int32_t> users = validation.eval_users;
  std::shuffle(users.begin(), users.end(), std::mt19937_64(options.seed + 1));
  for (int rung = 0; rung < rungs && !alive.empty(); ++rung) {
    const double fidelity = std::pow(static_cast<double>(eta), rung - rungs + 1);
    const size_t n_users =
        std::min(users.size(), std::max<size_t>(std::min<size_t>(users.size(), 100),
                                                static_cast<size_t>(std::ceil(fidelity * users.size()))));
    absl::Span<const int32_t> rung_users(users.data(), n_users);
    std::vector<std::pair<double, size_t>> scored;
    for (size_t c = 0; c < alive.size(); ++c) {
      if (options.time_budget_seconds > 0 && !result.trials.empty() &&
          absl::ToDoubleSeconds(absl::Now() - start) > options.time_budget_seconds) {
        result.budget_exhausted = true;
        break;
      }
      Trial t;
      t.rung = rung;
      t.fidelity = fidelity;
      t.params = alive[c];
      Params fit_params = alive[c];
      if (!space.fidelity_param.empty() && fidelity < 1) {
        int full = space.default_fidelity;
        auto it = fit_params.find(space.fidelity_param);
        if (it != fit_params.end()) (void)absl::SimpleAtoi(it->second, &full);
        if (full > 0) {
          fit_params[space.fidelity_param] =
              absl::StrCat(std::max(2, static_cast<int>(std::lround(full * fidelity))));
        }
      }
      const absl::Time trial_start = absl::Now();
      absl::StatusOr<std::unique_ptr<Model>> model = MakeModel(algorithm, fit_params, eval.threads);
      t.status = model.ok() ? (*model)->Fit(validation.train) : model.status();
      if (t.status.ok()) {
        t.ndcg = EvaluateModel(**model, validation, eval, rung_users).ndcg;
        scored.push_back({t.ndcg, c});
      }
      t.seconds = absl::ToDoubleSeconds(absl::Now() - trial_start);
      result.trials.push_back(std::move(t));
    }
    if (scored.empty()) break;
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    result.best = alive[scored[0].second];
    result.best_ndcg = scored[0].first;
    result.best_rung = rung;
    if (result.budget_exhausted) break;
    const size_t keep = std::max<size_t>(1, alive.size() / eta);
    std::vector<Params> next;
    for (size_t n = 0; n < std::min(keep, scored.size()); ++n) next.push_back(alive[scored[n].second]);
    if (rung + 1 < rungs) alive = std::move(next);
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (result.best_ndcg < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        algorithm, ": no candidate could be fitted: ",
        result.trials.empty() ? std::string("no trial ran") : result.trials[0].status.ToString()));
  }
  return result;
}

absl::StatusOr<TuningResult> Tune(const std::string& algorithm, const InteractionLog& train,
                                  const ItemCatalog* catalog, const Params& base, const EvalOptions& eval,
                                  const TuningOptions& options) {
  const SearchSpace space = DefaultSpace(algorithm);
  bool searchable = false;
  for (const Dimension& d : space.dimensions) searchable = searchable || !base.count(d.name);
  if (!searchable || options.max_trials <= 1) {
    TuningResult result;
    result.best = base;
    return result;
  }
  Split split = RandomPerUser(train, options.validation_fraction, options.seed);
  EvalOptions validation_options = eval;
  validation_options.max_users = 0;
  absl::StatusOr<EvalData> data = PrepareEvaluation(split.train, split.test, catalog, validation_options);
  if (!data.ok()) {
    return absl::Status(data.status().code(), absl::StrCat("validation split: ", data.status().message()));
  }
  return TuneOn(algorithm, *data, base, eval, options);
}

std::string DescribeTuning(const TuningResult& result, int k) {
  return absl::StrFormat("%s (validation NDCG@%d %.4f after %d trials in %.1f s, rung %d%s)",
                         FormatParams(result.best), k, result.best_ndcg,
                         static_cast<int>(result.trials.size()), result.seconds, result.best_rung,
                         result.budget_exhausted ? ", time budget hit" : "");
}

}  // namespace marketlens::recommender
