// Recommendation quality on public data (../shared/data), every model next to independent reference
// implementations measured in the same run (bench/reference_models.h):
//   datasets: Amazon 5-core Magazine_Subscriptions and Gift_Cards (ratings as implicit interactions), UCI
//             Online Retail sample (invoice lines as purchases, title/category/price-bucket content);
//   protocol: a random 75/25 per-user split (seed 1); hygiene 2/2 on the training side; NDCG@10 etc. on test;
//   tuning:   every model (and each reference) chooses its hyper-parameters on a validation split carved from
//             the training side only (20% per user), by successive halving over wide ranges (eval/tuning.h);
//   hybrid:   all tuned models blended, weights learned on the same validation split (eval/blend.h).
// Then next-item prediction on time-ordered sequences (session-kNN vs item-to-item; HR@10, MRR@10).
// Prints a table per dataset and `figure:` lines (README "Benchmarks").
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/algo/ncf.h"
#include "services/recommender/algo/session_knn.h"
#include "services/recommender/algo/two_tower.h"
#include "services/recommender/bench/reference_models.h"
#include "services/recommender/data/public_datasets.h"
#include "services/recommender/eval/blend.h"
#include "services/recommender/eval/session_eval.h"
#include "services/recommender/eval/split.h"
#include "services/recommender/eval/tuning.h"

ABSL_FLAG(std::string, data_dir, "", "the shared data directory (../shared/data)");
ABSL_FLAG(int, trials, 27, "candidates per model's search");
ABSL_FLAG(double, tune_seconds, 120, "time budget per model's search");
ABSL_FLAG(int, threads, 2, "threads");
ABSL_FLAG(int, blend_folds, 5, "cross-fitting folds for the hybrid's blend weights");
ABSL_FLAG(std::string, datasets, "magazine,gift_cards,online_retail", "which datasets");

using namespace marketlens::recommender;

namespace {

struct Row {
  std::string name;
  double ndcg = -1, recall = 0, map = 0, fit = 0, validation = 0;
  std::string params;
  bool reference = false;
};

std::string Short(const std::string& s) { return s.size() > 90 ? s.substr(0, 87) + "..." : s; }

Row Measure(Model& model, const EvalData& test, const EvalOptions& eval, bool reference = false) {
  Row r;
  r.name = model.name();
  r.reference = reference;
  const absl::Time start = absl::Now();
  absl::Status s = model.Fit(test.train);
  r.fit = absl::ToDoubleSeconds(absl::Now() - start);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", r.name.c_str(), s.ToString().c_str());
    return r;
  }
  EvalMetrics m = EvaluateModel(model, test, eval);
  r.ndcg = m.ndcg;
  r.recall = m.recall;
  r.map = m.map;
  r.params = FormatParams(model.params());
  return r;
}

// A reference model's hyper-parameters chosen on the validation split from a small grid (same protocol).
template <typename Make>
std::unique_ptr<Model> BestOnValidation(const std::vector<Params>& grid, Make make,
                                        const EvalData& validation, const EvalOptions& eval,
                                        double* best_ndcg) {
  Params best;
  *best_ndcg = -1;
  for (const Params& p : grid) {
    std::unique_ptr<Model> m = make(p);
    if (!m->Fit(validation.train).ok()) continue;
    const double ndcg = EvaluateModel(*m, validation, eval).ndcg;
    if (ndcg > *best_ndcg) *best_ndcg = ndcg, best = p;
  }
  return make(best);
}

double P(const Params& p, const std::string& k) { return std::stod(p.at(k)); }

void RunDataset(const std::string& label, const PublicDataset& d, int threads) {
  std::printf("\n== %s: %zu events, %d users, %d items\n", label.c_str(), d.log.events.size(),
              d.log.users.size(), d.log.items.size());
  Split split = RandomPerUser(d.log, 0.25, 1);
  EvalOptions eval{.k = 10, .threads = threads};
  eval.hygiene.min_user_interactions = 2;
  eval.hygiene.min_item_interactions = 2;
  auto test = PrepareEvaluation(split.train, split.test, &d.catalog, eval);
  if (!test.ok()) {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), test.status().ToString().c_str());
    return;
  }
  Split vsplit = RandomPerUser(split.train, 0.2, 11);
  auto validation = PrepareEvaluation(vsplit.train, vsplit.test, &d.catalog, eval);
  if (!validation.ok()) return;
  std::printf(
      "split: random 75/25 per user (seed 1): %d train users, %zu evaluated, %lld test pairs; validation "
      "20%% of train per user (seed 11)\n",
      test->train.num_users(), test->eval_users.size(), static_cast<long long>(test->test_pairs));
  std::vector<Row> rows;
  std::vector<std::pair<std::string, Params>> members;
  for (const std::string name : {"popularity", "item_knn", "item_knn_bm25", "ease", "als", "copurchase",
                                 "content", "ncf", "two_tower"}) {
    TuningOptions t{.max_trials = absl::GetFlag(FLAGS_trials),
                    .time_budget_seconds = absl::GetFlag(FLAGS_tune_seconds)};
    auto tuned = TuneOn(name, *validation, {}, eval, t);
    Params p = tuned.ok() ? tuned->best : Params{};
    auto model = MakeModel(name, p, threads);
    if (!model.ok()) continue;
    Row r = Measure(**model, *test, eval);
    if (r.ndcg < 0) continue;
    r.validation = tuned.ok() && !tuned->trials.empty() ? tuned->best_ndcg : 0;
    if (tuned.ok() && !tuned->trials.empty()) {
      r.params = absl::StrCat(r.params, " [", tuned->trials.size(), " trials, ",
                              absl::StrFormat("%.0f", tuned->seconds), " s]");
    }
    rows.push_back(r);
    members.push_back({name, p});
  }
  // The blend's weights are learned on 5 cross-fitting folds of the training side (the first is the
  // tuning split); --blend_folds=1 is the single-split blend of before.
  auto folds = BlendValidationFolds(split.train, &d.catalog, eval, absl::GetFlag(FLAGS_blend_folds));
  if (!folds.ok()) {
    std::fprintf(stderr, "%s: blend folds: %s\n", label.c_str(), folds.status().ToString().c_str());
    return;
  }
  std::vector<const EvalData*> fold_views;
  for (const EvalData& f : *folds) fold_views.push_back(&f);
  auto hybrid = EvaluateLearnedHybrid(members, fold_views, *test, eval);
  if (hybrid.ok()) {
    Row r;
    r.name = "hybrid (learned blend)";
    r.ndcg = hybrid->result.metrics.ndcg;
    r.recall = hybrid->result.metrics.recall;
    r.map = hybrid->result.metrics.map;
    r.fit = hybrid->result.fit_seconds;
    r.validation = hybrid->fit.ndcg;
    absl::StrAppend(&r.params, "[", hybrid->fit.folds, " folds, ", hybrid->fit.validation_users,
                    " validation users; blend ", absl::StrFormat("%.4f", hybrid->fit.blend_ndcg), " gain SE ",
                    absl::StrFormat("%.4f", hybrid->fit.gain_se),
                    hybrid->fit.fell_back ? ", fell back] " : "] ");
    for (size_t j = 0; j < hybrid->members.size(); ++j) {
      if (hybrid->fit.weights[j] > 0)
        absl::StrAppend(&r.params, hybrid->members[j], "=", hybrid->fit.weights[j], " ");
    }
    rows.push_back(r);
  }
  // References, each with its own choice on the same validation split.
  double v = 0;
  ReferencePopularity ref_pop;
  rows.push_back(Measure(ref_pop, *test, eval, true));
  std::vector<Params> lambdas;
  for (const char* l : {"1", "10", "50", "100", "200", "500", "1000", "3000", "10000"})
    lambdas.push_back({{"lambda", l}});
  auto ref_ease = BestOnValidation(
      lambdas, [](const Params& p) { return std::make_unique<ReferenceEase>(P(p, "lambda")); }, *validation,
      eval, &v);
  rows.push_back(Measure(*ref_ease, *test, eval, true));
  rows.back().validation = v;
  std::vector<Params> ials;
  for (const char* reg : {"0.1", "1", "10", "30"}) {
    for (const char* alpha : {"1", "3", "10", "30"}) ials.push_back({{"reg", reg}, {"alpha", alpha}});
  }
  auto ref_ials = BestOnValidation(
      ials,
      [](const Params& p) { return std::make_unique<ReferenceIals>(64, P(p, "reg"), P(p, "alpha"), 15); },
      *validation, eval, &v);
  rows.push_back(Measure(*ref_ials, *test, eval, true));
  rows.back().validation = v;

  std::printf("%-24s %8s %8s %8s %9s %8s  %s\n", "model", "NDCG@10", "Rec@10", "MAP@10", "valNDCG", "fit s",
              "chosen parameters");
  const Row* best_model = nullptr;
  const Row* best_ref = nullptr;
  const Row* best_single = nullptr;
  const Row* hybrid_row = nullptr;
  for (const Row& r : rows) {
    std::printf("%-24s %8.4f %8.4f %8.4f %9.4f %8.2f  %s\n", r.name.c_str(), r.ndcg, r.recall, r.map,
                r.validation, r.fit, (r.name.rfind("hybrid", 0) == 0 ? r.params : Short(r.params)).c_str());
    if (r.reference) {
      if (best_ref == nullptr || r.ndcg > best_ref->ndcg) best_ref = &r;
    } else {
      if (best_model == nullptr || r.ndcg > best_model->ndcg) best_model = &r;
      if (r.name.rfind("hybrid", 0) == 0) {
        hybrid_row = &r;
      } else if (best_single == nullptr || r.ndcg > best_single->ndcg) {
        best_single = &r;
      }
    }
  }
  if (best_model && best_ref) {
    std::printf(
        "figure: name=recommender_%s_best_model_vs_best_reference_ndcg10 value=%.3f unit=ratio target=>=1 "
        "baseline=%s baseline_value=%.4f\n",
        label.c_str(), best_model->ndcg / best_ref->ndcg, best_ref->name.c_str(), best_ref->ndcg);
    std::printf("best model %s NDCG@10 %.4f, best reference %s %.4f\n", best_model->name.c_str(),
                best_model->ndcg, best_ref->name.c_str(), best_ref->ndcg);
  }
  if (hybrid_row && best_single) {
    std::printf(
        "figure: name=recommender_%s_hybrid_vs_best_part_ndcg10 value=%.3f unit=ratio target=>=1 "
        "baseline=%s baseline_value=%.4f\n",
        label.c_str(), hybrid_row->ndcg / best_single->ndcg, best_single->name.c_str(), best_single->ndcg);
  }
  for (const Row& r : rows) {
    if (r.name == "ncf" || r.name == "two_tower") {
      std::printf(
          "figure: name=recommender_%s_%s_ndcg10 value=%.4f unit=ndcg target=- baseline=reference_popularity "
          "baseline_value=%.4f\n",
          label.c_str(), r.name.c_str(), r.ndcg, rows[rows.size() - 3].ndcg);
    }
  }
}

void RunSessions(const std::string& label, const PublicDataset& d) {
  SessionEvalOptions o;
  SessionSplitData s = SplitSessions(d.log, o);
  int64_t test_predictions = 0;
  for (const auto& q : s.test) test_predictions += q.items.size() > 1 ? q.items.size() - 1 : 0;
  std::printf(
      "\n== next item, %s: %zu train sequences, %zu test sequences (the last 20%% by end time), %lld "
      "predictions\n",
      label.c_str(), s.train.size(), s.test.size(), static_cast<long long>(test_predictions));
  ItemToItem last(true), all(false);
  last.Fit(s.train, s.num_items);
  all.Fit(s.train, s.num_items);
  auto m_last = EvaluateNextItem(
      s, [&](auto items, int, auto out) { last.Score(items, out); }, o);
  auto m_all = EvaluateNextItem(
      s, [&](auto items, int, auto out) { all.Score(items, out); }, o);
  // Session-kNN settings chosen on the last 20% of the TRAINING sequences (validation), not on test.
  SessionSplitData val;
  val.num_items = s.num_items;
  const size_t cut = s.train.size() * 8 / 10;
  val.train.assign(s.train.begin(), s.train.begin() + cut);
  val.test.assign(s.train.begin() + cut, s.train.end());
  SessionKnnOptions best;
  double best_mrr = -1;
  for (int neighbors : {20, 50, 100, 300}) {
    for (int sample : {500, 2000}) {
      for (float idf : {0.0f, 1.0f}) {
        for (float hour : {0.0f, 0.5f}) {
          SessionKnnOptions opt{
              .neighbors = neighbors, .sample = sample, .idf_weight = idf, .hour_boost = hour};
          SessionKnn knn(opt);
          knn.Fit(val.train, val.num_items);
          auto m = EvaluateNextItem(
              val, [&](auto items, int hour_of_day, auto out) { knn.Score(items, hour_of_day, out); }, o);
          if (m.mrr > best_mrr) best_mrr = m.mrr, best = opt;
        }
      }
    }
  }
  SessionKnn knn(best);
  knn.Fit(s.train, s.num_items);
  auto m_knn = EvaluateNextItem(
      s, [&](auto items, int hour, auto out) { knn.Score(items, hour, out); }, o);
  std::printf("%-34s %8s %8s\n", "model", "HR@10", "MRR@10");
  std::printf("%-34s %8.4f %8.4f\n", "item-to-item (last item)", m_last.hit_rate, m_last.mrr);
  std::printf("%-34s %8.4f %8.4f\n", "item-to-item (all session items)", m_all.hit_rate, m_all.mrr);
  std::printf("%-34s %8.4f %8.4f   neighbors=%d sample=%d idf=%.0f hour_boost=%.1f\n", "session_knn (V-SKNN)",
              m_knn.hit_rate, m_knn.mrr, best.neighbors, best.sample, best.idf_weight, best.hour_boost);
  const double base_hr = std::max(m_last.hit_rate, m_all.hit_rate);
  const double base_mrr = std::max(m_last.mrr, m_all.mrr);
  std::printf(
      "figure: name=recommender_%s_session_knn_hr10_vs_item_to_item value=%.3f unit=ratio target=>1 "
      "baseline=item_to_item baseline_value=%.4f\n",
      label.c_str(), base_hr > 0 ? m_knn.hit_rate / base_hr : 0, base_hr);
  std::printf(
      "figure: name=recommender_%s_session_knn_mrr10_vs_item_to_item value=%.3f unit=ratio target=>1 "
      "baseline=item_to_item baseline_value=%.4f\n",
      label.c_str(), base_mrr > 0 ? m_knn.mrr / base_mrr : 0, base_mrr);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it comes, also into a file
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  const std::string which = absl::GetFlag(FLAGS_datasets);
  const int threads = absl::GetFlag(FLAGS_threads);
  int status = 0;
  auto want = [&](const char* name) { return which.find(name) != std::string::npos; };
  if (want("magazine")) {
    auto d = ReadAmazonReviewsJson(dir + "/amazon-5core/Magazine_Subscriptions_5.json");
    if (d.ok())
      RunDataset("amazon_magazine", *d, threads);
    else
      status = 1, std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
  }
  if (want("gift_cards")) {
    auto d = ReadAmazonReviewsJson(dir + "/amazon-5core/Gift_Cards_5.json");
    if (d.ok())
      RunDataset("amazon_gift_cards", *d, threads);
    else
      status = 1, std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
  }
  if (want("online_retail")) {
    auto d = ReadOnlineRetailCsv(dir + "/online-retail/online_retail_sample.csv");
    if (d.ok()) {
      RunDataset("online_retail", *d, threads);
      RunSessions("online_retail", *d);
    } else {
      status = 1;
      std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
    }
  }
  return status;
}
