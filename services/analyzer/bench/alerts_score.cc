// Scores quality alerts against planted truth and prints bench figures (bench/alerts_bench.sh):
//   alerts_score --world=DIR                 a `marketplace cli export` directory (reviews.json + truth)
//   alerts_score --real=F1,F2 --seed=S       Amazon JSON lines with changes planted here (alerts_scoring.h)
// For each: recall of planted changes with >= 8 reviews after, the share of unchanged products alerted, and
// the share of detected changes dated within 30 days, next to the previous detector (insights/aggregate.h
// DetectAlerts: a recent window against the year before it) on the same reviews as the baseline.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "services/analyzer/alerts_scoring.h"
#include "services/analyzer/cli_alerts.h"
#include "services/analyzer/insights/aggregate.h"

ABSL_FLAG(std::string, world, "", "a marketplace export directory");
ABSL_FLAG(std::string, real, "", "comma-separated Amazon JSON-lines files");
ABSL_FLAG(uint64_t, seed, 1, "--real: the planting seed");
ABSL_FLAG(std::string, name, "", "the case's name in the figures");
ABSL_FLAG(bool, list, false, "also list missed and falsely alerted products");
// Sensitivity only (the service's defaults when unset): what the calibration trades.
ABSL_FLAG(double, fdr, -1, "override ChangeOptions::fdr");
ABSL_FLAG(int, min_before, -1, "override ChangeOptions::min_before");

int main(int argc, char** argv) {
  using namespace marketlens::analyzer;  // NOLINT: main only
  absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);
  std::vector<FileReview> reviews;
  PlantedTruth truth;
  int skipped = 0;
  std::set<std::string> kinds;  // scored kinds (empty: all)
  if (!absl::GetFlag(FLAGS_world).empty()) {
    const std::string dir = absl::GetFlag(FLAGS_world);
    auto r = ReadReviewsFile(dir + "/reviews.json", &skipped);
    auto t = ReadMarketplaceTruth(dir + "/truth_products.jsonl");
    if (!r.ok() || !t.ok()) {
      std::cerr << (r.ok() ? t.status() : r.status()) << "\n";
      return 1;
    }
    reviews = *std::move(r);
    truth = *std::move(t);
  } else if (!absl::GetFlag(FLAGS_real).empty()) {
    std::vector<FileReview> all;
    for (const std::string& f : std::vector<std::string>(absl::StrSplit(absl::GetFlag(FLAGS_real), ','))) {
      auto r = ReadReviewsFile(f, &skipped);
      if (!r.ok()) {
        std::cerr << r.status() << "\n";
        return 1;
      }
      all.insert(all.end(), r->begin(), r->end());
    }
    PlantOptions po;
    po.seed = absl::GetFlag(FLAGS_seed);
    PlantedWorld w = PlantRealChanges(all, po);
    reviews = std::move(w.reviews);
    truth = std::move(w.truth);
    // Real products' review velocity really changes (and nothing planted touches it): scored on quality.
    kinds = {"rating_drop", "sentiment_drop", "issue_spike"};
  } else {
    std::cerr << "usage: alerts_score --world=DIR | --real=F1,F2 [--seed=S]\n";
    return 2;
  }
  auto engine = Engine::Create();
  if (!engine.ok()) {
    std::cerr << engine.status() << "\n";
    return 1;
  }
  const AnalysedReviews analysed = AnalyseReviews(reviews, **engine);
  ChangeOptions options;
  if (absl::GetFlag(FLAGS_fdr) > 0) options.fdr = absl::GetFlag(FLAGS_fdr);
  if (absl::GetFlag(FLAGS_min_before) > 0) options.min_before = absl::GetFlag(FLAGS_min_before);
  const std::vector<ChangeFinding> changes = DetectChanges(analysed.products, analysed.now, options);
  // The previous detector on the same facts: one alert per finding, dated at the start of its window.
  std::vector<ChangeFinding> old;
  for (const auto& [product, facts] : analysed.products) {
    for (const AlertFinding& a : DetectAlerts(facts, analysed.now)) {
      ChangeFinding f;
      f.product_id = product;
      f.kind = a.kind;
      f.metric = a.metric;
      f.since = analysed.now;  // the old alerts carry no date
      old.push_back(f);
    }
  }
  ScoreOptions so;
  so.kinds = kinds;
  const AlertScore s = ScoreAlerts(reviews, truth, changes, so);
  const AlertScore b = ScoreAlerts(reviews, truth, old, so);
  const std::string name = absl::GetFlag(FLAGS_name).empty() ? "case" : absl::GetFlag(FLAGS_name);
  std::cout << absl::StrFormat(
      "%s: products=%d reviews=%d planted_eligible=%d detected=%d unchanged=%d false_alarms=%d "
      "(previous detector: detected=%d false_alarms=%d)\n",
      name, static_cast<int>(truth.size()), static_cast<int>(reviews.size()), s.eligible, s.detected,
      s.unchanged, s.false_alarms, b.detected, b.false_alarms);
  if (absl::GetFlag(FLAGS_list)) {
    for (const auto& p : s.missed) std::cout << "  missed " << p << "\n";
    for (const auto& p : s.false_alarm_products) {
      std::cout << "  false alarm " << p << "\n";
      for (const ChangeFinding& f : changes)
        if (f.product_id == p && f.open) std::cout << "    " << AlertJson(f) << "\n";
    }
  }
  std::cout << absl::StrFormat(
      "figure: name=alerts_recall_%s value=%.3f unit=ratio target=>=0.9 baseline=previous_detector "
      "baseline_value=%.3f\n",
      name, s.recall(), b.recall());
  std::cout << absl::StrFormat(
      "figure: name=alerts_false_alarm_rate_%s value=%.4f unit=ratio target=<=0.01 "
      "baseline=previous_detector "
      "baseline_value=%.4f\n",
      name, s.false_alarm_rate(), b.false_alarm_rate());
  std::cout << absl::StrFormat(
      "figure: name=alerts_dated_within_30d_%s value=%.3f unit=ratio target=>=0.9 baseline=- "
      "baseline_value=-\n",
      name, s.dated_share());
  return 0;
}
