// Engine: the recommendation logic of the serving path, free of gRPC and storage so that every path is
// tested directly. Each call gets the model and catalogue snapshots to use (the service picks them: the
// promoted model, or an experiment variant's) and reads the shopper's online state.
//
// Recommend:
//   - a shopper with history (the model knows them, or they gave feedback since, or the request carries
//     session items) gets personal scores: the bundle's blend of ALS (their trained vector, or one folded in
//     from training history + recent feedback + session items, session items weighted up), item neighbours
//     of that history, and a little recent popularity; plus content-similar items that are new since
//     training. Reasons name the history item that contributed most ("because you bought Chef knife",
//     "because you're looking at Hose"), else "recommended for you";
//   - anyone else gets what is popular in their context: category (context.category), region
//     (context.location), part of the day (context.time), recent popularity, with the most specific reason
//     that holds ("popular in Kitchen this week", "popular in DE", "popular this evening").
// Then the business rules (rules.h). n must be 1..100 (0 means 10).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_ENGINE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_ENGINE_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/recommender/data/dataset.h"
#include "services/recommender/serving/catalog.h"
#include "services/recommender/serving/hot_cache.h"
#include "services/recommender/serving/online_state.h"
#include "services/recommender/serving/rules.h"
#include "services/recommender/serving/serving_model.h"
#include "services/recommender/serving/snapshot_memo.h"

namespace marketlens::recommender {

struct EngineOptions {
  RuleConfig rules;
  int candidate_pool = 200;  // at most this many candidates go through the business rules (4n, >= 40)
  float session_weight = 8;  // a session item weighs like this many views
  EventWeights weights;      // feedback event weights (as in training)
  int max_n = 100;
  int max_input_items = 500;  // FrequentlyBoughtTogether / Rerank inputs
  // Remembers the ranked candidate pool (item indexes and scores, before business rules) of this many
  // known shoppers per model: while a shopper gives no new feedback their pool is a pure function of the
  // model, and shoppers come back (page views, refreshes); so is each pool item's explanation (the history
  // item its reason names, and its kind: the verb), kept with the pool once made. Rules and feedback are
  // still applied per request. 0: off.
  int64_t personal_memo_users = 100000;
};

struct RecommendQuery {
  std::string user_id;  // may be empty (anonymous)
  int n = 10;
  std::string surface;
  std::string region;
  std::string category;
  absl::Time time = absl::Now();  // the shopper's time; part of the day for context popularity
  std::vector<std::string> session_items;
};

struct RecommendOutcome {
  std::vector<Candidate> items;
  std::string path;  // "personal", "session", "popular"
};

class Engine {
 public:
  // `online` is required; `cache` may be null.
  Engine(EngineOptions options, OnlineState* online, HotListCache* cache)
      : options_(std::move(options)), online_(online), cache_(cache) {}

  // INVALID_ARGUMENT for a bad n. `model` may be null (no model yet: catalogue order as "new arrivals").
  absl::StatusOr<RecommendOutcome> Recommend(const ServingModel* model, const CatalogSnapshot* catalog,
                                             const RecommendQuery& query) const;
  // NOT_FOUND for an item neither the model nor the catalogue knows.
  absl::StatusOr<std::vector<Candidate>> SimilarItems(const ServingModel* model,
                                                      const CatalogSnapshot* catalog,
                                                      const std::string& item_id, int n) const;
  absl::StatusOr<std::vector<Candidate>> FrequentlyBoughtTogether(const ServingModel* model,
                                                                  const CatalogSnapshot* catalog,
                                                                  const std::vector<std::string>& item_ids,
                                                                  int n) const;
  // The given items re-ordered for the shopper (all of them, none dropped).
  absl::StatusOr<std::vector<Candidate>> Rerank(const ServingModel* model, const CatalogSnapshot* catalog,
                                                const std::string& user_id,
                                                const std::vector<std::string>& item_ids) const;

  const EngineOptions& options() const { return options_; }

 private:
  struct History;
  History BuildHistory(const ServingModel& model, const CatalogSnapshot* catalog, const std::string& user_id,
                       const std::vector<std::string>& session_items) const;
  void PersonalScores(const ServingModel& model, const History& h, std::vector<float>& scores) const;
  // The best `pool` items by personal score (reasons are filled later by Explain, for the items kept), and
  // new catalogue items similar to recent interests.
  // Written into `out` from its start (entries beyond the count returned are stale).
  size_t PersonalCandidates(const ServingModel& model, const CatalogSnapshot* catalog, const History& h,
                            int pool, std::vector<Candidate>& out) const;
  void Explain(const ServingModel& model, const CatalogSnapshot* catalog, const History& h,
               std::vector<Candidate>& items) const;
  ItemKind KindOf(const ServingModel& model, const History& h, int32_t item) const;
  // In-process memo of context lists per (model, catalogue) snapshot, in front of the Redis hot lists:
  // the same few hundred contexts are asked for all day.
  std::shared_ptr<const std::vector<Candidate>> Memoized(
      const ServingModel& model, const CatalogSnapshot* catalog, const std::string& key,
      const std::function<std::vector<Candidate>()>& compute) const;
  // How the model's items map into a catalogue snapshot, computed once per snapshot pair (null without a
  // catalogue): candidates carry catalogue indexes, so the rules and the response do not hash ids.
  struct CatalogJoin {
    std::vector<int32_t> catalog_index;  // per model item: its index in the catalogue, or kNotInCatalog
    bool has_new_items = false;  // the catalogue has items the model does not know (new since training)
    // Per model item: the name reasons show (its catalogue title, else its id). Points into the two
    // snapshots, so it is read only while they are the call's (a join is found by their instance ids).
    std::vector<const std::string*> display_name;
  };
  std::shared_ptr<const CatalogJoin> JoinFor(const ServingModel& model, const CatalogSnapshot* catalog) const;
  std::shared_ptr<const std::vector<Candidate>> PopularCandidates(const ServingModel& model,
                                                                  const CatalogSnapshot* catalog,
                                                                  const RecommendQuery& q) const;
  absl::StatusOr<int> CheckN(int n) const;

  EngineOptions options_;
  OnlineState* online_;
  HotListCache* cache_;
  // Personal candidate pools of known shoppers without new feedback (see personal_memo_users), sharded,
  // with each pool item's explanation once Explain has made it: the history item its reason names (or
  // none) and its kind, fixed for such a shopper and model (their history is the training row).
  static constexpr int32_t kNotExplainedYet = -2;
  // A pool item's explanation: the history item its reason names (-1 none, or kNotExplainedYet) and that
  // item's kind in the shopper's history (the verb of the reason; kNone when none is named).
  struct Explanation {
    int32_t named = kNotExplainedYet;
    ItemKind kind = ItemKind::kNone;
  };
  struct PoolMemo {
    std::vector<ScoredItem> top;
    std::vector<Explanation> explained;  // per entry of `top`
  };
  struct PoolMemoShard {
    absl::Mutex mu;
    uint64_t model ABSL_GUARDED_BY(mu) = 0;  // ServingModel::instance_id()
    absl::flat_hash_map<int32_t, PoolMemo> pools ABSL_GUARDED_BY(mu);
  };
  mutable std::array<PoolMemoShard, 16> pool_memo_;

  mutable absl::Mutex joins_mu_;
  mutable absl::flat_hash_map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const CatalogJoin>> joins_
      ABSL_GUARDED_BY(joins_mu_);

  // Popular-in-context lists, and SimilarItems lists (a pure function of the snapshot pair and the item:
  // a warm replica answers them without Redis), each for the current snapshot pair.
  mutable SnapshotMemo memo_{4096};
  mutable SnapshotMemo similar_memo_{16384};
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_ENGINE_H_
