#include "services/recommender/algo/factory.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"
#include "services/recommender/algo/als.h"
#include "services/recommender/algo/content.h"
#include "services/recommender/algo/copurchase.h"
#include "services/recommender/algo/ease.h"
#include "services/recommender/algo/hybrid.h"
#include "services/recommender/algo/item_knn.h"
#include "services/recommender/algo/ncf.h"
#include "services/recommender/algo/popularity.h"
#include "services/recommender/algo/two_tower.h"

namespace marketlens::recommender {
namespace {

// Reads typed values out of Params and remembers which keys were used, so leftovers can be reported.
class ParamReader {
 public:
  ParamReader(const Params& params, std::string algorithm)
      : params_(params), algorithm_(std::move(algorithm)) {}

  template <typename T>
  void Get(const std::string& key, T* out) {
    auto it = params_.find(key);
    if (it == params_.end()) return;
    used_.insert(key);
    bool ok;
    if constexpr (std::is_same_v<T, bool>) {
      ok = absl::SimpleAtob(it->second, out);
    } else if constexpr (std::is_floating_point_v<T>) {
      double v;
      ok = absl::SimpleAtod(it->second, &v);
      *out = static_cast<T>(v);
    } else {
      ok = absl::SimpleAtoi(it->second, out);
    }
    if (!ok && status_.ok()) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(algorithm_, ": parameter ", key, "=`", it->second, "` is not a valid value"));
    }
  }
  void GetString(const std::string& key, std::string* out) {
    auto it = params_.find(key);
    if (it == params_.end()) return;
    used_.insert(key);
    *out = it->second;
  }
  void Ignore(const std::string& key) { used_.insert(key); }
  void Fail(absl::Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  absl::Status Finish(bool allow_prefixed = false) {
    RETURN_IF_ERROR(status_);
    for (const auto& [k, v] : params_) {
      if (used_.contains(k)) continue;
      if (allow_prefixed && k.find('.') != std::string::npos) continue;
      return absl::InvalidArgumentError(absl::StrCat(algorithm_, ": unknown parameter `", k, "`"));
    }
    return absl::OkStatus();
  }

 private:
  const Params& params_;
  std::string algorithm_;
  absl::flat_hash_set<std::string> used_;
  absl::Status status_;
};

// The params of `prefix.`-keys, with the prefix removed.
Params SubParams(const Params& params, absl::string_view prefix) {
  Params out;
  const std::string p = absl::StrCat(prefix, ".");
  for (const auto& [k, v] : params) {
    if (absl::StartsWith(k, p)) out[k.substr(p.size())] = v;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& AlgorithmNames() {
  static const auto* names =
      new std::vector<std::string>{"popularity", "popularity_window", "popularity_category",
                                   "item_knn",   "item_knn_bm25",     "ease",
                                   "als",        "copurchase",        "content",
                                   "ncf",        "two_tower",         "hybrid"};
  return *names;
}

absl::StatusOr<std::unique_ptr<Model>> MakeModel(absl::string_view name, const Params& params, int threads) {
  ParamReader r(params, std::string(name));
  std::unique_ptr<Model> model;
  if (name == "popularity" || name == "popularity_window" || name == "popularity_category") {
    PopularityOptions o;
    double days = name == "popularity_window" ? 7 : 0;
    r.Get("window_days", &days);
    o.window_seconds = static_cast<int64_t>(days * 86400);
    o.by_category = name == "popularity_category";
    model = std::make_unique<PopularityModel>(o);
  } else if (name == "item_knn" || name == "item_knn_bm25") {
    ItemKnnOptions o;
    o.bm25 = name == "item_knn_bm25";
    o.threads = threads;
    r.Get("neighbors", &o.neighbors);
    r.Get("shrink", &o.shrink);
    r.Get("binary", &o.binary);
    r.Get("bm25_k1", &o.bm25_k1);
    r.Get("bm25_b", &o.bm25_b);
    r.Get("max_user_items", &o.max_user_items);
    model = std::make_unique<ItemKnnModel>(o);
  } else if (name == "ease") {
    EaseOptions o;
    o.threads = threads;
    r.Get("lambda", &o.lambda);
    r.Get("max_items", &o.max_items);
    model = std::make_unique<EaseModel>(o);
  } else if (name == "als") {
    AlsOptions o;
    o.threads = threads;
    r.Get("factors", &o.factors);
    r.Get("regularization", &o.regularization);
    r.Get("alpha", &o.alpha);
    r.Get("iterations", &o.iterations);
    r.Get("cg_steps", &o.cg_steps);
    int seed = static_cast<int>(o.seed);
    r.Get("seed", &seed);
    o.seed = seed;
    model = std::make_unique<AlsModel>(o);
  } else if (name == "ncf") {
    NcfOptions o;
    r.Get("factors", &o.factors);
    r.Get("hidden", &o.hidden);
    r.Get("learning_rate", &o.learning_rate);
    r.Get("regularization", &o.regularization);
    r.Get("epochs", &o.epochs);
    int seed = static_cast<int>(o.seed);
    r.Get("seed", &seed);
    o.seed = seed;
    model = std::make_unique<NcfModel>(o);
  } else if (name == "two_tower") {
    TwoTowerOptions o;
    r.Get("factors", &o.factors);
    r.Get("learning_rate", &o.learning_rate);
    r.Get("regularization", &o.regularization);
    r.Get("epochs", &o.epochs);
    r.Get("id_dropout", &o.id_dropout);
    r.Get("history_cap", &o.history_cap);
    int seed = static_cast<int>(o.seed);
    r.Get("seed", &seed);
    o.seed = seed;
    model = std::make_unique<TwoTowerModel>(o);
  } else if (name == "copurchase") {
    CoPurchaseOptions o;
    o.threads = threads;
    r.Get("min_support", &o.min_support);
    r.Get("shrink", &o.shrink);
    r.Get("neighbors", &o.neighbors);
    r.Get("purchases_only", &o.purchases_only);
    r.Get("max_basket", &o.max_basket);
    std::string basket = "auto";
    r.GetString("basket", &basket);
    if (basket == "auto")
      o.basket = BasketBy::kAuto;
    else if (basket == "session")
      o.basket = BasketBy::kSession;
    else if (basket == "user_day")
      o.basket = BasketBy::kUserDay;
    else if (basket == "user")
      o.basket = BasketBy::kUser;
    else
      r.Fail(absl::InvalidArgumentError(
          absl::StrCat("copurchase: basket must be auto, session, user_day or user, got `", basket, "`")));
    model = std::make_unique<CoPurchaseModel>(o);
  } else if (name == "content") {
    ContentOptions o;
    o.threads = threads;
    r.Get("neighbors", &o.neighbors);
    r.Get("category_weight", &o.category_weight);
    r.Get("description_weight", &o.description_weight);
    r.Get("brand_weight", &o.brand_weight);
    r.Get("attribute_weight", &o.attribute_weight);
    model = std::make_unique<ContentModel>(o);
  } else if (name == "hybrid") {
    float w_als = 1, w_knn = 0.5f, w_content = 0.2f, w_pop = 0.1f;
    r.Get("w_als", &w_als);
    r.Get("w_item_knn", &w_knn);
    r.Get("w_content", &w_content);
    r.Get("w_popularity", &w_pop);
    std::vector<HybridMember> members;
    auto add = [&](absl::string_view member, float weight) -> absl::Status {
      if (weight == 0) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::unique_ptr<Model> m, MakeModel(member, SubParams(params, member), threads));
      members.push_back({std::shared_ptr<Model>(std::move(m)), weight});
      return absl::OkStatus();
    };
    for (auto [member, weight] : {std::pair<absl::string_view, float>{"als", w_als},
                                  {"item_knn", w_knn},
                                  {"content", w_content},
                                  {"popularity", w_pop}}) {
      if (absl::Status s = add(member, weight); !s.ok()) r.Fail(s);
    }
    RETURN_IF_ERROR(r.Finish(/*allow_prefixed=*/true));
    if (members.empty()) return absl::InvalidArgumentError("hybrid: every weight is 0");
    return std::unique_ptr<Model>(new HybridModel(std::move(members)));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown algorithm `", name, "` (known: ", absl::StrJoin(AlgorithmNames(), ", "), ")"));
  }
  RETURN_IF_ERROR(r.Finish());
  return model;
}

absl::StatusOr<Params> ParseParams(absl::string_view text) {
  Params p;
  for (absl::string_view kv : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    absl::string_view k = absl::StripAsciiWhitespace(parts.first);
    absl::string_view v = absl::StripAsciiWhitespace(parts.second);
    if (k.empty() || kv.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("parameter `", kv, "` is not key=value"));
    }
    p[std::string(k)] = std::string(v);
  }
  return p;
}

std::string FormatParams(const Params& params) {
  return absl::StrJoin(params, ",", absl::PairFormatter("="));
}

}  // namespace marketlens::recommender
