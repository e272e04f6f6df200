#include "services/recommender/eval/report.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace marketlens::recommender {
namespace {

const AlgorithmResult* Find(const std::vector<AlgorithmResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.name == name && r.status.ok()) return &r;
  }
  return nullptr;
}

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

nlohmann::ordered_json JsonFigure(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::strtod(absl::StrFormat("%.6g", v).c_str(), nullptr);
}

std::string JsonNumber(double v) { return Dump(JsonFigure(v)); }

std::string FormatTable(const std::vector<AlgorithmResult>& results, const ReportContext& c) {
  std::string out;
  if (c.data != nullptr) {
    const EvalData& d = *c.data;
    absl::StrAppend(&out, "protocol: ", c.protocol, "\n");
    absl::StrAppendFormat(&out, "train: %d users, %d items, %d interactions (hygiene: %s)\n",
                          d.train.num_users(), d.train.num_items(), d.train.user_items.nnz(),
                          d.hygiene.ToString());
    absl::StrAppendFormat(&out,
                          "test: %d users evaluated (%d test users unknown to training), %d relevant pairs "
                          "(%d with items unknown to training)\n\n",
                          d.eval_users.size(), d.cold_test_users, d.test_pairs, d.unknown_item_pairs);
  }
  const int k = c.k;
  absl::StrAppendFormat(&out, "%-20s %8s %8s %8s %8s %9s %9s %8s %8s %12s\n", "algorithm",
                        absl::StrCat("P@", k), absl::StrCat("R@", k), absl::StrCat("NDCG@", k),
                        absl::StrCat("MAP@", k), "coverage", "diversity", "novelty", "fit s", "NDCG vs pop");
  const AlgorithmResult* base = Find(results, c.baseline);
  for (const AlgorithmResult& r : results) {
    if (!r.status.ok()) {
      absl::StrAppendFormat(&out, "%-20s skipped: %s\n", r.name, r.status.message());
      continue;
    }
    std::string relative = "-";
    if (base != nullptr && r.name != c.baseline && base->metrics.ndcg > 0) {
      relative = absl::StrFormat("%+.1f%%", 100.0 * (r.metrics.ndcg / base->metrics.ndcg - 1));
    } else if (r.name == c.baseline) {
      relative = "baseline";
    }
    const EvalMetrics& m = r.metrics;
    absl::StrAppendFormat(&out, "%-20s %8.4f %8.4f %8.4f %8.4f %9.4f %9.4f %8.3f %8.2f %12s\n", r.name,
                          m.precision, m.recall, m.ndcg, m.map, m.coverage, m.diversity, m.novelty,
                          r.fit_seconds, relative);
    if (r.tuning_trials > 0) {
      std::vector<std::string> params;
      for (const auto& [k, v] : r.params) params.push_back(absl::StrCat(k, "=", v));
      absl::StrAppendFormat(&out, "%-20s tuned over %d trials (validation NDCG %.4f): %s\n", "",
                            r.tuning_trials, r.validation_ndcg, absl::StrJoin(params, ","));
    }
  }
  return out;
}

std::string FormatJson(const std::vector<AlgorithmResult>& results, const ReportContext& c) {
  using Json = nlohmann::ordered_json;
  Json out = {{"protocol", c.protocol}, {"k", c.k}, {"baseline", c.baseline}};
  if (c.data != nullptr) {
    const EvalData& d = *c.data;
    out["train"] = {{"users", d.train.num_users()},
                    {"items", d.train.num_items()},
                    {"interactions", d.train.user_items.nnz()},
                    {"hygiene",
                     {{"input_events", d.hygiene.input_events},
                      {"duplicate_events", d.hygiene.duplicate_events},
                      {"bot_users", d.hygiene.bot_users},
                      {"bot_events", d.hygiene.bot_events},
                      {"users_dropped", d.hygiene.users_dropped},
                      {"items_dropped", d.hygiene.items_dropped},
                      {"output_events", d.hygiene.output_events}}}};
    out["test"] = {{"users_evaluated", d.eval_users.size()},
                   {"cold_users", d.cold_test_users},
                   {"relevant_pairs", d.test_pairs},
                   {"unknown_item_pairs", d.unknown_item_pairs}};
  }
  const AlgorithmResult* base = Find(results, c.baseline);
  Json items = Json::array();
  for (const AlgorithmResult& r : results) {
    Json item = {{"algorithm", r.name}};
    if (!r.status.ok()) {
      item["skipped"] = r.status.ToString();
      items.push_back(std::move(item));
      continue;
    }
    Json params = Json::object();
    for (const auto& [k, v] : r.params) params[k] = v;
    const EvalMetrics& m = r.metrics;
    item["params"] = std::move(params);
    item["precision"] = JsonFigure(m.precision);
    item["recall"] = JsonFigure(m.recall);
    item["ndcg"] = JsonFigure(m.ndcg);
    item["map"] = JsonFigure(m.map);
    item["coverage"] = JsonFigure(m.coverage);
    item["diversity"] = JsonFigure(m.diversity);
    item["novelty"] = JsonFigure(m.novelty);
    item["users"] = m.users;
    item["fit_seconds"] = JsonFigure(r.fit_seconds);
    item["eval_seconds"] = JsonFigure(r.eval_seconds);
    if (base != nullptr && base->metrics.ndcg > 0)
      item["ndcg_vs_baseline"] = JsonFigure(r.metrics.ndcg / base->metrics.ndcg);
    if (r.tuning_trials > 0) {
      item["tuning"] = {{"trials", r.tuning_trials}, {"validation_ndcg", JsonFigure(r.validation_ndcg)}};
    }
    items.push_back(std::move(item));
  }
  out["results"] = std::move(items);
  return Dump(out);
}

}  // namespace marketlens::recommender
