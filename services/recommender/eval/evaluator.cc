#include "services/recommender/eval/evaluator.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/algo/parallel.h"

namespace marketlens::recommender {

absl::StatusOr<EvalData> PrepareEvaluation(const InteractionLog& train, const InteractionLog& test,
                                           const ItemCatalog* catalog, const EvalOptions& options) {
  if (options.k < 1) return absl::InvalidArgumentError(absl::StrCat("k must be >= 1, got ", options.k));
  EvalData d;
  InteractionLog clean = Clean(train, options.hygiene, &d.hygiene);
  if (clean.events.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no training data left after hygiene (", d.hygiene.ToString(), ")"));
  }
  d.train = BuildTrainingData(clean, options.build, catalog);
  d.relevant.assign(d.train.num_users(), {});
  d.item_users.assign(d.train.num_items(), 0);
  for (int32_t i = 0; i < d.train.num_items(); ++i) d.item_users[i] = d.train.item_users.RowSize(i);

  // Relevant test items per user. Items unknown to training get ids past the catalogue so they count in
  // |relevant| but can never be hit.
  absl::flat_hash_map<std::string, int32_t> unknown_items;
  std::vector<bool> seen_test_user(test.users.size(), false);
  for (const Event& e : test.events) {
    if (!IsPositive(e.type)) continue;
    if (e.type == EventType::kRating && e.value < options.relevance_min_rating) continue;
    if (!seen_test_user[e.user]) {
      seen_test_user[e.user] = true;
      ++d.test_users;
    }
    const int32_t u = d.train.users.Find(test.users.Name(e.user));
    if (u < 0) continue;
    int32_t i = d.train.items.Find(test.items.Name(e.item));
    if (i < 0) {
      auto [it, added] = unknown_items.try_emplace(
          test.items.Name(e.item), d.train.num_items() + static_cast<int32_t>(unknown_items.size()));
      i = it->second;
    } else if (d.train.user_items.At(u, i) > 0) {
      continue;  // already had it in training
    }
    d.relevant[u].push_back(i);
  }
  int64_t cold = 0;
  for (size_t tu = 0; tu < seen_test_user.size(); ++tu) {
    if (seen_test_user[tu] && d.train.users.Find(test.users.Name(static_cast<int32_t>(tu))) < 0) ++cold;
  }
  d.cold_test_users = cold;
  for (int32_t u = 0; u < d.train.num_users(); ++u) {
    auto& r = d.relevant[u];
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    if (r.empty()) continue;
    d.eval_users.push_back(u);
  }
  if (options.max_users > 0 && static_cast<int>(d.eval_users.size()) > options.max_users) {
    std::vector<int32_t> sample;
    const double step = static_cast<double>(d.eval_users.size()) / options.max_users;
    for (int n = 0; n < options.max_users; ++n) sample.push_back(d.eval_users[static_cast<size_t>(n * step)]);
    d.eval_users = std::move(sample);
  }
  for (int32_t u : d.eval_users) {
    d.test_pairs += d.relevant[u].size();
    for (int32_t i : d.relevant[u]) d.unknown_item_pairs += i >= d.train.num_items();
  }
  if (d.eval_users.empty()) {
    return absl::FailedPreconditionError(
        "no test user has relevant test items and a training history (check the files belong together)");
  }
  return d;
}

EvalMetrics EvaluateModel(const Model& model, const EvalData& data, const EvalOptions& options) {
  return EvaluateModel(model, data, options, data.eval_users);
}

EvalMetrics EvaluateModel(const Model& model, const EvalData& data, const EvalOptions& options,
                          absl::Span<const int32_t> users) {
  const int threads = ResolveThreads(options.threads);
  ItemCooccurrenceSimilarity similarity(data.train);
  std::vector<std::unique_ptr<MetricsAccumulator>> acc;
  for (int t = 0; t < threads; ++t) {
    acc.push_back(std::make_unique<MetricsAccumulator>(options.k, data.train.num_items(), &data.item_users,
                                                       data.train.num_users(), similarity));
  }
  std::vector<std::vector<float>> buffers(threads, std::vector<float>(data.train.num_items()));
  ParallelFor(static_cast<int64_t>(users.size()), threads, 32, [&](int64_t begin, int64_t end, int t) {
    std::vector<int32_t> ranked;
    for (int64_t n = begin; n < end; ++n) {
      const int32_t u = users[n];
      const UserHistory h = HistoryOf(data.train, u);
      model.Score(u, h, absl::MakeSpan(buffers[t]));
      ranked.clear();
      for (const ScoredItem& s : TopN(buffers[t], options.k, h.items)) ranked.push_back(s.item);
      acc[t]->Add(ranked, data.relevant[u]);
    }
  });
  for (int t = 1; t < threads; ++t) acc[0]->Merge(*acc[t]);
  return acc[0]->Finish();
}

std::vector<AlgorithmResult> EvaluateAlgorithms(const EvalData& data,
                                                const std::vector<std::pair<std::string, Params>>& algorithms,
                                                const EvalOptions& options) {
  std::vector<AlgorithmResult> results;
  for (const auto& [name, params] : algorithms) {
    AlgorithmResult r;
    r.name = name;
    absl::StatusOr<std::unique_ptr<Model>> model = MakeModel(name, params, options.threads);
    if (!model.ok()) {
      r.status = model.status();
      results.push_back(r);
      continue;
    }
    const absl::Time fit_start = absl::Now();
    r.status = (*model)->Fit(data.train);
    r.fit_seconds = absl::ToDoubleSeconds(absl::Now() - fit_start);
    r.params = (*model)->params();
    if (r.status.ok()) {
      const absl::Time eval_start = absl::Now();
      r.metrics = EvaluateModel(**model, data, options);
      r.eval_seconds = absl::ToDoubleSeconds(absl::Now() - eval_start);
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace marketlens::recommender
