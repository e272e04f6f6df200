#include "services/recommender/bundle/trainer.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/macros.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/algo/copurchase.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/algo/item_knn.h"
#include "services/recommender/algo/ncf.h"
#include "services/recommender/algo/popularity.h"
#include "services/recommender/algo/two_tower.h"
#include "services/recommender/eval/split.h"

namespace marketlens::recommender {
namespace {

Params Prefixed(const Params& params, absl::string_view prefix) {
  Params out;
  const std::string p = absl::StrCat(prefix, ".");
  for (const auto& [k, v] : params) {
    if (absl::StartsWith(k, p)) out[k.substr(p.size())] = v;
  }
  return out;
}

ItemKind KindOf(EventType t) {
  switch (t) {
    case EventType::kPurchase:
      return ItemKind::kBought;
    case EventType::kAddToCart:
      return ItemKind::kCarted;
    case EventType::kLike:
      return ItemKind::kLiked;
    case EventType::kRating:
      return ItemKind::kRated;
    case EventType::kView:
    case EventType::kClick:
      return ItemKind::kViewed;
    default:
      return ItemKind::kNone;
  }
}

absl::Status ReadWeight(const Params& params, const std::string& key, float* out) {
  auto it = params.find(key);
  if (it == params.end()) return absl::OkStatus();
  if (!absl::SimpleAtof(it->second, out) || *out < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("train: ", key, "=`", it->second, "` must be a number >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainResult> TrainBundle(const TrainInput& input, const TrainConfig& config) {
  if (input.log == nullptr) return absl::InvalidArgumentError("train: no interactions");
  const std::string& algo = config.algorithm;
  if (algo != "hybrid" && algo != "als" && algo != "item_knn" && algo != "popularity" &&
      algo != "two_tower" && algo != "ncf") {
    return absl::InvalidArgumentError(absl::StrCat(
        "train: algorithm must be hybrid, als, item_knn, popularity, two_tower or ncf, got `", algo, "`"));
  }
  for (const auto& [k, v] : config.params) {
    if (k == "w_als" || k == "w_item_knn" || k == "w_popularity" || absl::StartsWith(k, "als.") ||
        absl::StartsWith(k, "item_knn.") || absl::StartsWith(k, "copurchase.") ||
        absl::StartsWith(k, "two_tower.") || absl::StartsWith(k, "ncf.")) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat("train: unknown parameter `", k, "`"));
  }
  const absl::Time start = absl::Now();
  TrainResult result;
  ModelBundle& b = result.bundle;
  b.algorithm = algo;
  b.params = config.params;
  b.w_als = algo == "hybrid" || algo == "als" || algo == "two_tower" || algo == "ncf" ? 1.0f : 0.0f;
  b.w_item_knn = algo == "hybrid" ? 0.5f : (algo == "item_knn" ? 1.0f : 0.0f);
  b.w_popularity = algo == "hybrid" ? 0.1f : (algo == "popularity" ? 1.0f : 0.0f);
  if (algo == "hybrid") {
    for (auto [key, w] : {std::pair<const char*, float*>{"w_als", &b.w_als},
                          {"w_item_knn", &b.w_item_knn},
                          {"w_popularity", &b.w_popularity}}) {
      RETURN_IF_ERROR(ReadWeight(config.params, key, w));
    }
  }

  InteractionLog clean = Clean(*input.log, config.hygiene, &result.hygiene);
  if (clean.events.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("train: no interactions left after hygiene (", result.hygiene.ToString(), ")"));
  }
  BuildOptions build{.weights = config.weights};
  // The two-tower item tower embeds catalogue items nobody has touched yet (cold start) from their content.
  build.include_catalog_items = algo == "two_tower" && input.catalog != nullptr;
  const TrainingData data = BuildTrainingData(clean, build, input.catalog);

  // Components.
  auto als_or = MakeModel("als", Prefixed(config.params, "als"), config.threads);
  auto knn_or = MakeModel("item_knn", Prefixed(config.params, "item_knn"), config.threads);
  auto co_or = MakeModel("copurchase", Prefixed(config.params, "copurchase"), config.threads);
  for (const auto* m : {&als_or, &knn_or, &co_or}) {
    if (!m->ok()) return m->status();
  }
  if (algo == "two_tower") {
    // Served through the factor path: user vectors are the user tower on the training history, item vectors
    // the item tower, and an unknown user is folded in as the mean of their items' vectors (fold_in=mean).
    ASSIGN_OR_RETURN(auto tt_or,
                     MakeModel("two_tower", Prefixed(config.params, "two_tower"), config.threads));
    auto* tt = static_cast<TwoTowerModel*>(tt_or.get());
    RETURN_IF_ERROR(tt->Fit(data));
    b.factors = static_cast<int32_t>(tt->item_vectors().cols());
    b.user_factors.resize(static_cast<size_t>(data.num_users()) * b.factors);
    for (int32_t u = 0; u < data.num_users(); ++u) {
      const Eigen::VectorXf v = tt->EmbedUser(u, HistoryOf(data, u));
      std::copy(v.data(), v.data() + b.factors, b.user_factors.begin() + static_cast<size_t>(u) * b.factors);
    }
    b.item_factors.assign(tt->item_vectors().data(), tt->item_vectors().data() + tt->item_vectors().size());
    for (const auto& [k, v] : tt->params()) b.params.try_emplace("two_tower." + k, v);
    b.params["fold_in"] = "mean";
  } else if (algo == "ncf") {
    // Served through the NCF section: the scorer's parts (GMF weights folded into the user vectors, the
    // users' and items' parts of the hidden layer precomputed); fresh feedback folds in through the users
    // who share the items (NcfScorer::ScoreHistory).
    ASSIGN_OR_RETURN(auto ncf_or, MakeModel("ncf", Prefixed(config.params, "ncf"), config.threads));
    auto* ncf = static_cast<NcfModel*>(ncf_or.get());
    RETURN_IF_ERROR(ncf->Fit(data));
    const NcfScorer::Parts& p = ncf->scorer().parts();
    b.ncf_factors = static_cast<int32_t>(p.item_gmf.cols());
    b.ncf_hidden = static_cast<int32_t>(p.item_hidden.cols());
    auto copy = [](const auto& m) { return std::vector<float>(m.data(), m.data() + m.size()); };
    b.ncf_user_gmf = copy(p.user_gmf);
    b.ncf_user_hidden = copy(p.user_hidden);
    b.ncf_item_gmf = copy(p.item_gmf);
    b.ncf_item_hidden = copy(p.item_hidden);
    b.ncf_w_mlp = copy(p.w_mlp);
    b.ncf_item_bias = copy(p.item_bias);
    for (const auto& [k, v] : ncf->params()) b.params.try_emplace("ncf." + k, v);
  } else if (b.w_als > 0) {
    auto* als = static_cast<AlsModel*>(als_or->get());
    RETURN_IF_ERROR(als->Fit(data));
    b.factors = als->options().factors;
    b.als_alpha = als->options().alpha;
    b.als_regularization = als->options().regularization;
    b.user_factors.assign(als->user_factors().data(),
                          als->user_factors().data() + als->user_factors().size());
    b.item_factors.assign(als->item_factors().data(),
                          als->item_factors().data() + als->item_factors().size());
    for (const auto& [k, v] : als->params()) b.params.try_emplace("als." + k, v);
  }
  auto* knn = static_cast<ItemKnnModel*>(knn_or->get());
  RETURN_IF_ERROR(knn->Fit(data));
  b.item_neighbors = knn->neighbors();
  auto* co = static_cast<CoPurchaseModel*>(co_or->get());
  RETURN_IF_ERROR(co->Fit(data));
  b.copurchase = co->neighbors();

  // Ids, histories, categories.
  b.users = data.users;
  b.items = data.items;
  b.user_items = data.user_items;
  b.user_item_kind.assign(b.user_items.values.size(), 0);
  for (const Event& e : data.events) {
    const auto idx = b.user_items.RowIndices(e.user);
    auto it = std::lower_bound(idx.begin(), idx.end(), e.item);
    if (it == idx.end() || *it != e.item) continue;
    uint8_t& kind = b.user_item_kind[b.user_items.indptr[e.user] + (it - idx.begin())];
    kind = std::max<uint8_t>(kind, static_cast<uint8_t>(KindOf(e.type)));
  }
  b.item_category.resize(data.num_items());
  for (int32_t i = 0; i < data.num_items(); ++i) b.item_category[i] = data.Category(i);

  // Popularity tables.
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  b.pop_all = CountDistinctUsers(data, lo, hi);
  b.recent_window_seconds = config.recent_window_seconds;
  b.pop_recent = CountDistinctUsers(data, data.time_to - config.recent_window_seconds, hi);
  for (auto& v : b.pop_daypart) v.assign(data.num_items(), 0);
  {
    absl::flat_hash_set<uint64_t> seen;  // (user, item, daypart) counted once
    for (const Event& e : data.events) {
      if (!IsPositive(e.type)) continue;
      const int64_t seconds_of_day = ((e.timestamp % 86400) + 86400) % 86400;
      const int part = DaypartOfHour(static_cast<int>(seconds_of_day / 3600));
      const uint64_t key =
          (static_cast<uint64_t>(e.user) << 34) ^ (static_cast<uint64_t>(e.item) << 2) ^ part;
      if (seen.insert(key).second) b.pop_daypart[part][e.item] += 1;
    }
  }
  if (input.user_region != nullptr) {
    absl::flat_hash_set<uint64_t> seen;
    for (const Event& e : data.events) {
      if (!IsPositive(e.type)) continue;
      auto it = input.user_region->find(data.users.Name(e.user));
      if (it == input.user_region->end() || it->second.empty()) continue;
      if (!seen.insert((static_cast<uint64_t>(e.user) << 32) | static_cast<uint32_t>(e.item)).second)
        continue;
      auto [slot, added] = b.pop_region.try_emplace(it->second);
      if (added) slot->second.assign(data.num_items(), 0);
      slot->second[e.item] += 1;
    }
  }

  // Metadata.
  b.data_from = data.time_from;
  b.data_to = data.time_to;
  b.trained_at = config.trained_at != 0 ? config.trained_at : absl::ToUnixSeconds(absl::Now());
  b.version = config.version.empty()
                  ? absl::StrCat("v",
                                 absl::FormatTime("%Y%m%dT%H%M%S", absl::FromUnixSeconds(b.trained_at),
                                                  absl::UTCTimeZone()),
                                 "-", algo)
                  : config.version;
  b.metrics["users"] = data.num_users();
  b.metrics["items"] = data.num_items();
  b.metrics["interactions"] = static_cast<double>(data.user_items.nnz());
  b.metrics["hygiene.duplicate_events"] = static_cast<double>(result.hygiene.duplicate_events);
  b.metrics["hygiene.bot_users"] = static_cast<double>(result.hygiene.bot_users);
  b.metrics["hygiene.users_dropped"] = static_cast<double>(result.hygiene.users_dropped);
  b.metrics["hygiene.items_dropped"] = static_cast<double>(result.hygiene.items_dropped);
  b.params["event_weights"] =
      absl::StrCat("view=", config.weights.view, ",click=", config.weights.click,
                   ",add_to_cart=", config.weights.add_to_cart, ",purchase=", config.weights.purchase,
                   ",like=", config.weights.like);
  b.params["min_user_interactions"] = absl::StrCat(config.hygiene.min_user_interactions);
  b.params["min_item_interactions"] = absl::StrCat(config.hygiene.min_item_interactions);

  // Offline metrics of the shipped blend on a temporal holdout.
  if (config.evaluate) {
    Split split = TemporalLeaveLastN(clean, config.eval_leave_last);
    EvalOptions eval{.k = config.eval_k, .threads = config.threads};
    eval.hygiene.min_user_interactions = 0;
    eval.hygiene.min_item_interactions = 0;
    eval.hygiene.bot_max_events_per_minute = 0;
    eval.build.weights = config.weights;
    absl::StatusOr<EvalData> ed = PrepareEvaluation(split.train, split.test, input.catalog, eval);
    if (ed.ok()) {
      std::vector<std::pair<std::string, Params>> algorithms = {{"popularity", {}}};
      if (algo == "hybrid") {
        Params hp;
        for (const auto& [k, v] : config.params) {
          if (!absl::StartsWith(k, "copurchase.")) hp[k] = v;
        }
        hp["w_als"] = absl::StrCat(b.w_als);
        hp["w_item_knn"] = absl::StrCat(b.w_item_knn);
        hp["w_popularity"] = absl::StrCat(b.w_popularity);
        hp["w_content"] = "0";
        algorithms.push_back({"hybrid", hp});
      } else if (algo != "popularity") {
        algorithms.push_back({algo, Prefixed(config.params, algo)});
      }
      result.evaluation = EvaluateAlgorithms(*ed, algorithms, eval);
      const int k = config.eval_k;
      for (const AlgorithmResult& r : result.evaluation) {
        if (!r.status.ok()) continue;
        const std::string prefix = r.name == "popularity" && algo != "popularity" ? "popularity." : "";
        b.metrics[absl::StrCat(prefix, "precision@", k)] = r.metrics.precision;
        b.metrics[absl::StrCat(prefix, "recall@", k)] = r.metrics.recall;
        b.metrics[absl::StrCat(prefix, "ndcg@", k)] = r.metrics.ndcg;
        b.metrics[absl::StrCat(prefix, "map@", k)] = r.metrics.map;
        b.metrics[absl::StrCat(prefix, "coverage")] = r.metrics.coverage;
        b.metrics[absl::StrCat(prefix, "diversity")] = r.metrics.diversity;
        b.metrics[absl::StrCat(prefix, "novelty")] = r.metrics.novelty;
      }
      b.metrics["eval.users"] = static_cast<double>(ed->eval_users.size());
    } else {
      b.metrics["eval.users"] = 0;  // too little data for a holdout; the model is still usable
    }
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  b.metrics["train_seconds"] = result.seconds;
  if (absl::Status s = b.Validate(); !s.ok())
    return absl::InternalError(absl::StrCat("train: ", s.message()));
  return result;
}

}  // namespace marketlens::recommender
