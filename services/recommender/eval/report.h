// Evaluation results for people (an aligned table with each algorithm's NDCG relative to the popularity
// baseline) and for programs (JSON with every metric, parameter and count).
#ifndef MARKETLENS_SERVICES_RECOMMENDER_EVAL_REPORT_H_
#define MARKETLENS_SERVICES_RECOMMENDER_EVAL_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/recommender/eval/evaluator.h"

namespace marketlens::recommender {

struct ReportContext {
  std::string protocol;  // "explicit train/test files", "random 20% per user", "temporal leave-last-1"
  int k = 10;
  const EvalData* data = nullptr;
  std::string baseline = "popularity";
};

std::string FormatTable(const std::vector<AlgorithmResult>& results, const ReportContext& context);
std::string FormatJson(const std::vector<AlgorithmResult>& results, const ReportContext& context);

// A figure as a person reads it: 6 significant digits in its shortest form; NaN/inf become null.
nlohmann::ordered_json JsonFigure(double v);
// The same, printed.
std::string JsonNumber(double v);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_EVAL_REPORT_H_
