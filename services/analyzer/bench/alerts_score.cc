// Scores quality alerts against planted truth and prints bench figures (bench/alerts_bench.sh):
//   alerts_score --world=DIR                 a `marketplace cli export` directory (reviews.json + truth)
//   alerts_score --real=F1,F2 --seed=S       Amazon JSON lines with changes planted here (alerts_scoring.h)
// For each: recall of planted changes with >= 8 reviews after, the share of unchanged products alerted, and
// the share of detected changes dated within 30 days, next to the previous detector (insights/aggregate.h
// DetectAlerts: a recent window against the year before it) on the same reviews as the baseline.
// Development: --facts (analysed reviews from --dump), --curve (recall and false alarms per product_alpha),
// --by_signal (recall by the planted change's strength), --list --diagnose (every test of each miss; --list
// also the detections dated > 30 days off), and overrides of the calibration (--calibration=bh, --alpha,
// --quality, --quality_weight, --product_fdr, --low_share, --star_levels, --eb_low_share, --eb_weight,
// --eb_stars, --eb_stars_weight, --eb_stars_statistic, --eb_stars_dating) and of
// the dating (--dating, --date_support, --date_latest_change, --late_change_alpha, --late_support,
// --date_by_star_levels, --date_by_star_posterior, --redate_when_eb_decides, --date_by_joint,
// --date_by_posterior_median). Dating is
// printed twice: `since` within 30 days, and the planted date inside the interval (changed_after, since]
// widened by 30 days, with the median gap.
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "services/analyzer/alerts_scoring.h"
#include "services/analyzer/cli_alerts.h"
#include "services/analyzer/dating_ceiling.h"
#include "services/analyzer/insights/aggregate.h"
#include "services/analyzer/insights/stats.h"

ABSL_FLAG(std::string, world, "", "a marketplace export directory");
ABSL_FLAG(std::string, real, "", "comma-separated Amazon JSON-lines files");
ABSL_FLAG(uint64_t, seed, 1, "--real: the planting seed");
ABSL_FLAG(std::string, name, "", "the case's name in the figures");
ABSL_FLAG(bool, list, false, "also list missed and falsely alerted products");
// Sensitivity only (the service's defaults when unset): what the calibration trades.
ABSL_FLAG(double, fdr, -1, "override ChangeOptions::fdr");
ABSL_FLAG(int, min_before, -1, "override ChangeOptions::min_before");
ABSL_FLAG(std::string, calibration, "", "override ChangeOptions::calibration: product | bh");
ABSL_FLAG(double, alpha, -1, "override ChangeOptions::product_alpha");
ABSL_FLAG(int, quality, -1, "override ChangeOptions::quality_test (0 separate | 1 sum | 2 joint scan)");
ABSL_FLAG(
    int, dating, -1,
    "override ChangeOptions::dating (0 first review after | 1 arrival likelihood | 2 gap midpoint | 3 just "
    "after the last review before)");
ABSL_FLAG(double, date_support, -1, "override ChangeOptions::date_support");
ABSL_FLAG(int, permutations, -1, "override ChangeOptions::permutations");
ABSL_FLAG(double, quality_weight, -1, "override ChangeOptions::quality_weight");
ABSL_FLAG(int, low_share, -1, "override ChangeOptions::scan_low_share (0 | 1)");
ABSL_FLAG(int, star_levels, -1, "override ChangeOptions::scan_star_levels (0 | 1)");
ABSL_FLAG(int, eb_low_share, -1, "override ChangeOptions::eb_low_share (0 | 1)");
ABSL_FLAG(double, eb_weight, -1, "override ChangeOptions::eb_weight");
ABSL_FLAG(int, eb_from_count_tests, -1, "override ChangeOptions::eb_from_count_tests (0 | 1)");
ABSL_FLAG(int, eb_date_by_low_share, -1, "override ChangeOptions::eb_date_by_low_share (0 | 1)");
ABSL_FLAG(int, eb_stars, -1, "override ChangeOptions::eb_stars (0 | 1)");
ABSL_FLAG(double, eb_stars_weight, -1, "override ChangeOptions::eb_stars_weight");
ABSL_FLAG(int, eb_stars_statistic, -1,
          "override ChangeOptions::eb_stars_statistic (0 the star drop | 1 the star drop or the low share)");
ABSL_FLAG(int, date_latest_change, -1, "override ChangeOptions::date_latest_change (0 | 1)");
ABSL_FLAG(double, late_change_alpha, -1, "override ChangeOptions::late_change_alpha");
ABSL_FLAG(double, late_support, -1, "override ChangeOptions::late_support");
ABSL_FLAG(int, date_by_star_levels, -1, "override ChangeOptions::date_by_star_levels (0 | 1)");
ABSL_FLAG(int, date_by_star_posterior, -1, "override ChangeOptions::date_by_star_posterior (0 | 1 | 2)");
ABSL_FLAG(int, redate_when_eb_decides, -1, "override ChangeOptions::redate_when_eb_decides (0 | 1)");
ABSL_FLAG(int, date_by_posterior_median, -1,
          "override ChangeOptions::date_by_posterior_median (0 | 1: the change location's posterior median)");
ABSL_FLAG(
    int, date_by_joint, -1,
    "override ChangeOptions::date_by_joint (0 | 1 the stars+sentiment standardised sum | 2 sentiment as "
    "the stars' tie-breaker)");
ABSL_FLAG(int, eb_stars_dating, -1, "override ChangeOptions::eb_stars_dating (0 | 1)");
ABSL_FLAG(double, product_fdr, -1, "override ChangeOptions::product_fdr");
ABSL_FLAG(std::string, curve, "", "comma-separated product alphas: print recall and false alarms at each");
ABSL_FLAG(double, threshold, -1, "a fixed p threshold instead of Benjamini-Hochberg (sensitivity)");
// Development: the analysed facts and the truth to a file, and read back instead of analysing (the engine's
// training and analysis dominate a run; the detector is what is being developed).
ABSL_FLAG(std::string, dump, "", "write the analysed facts and the truth to this file");
ABSL_FLAG(bool, dating_ceiling, false,
          "real text: also date the planted changes as an estimator that knows the planting process would "
          "(dating_ceiling.h): what the reviews allow");
ABSL_FLAG(std::string, facts, "", "read facts and truth written by --dump instead of --world/--real");
ABSL_FLAG(bool, diagnose, false, "with --list: every test of each missed product");
ABSL_FLAG(bool, by_signal, false,
          "recall by signal strength: the one-sided t-test of the stars split at the planted date (an "
          "oracle that knows the date; no search, no calibration)");

namespace {
using marketlens::analyzer::AnalysedReviews;
using marketlens::analyzer::FileReview;
using marketlens::analyzer::PlantedTruth;
using marketlens::analyzer::ReviewFact;

// One line per review: F product id unix_seconds rating sentiment issues(|); per product: T product
// unix_seconds|-; the scored kinds: K kind,kind.
void WriteFacts(const std::string& path, const AnalysedReviews& a, const PlantedTruth& truth,
                const std::set<std::string>& kinds) {
  std::ofstream out(path);
  out << "K\t" << absl::StrJoin(kinds, ",") << "\n";
  for (const auto& [product, since] : truth)
    out << "T\t" << product << "\t" << (since ? absl::StrCat(absl::ToUnixSeconds(*since)) : "-") << "\n";
  for (const auto& [product, facts] : a.products) {
    for (const ReviewFact& f : facts) {
      out << absl::StrFormat("F\t%s\t%s\t%d\t%d\t%.17g\t%s\n", product, f.id,
                             absl::ToUnixSeconds(f.created_at), f.rating, f.sentiment,
                             absl::StrJoin(f.issues, "|"));
    }
  }
}

bool ReadFacts(const std::string& path, AnalysedReviews* a, std::vector<FileReview>* reviews,
               PlantedTruth* truth, std::set<std::string>* kinds) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> c = absl::StrSplit(line, '\t');
    if (c[0] == "K") {
      for (absl::string_view k : absl::StrSplit(c[1], ',', absl::SkipEmpty())) kinds->insert(std::string(k));
    } else if (c[0] == "T" && c.size() == 3) {
      int64_t t = 0;
      (*truth)[c[1]] =
          absl::SimpleAtoi(c[2], &t) ? std::optional<absl::Time>(absl::FromUnixSeconds(t)) : std::nullopt;
    } else if (c[0] == "F" && c.size() == 7) {
      ReviewFact f;
      f.id = c[2];
      int64_t t = 0;
      if (!absl::SimpleAtoi(c[3], &t) || !absl::SimpleAtoi(c[4], &f.rating) ||
          !absl::SimpleAtod(c[5], &f.sentiment))
        return false;
      f.created_at = absl::FromUnixSeconds(t);
      for (absl::string_view i : absl::StrSplit(c[6], '|', absl::SkipEmpty()))
        f.issues.push_back(std::string(i));
      FileReview r;
      r.id = f.id;
      r.product_id = c[1];
      r.rating = f.rating;
      r.created_at = f.created_at;
      reviews->push_back(std::move(r));
      a->now = std::max(a->now, f.created_at);
      a->products[c[1]].push_back(std::move(f));
    }
  }
  return true;
}

// One `figure:` line of bench/run.sh's table (values already formatted).
void PrintFigure(const std::string& name, const std::string& value, const std::string& unit,
                 const std::string& target, const std::string& baseline = "-",
                 const std::string& baseline_value = "-") {
  std::cout << "figure: name=" << name << " value=" << value << " unit=" << unit << " target=" << target
            << " baseline=" << baseline << " baseline_value=" << baseline_value << "\n";
}

// The stars' one-sided p at the planted date (Student's pooled t; before vs after), and the after reviews.
double OracleP(const std::vector<ReviewFact>& facts, absl::Time planted, int* after_reviews) {
  double sb = 0, sa = 0, qb = 0, qa = 0;
  int nb = 0, na = 0;
  for (const ReviewFact& f : facts) {
    if (f.created_at < planted) {
      sb += f.rating, qb += f.rating * f.rating, ++nb;
    } else {
      sa += f.rating, qa += f.rating * f.rating, ++na;
    }
  }
  *after_reviews = na;
  if (nb < 2 || na < 2) return 1;
  const double mb = sb / nb, ma = sa / na;
  const double pooled = std::max(0.1, ((qb - nb * mb * mb) + (qa - na * ma * ma)) / (nb + na - 2));
  const double t = (ma - mb) / std::sqrt(pooled * (1.0 / na + 1.0 / nb));
  return marketlens::analyzer::StudentTCdf(t, nb + na - 2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace marketlens::analyzer;  // NOLINT: main only
  absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);
  std::vector<FileReview> reviews;
  PlantedTruth truth;
  int skipped = 0;
  std::set<std::string> kinds;  // scored kinds (empty: all)
  AnalysedReviews analysed;
  const bool from_facts = !absl::GetFlag(FLAGS_facts).empty();
  if (from_facts) {
    if (!ReadFacts(absl::GetFlag(FLAGS_facts), &analysed, &reviews, &truth, &kinds)) {
      std::cerr << "cannot read " << absl::GetFlag(FLAGS_facts) << "\n";
      return 1;
    }
  } else if (!absl::GetFlag(FLAGS_world).empty()) {
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
  if (!from_facts) {
    auto engine = Engine::Create();
    if (!engine.ok()) {
      std::cerr << engine.status() << "\n";
      return 1;
    }
    analysed = AnalyseReviews(reviews, **engine);
  }
  if (!absl::GetFlag(FLAGS_dump).empty()) WriteFacts(absl::GetFlag(FLAGS_dump), analysed, truth, kinds);
  ChangeOptions options;
  if (absl::GetFlag(FLAGS_fdr) > 0) options.fdr = absl::GetFlag(FLAGS_fdr);
  if (absl::GetFlag(FLAGS_min_before) > 0) options.min_before = absl::GetFlag(FLAGS_min_before);
  if (absl::GetFlag(FLAGS_calibration) == "bh") options.calibration = ChangeCalibration::kBenjaminiHochberg;
  if (absl::GetFlag(FLAGS_alpha) > 0) options.product_alpha = absl::GetFlag(FLAGS_alpha);
  if (absl::GetFlag(FLAGS_quality) >= 0)
    options.quality_test = static_cast<QualityTest>(absl::GetFlag(FLAGS_quality));
  if (absl::GetFlag(FLAGS_dating) >= 0)
    options.dating = static_cast<ChangeDating>(absl::GetFlag(FLAGS_dating));
  if (absl::GetFlag(FLAGS_date_support) >= 0) options.date_support = absl::GetFlag(FLAGS_date_support);
  if (absl::GetFlag(FLAGS_permutations) >= 0) options.permutations = absl::GetFlag(FLAGS_permutations);
  if (absl::GetFlag(FLAGS_quality_weight) > 0) options.quality_weight = absl::GetFlag(FLAGS_quality_weight);
  if (absl::GetFlag(FLAGS_product_fdr) >= 0) options.product_fdr = absl::GetFlag(FLAGS_product_fdr);
  if (absl::GetFlag(FLAGS_low_share) >= 0) options.scan_low_share = absl::GetFlag(FLAGS_low_share) != 0;
  if (absl::GetFlag(FLAGS_star_levels) >= 0) options.scan_star_levels = absl::GetFlag(FLAGS_star_levels) != 0;
  if (absl::GetFlag(FLAGS_eb_low_share) >= 0) options.eb_low_share = absl::GetFlag(FLAGS_eb_low_share) != 0;
  if (absl::GetFlag(FLAGS_eb_weight) >= 0) options.eb_weight = absl::GetFlag(FLAGS_eb_weight);
  if (absl::GetFlag(FLAGS_eb_date_by_low_share) >= 0)
    options.eb_date_by_low_share = absl::GetFlag(FLAGS_eb_date_by_low_share) != 0;
  if (absl::GetFlag(FLAGS_eb_from_count_tests) >= 0)
    options.eb_from_count_tests = absl::GetFlag(FLAGS_eb_from_count_tests) != 0;
  if (absl::GetFlag(FLAGS_eb_stars) >= 0) options.eb_stars = absl::GetFlag(FLAGS_eb_stars) != 0;
  if (absl::GetFlag(FLAGS_eb_stars_weight) >= 0)
    options.eb_stars_weight = absl::GetFlag(FLAGS_eb_stars_weight);
  if (absl::GetFlag(FLAGS_eb_stars_statistic) >= 0)
    options.eb_stars_statistic = static_cast<StarsStatistic>(absl::GetFlag(FLAGS_eb_stars_statistic));
  if (absl::GetFlag(FLAGS_date_latest_change) >= 0)
    options.date_latest_change = absl::GetFlag(FLAGS_date_latest_change) != 0;
  if (absl::GetFlag(FLAGS_late_change_alpha) >= 0)
    options.late_change_alpha = absl::GetFlag(FLAGS_late_change_alpha);
  if (absl::GetFlag(FLAGS_late_support) >= 0) options.late_support = absl::GetFlag(FLAGS_late_support);
  if (absl::GetFlag(FLAGS_date_by_star_levels) >= 0)
    options.date_by_star_levels = absl::GetFlag(FLAGS_date_by_star_levels) != 0;
  if (absl::GetFlag(FLAGS_date_by_star_posterior) >= 0)
    options.date_by_star_posterior = absl::GetFlag(FLAGS_date_by_star_posterior);
  if (absl::GetFlag(FLAGS_redate_when_eb_decides) >= 0)
    options.redate_when_eb_decides = absl::GetFlag(FLAGS_redate_when_eb_decides) != 0;
  if (absl::GetFlag(FLAGS_date_by_joint) >= 0) options.date_by_joint = absl::GetFlag(FLAGS_date_by_joint);
  if (absl::GetFlag(FLAGS_date_by_posterior_median) >= 0)
    options.date_by_posterior_median = absl::GetFlag(FLAGS_date_by_posterior_median) > 0;
  if (absl::GetFlag(FLAGS_eb_stars_dating) >= 0)
    options.eb_stars_dating = absl::GetFlag(FLAGS_eb_stars_dating) != 0;
  if (options.eb_stars) {  // fitted once: every run below shares its null cache
    options.eb_stars_model = FitStarLevelsModel(analysed.products, analysed.now, options.eb_stars_statistic);
    std::cout << "eb_stars: prior Dirichlet(";
    for (double a : options.eb_stars_model->level_prior()) std::cout << absl::StrFormat(" %.3f", a);
    std::cout << " )\n";
  }
  if (options.eb_low_share) {  // fitted once: every run below shares its null cache
    options.eb_model = FitLowShareModel(analysed.products, analysed.now);
    std::cout << absl::StrFormat("eb_low_share: prior Beta(%.3f, %.3f)\n", options.eb_model->prior().alpha,
                                 options.eb_model->prior().beta);
  }
  if (!absl::GetFlag(FLAGS_curve).empty()) {  // the operating curve: recall and false alarms per alpha
    ScoreOptions so;
    so.kinds = kinds;
    for (absl::string_view a : absl::StrSplit(absl::GetFlag(FLAGS_curve), ',')) {
      ChangeOptions co = options;
      if (!absl::SimpleAtod(a, &co.product_alpha)) continue;
      const AlertScore c =
          ScoreAlerts(reviews, truth, DetectChanges(analysed.products, analysed.now, co), so);
      std::cout << absl::StrFormat(
          "curve: alpha=%g recall=%.3f (%d/%d) false_alarms=%.4f (%d/%d) dated=%.3f interval=%.3f\n",
          co.product_alpha, c.recall(), c.detected, c.eligible, c.false_alarm_rate(), c.false_alarms,
          c.unchanged, c.dated_share(), c.interval_share());
    }
  }
  std::vector<ChangeFinding> changes;
  if (absl::GetFlag(FLAGS_threshold) > 0) {  // sensitivity: a fixed p threshold instead of BH
    for (const auto& [product, facts] : analysed.products) {
      for (ChangeFinding& f : TestProductChanges(product, facts, analysed.now, options)) {
        if (f.meets_effect && f.p_value <= absl::GetFlag(FLAGS_threshold)) changes.push_back(std::move(f));
      }
    }
  } else {
    changes = DetectChanges(analysed.products, analysed.now, options);
  }
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
      "%s: products=%d reviews=%d planted_eligible=%d detected=%d dated=%d in_interval=%d unchanged=%d "
      "false_alarms=%d (previous detector: detected=%d false_alarms=%d)\n",
      name, static_cast<int>(truth.size()), static_cast<int>(reviews.size()), s.eligible, s.detected, s.dated,
      s.in_interval, s.unchanged, s.false_alarms, b.detected, b.false_alarms);
  {  // which kinds of alert the detections are (open alerts; a product may carry several)
    std::map<std::string, int> by_kind;
    for (const ChangeFinding& f : changes) by_kind[f.kind] += f.open;
    std::cout << "  open alerts by kind:";
    for (const auto& [kind, count] : by_kind) std::cout << " " << kind << "=" << count;
    std::cout << "\n";
  }
  if (absl::GetFlag(FLAGS_dating_ceiling)) {  // on the detected changes, as the dating figures are
    std::set<std::string> detected;
    for (const auto& [product, since] : truth)
      if (since) detected.insert(product);
    for (const std::string& p : s.missed) detected.erase(p);
    const PlantingModel model{
        PlantOptions{},
        (options.eb_stars_model != nullptr
             ? options.eb_stars_model
             : FitStarLevelsModel(analysed.products, analysed.now, options.eb_stars_statistic))
            ->level_prior(),
        -1};
    const DatingCeiling c = PlantingAwareDatingCeiling(analysed.products, truth, model, so, &detected);
    std::cout << absl::StrFormat(
        "  dating ceiling (an estimator that knows the planting process) on the %d detected changes: dated "
        "%d, interval %d, posterior-expected %.1f\n",
        c.products, c.dated, c.in_interval, c.expected);
    PrintFigure("alerts_dating_ceiling_" + name, absl::StrFormat("%.3f", c.interval_share()), "ratio", "-");
    PrintFigure("alerts_dating_ceiling_expected_" + name, absl::StrFormat("%.3f", c.expected_share()),
                "ratio", "-");
  }
  if (absl::GetFlag(FLAGS_list)) {
    std::vector<ChangeFinding> all;
    std::map<std::string, int> by_kind;
    for (const auto& [product, facts] : analysed.products) {
      for (ChangeFinding& f : TestProductChanges(product, facts, analysed.now, options)) {
        if (f.min_p_value <= options.fdr / 100) ++by_kind[f.kind];
        all.push_back(std::move(f));
      }
    }
    std::cout << absl::StrFormat("  tests=%d alert threshold=%.3g\n", static_cast<int>(all.size()),
                                 AlertThreshold(all, options));
    for (const auto& [kind, count] : by_kind)
      std::cout << "  tests of " << kind << " able to reach p <= fdr/100: " << count << "\n";
    for (const auto& p : s.missed) {
      std::cout << "  missed " << p << "\n";
      if (!absl::GetFlag(FLAGS_diagnose)) continue;
      const auto& facts = analysed.products.at(p);
      const absl::Time planted = *truth.at(p);
      int before = 0;
      for (const ReviewFact& f : facts) before += f.created_at < planted;
      std::cout << absl::StrFormat("    planted %s, reviews before %d after %d\n",
                                   absl::FormatTime("%Y-%m-%d", planted, absl::UTCTimeZone()), before,
                                   static_cast<int>(facts.size()) - before);
      if (options.eb_model !=
          nullptr) {  // the empirical-Bayes test: calibrated, and its tail at the planted split
        int low_before = 0, low_after = 0;
        for (const ReviewFact& f : facts) (f.created_at < planted ? low_before : low_after) += f.rating <= 2;
        const BetaPrior& prior = options.eb_model->prior();
        std::cout << absl::StrFormat(
            "    empirical Bayes: p=%.3g; 1-2 stars %d of %d before, %d of %d after: tail at the planted "
            "split "
            "%.3g\n",
            EmpiricalBayesLowShareP(facts, analysed.now, options), low_before, before, low_after,
            static_cast<int>(facts.size()) - before,
            BetaBinomialUpperTail(low_after, static_cast<int>(facts.size()) - before,
                                  prior.alpha + low_before, prior.beta + before - low_before));
      }
      if (options.eb_stars_model != nullptr) {
        std::cout << absl::StrFormat("    empirical Bayes, star levels: p=%.3g\n",
                                     EmpiricalBayesStarsP(facts, analysed.now, options));
      }
      for (const ChangeFinding& f : TestProductChanges(p, facts, analysed.now, options))
        std::cout << "    test " << (f.meets_effect ? "effect " : "small ")
                  << (f.open ? "open " : "reverted ") << absl::StrFormat("test_p=%.3g ", f.test_p_value)
                  << AlertJson(f) << "\n";
    }
    for (const auto& p : s.misdated) {  // detected, but no open alert within 30 days of the planted date
      const auto& facts = analysed.products.at(p);
      const absl::Time planted = *truth.at(p);
      int before = 0;
      for (const ReviewFact& f : facts) before += f.created_at < planted;
      std::cout << absl::StrFormat("  misdated %s: planted %s, reviews before %d after %d\n", p,
                                   absl::FormatTime("%Y-%m-%d", planted, absl::UTCTimeZone()), before,
                                   static_cast<int>(facts.size()) - before);
      for (const ChangeFinding& f : changes)
        if (f.product_id == p && f.open) std::cout << "    " << AlertJson(f) << "\n";
    }
    for (const auto& p : s.false_alarm_products) {
      std::cout << "  false alarm " << p << "\n";
      for (const ChangeFinding& f : changes)
        if (f.product_id == p && f.open) std::cout << "    " << AlertJson(f) << "\n";
    }
  }
  if (absl::GetFlag(FLAGS_by_signal)) {
    const double edges[] = {0.0005, 0.005, 0.05, 1.01};
    int eligible[4] = {0}, found[4] = {0};
    const std::set<std::string> missed(s.missed.begin(), s.missed.end());
    for (const auto& [product, since] : truth) {
      if (!since || !analysed.products.count(product)) continue;
      int after = 0;
      const double p = OracleP(analysed.products.at(product), *since, &after);
      if (after < so.min_after) continue;
      int b = 0;
      while (p > edges[b]) ++b;
      ++eligible[b];
      found[b] += !missed.count(product);
    }
    for (int b = 0; b < 4; ++b) {
      std::cout << absl::StrFormat("signal: oracle_p<=%g eligible=%d detected=%d\n", edges[b], eligible[b],
                                   found[b]);
    }
  }
  PrintFigure("alerts_recall_" + name, absl::StrFormat("%.3f", s.recall()), "ratio", ">=0.9",
              "previous_detector", absl::StrFormat("%.3f", b.recall()));
  PrintFigure("alerts_false_alarm_rate_" + name, absl::StrFormat("%.4f", s.false_alarm_rate()), "ratio",
              "<=0.01", "previous_detector", absl::StrFormat("%.4f", b.false_alarm_rate()));
  PrintFigure("alerts_dated_within_30d_" + name, absl::StrFormat("%.3f", s.dated_share()), "ratio", ">=0.9");
  // The interval (changed_after, since] is where the reviews put the change; the figure is only as
  // informative as the gaps are short, hence the median gap beside it.
  PrintFigure("alerts_interval_within_30d_" + name, absl::StrFormat("%.3f", s.interval_share()), "ratio",
              ">=0.9");
  PrintFigure("alerts_median_gap_days_" + name, absl::StrFormat("%.1f", s.median_gap_days()), "days", "-");
  // The 90% credible range of the rating change's date: a calibration check (it should cover about 90%
  // of the detected changes, widened by the 30 days), and how wide it is.
  std::cout << absl::StrFormat(
      "  date range: detected=%d covered=%d ranged=%d covered_unwidened=%d median_days=%.1f "
      "median_reviews=%.1f\n",
      s.detected, s.range_covered, static_cast<int>(s.range_days.size()), s.range_covered_exact,
      Median(s.range_days), Median(s.range_reviews));
  PrintFigure("alerts_date_range_coverage_" + name, absl::StrFormat("%.3f", s.range_coverage()), "ratio",
              "-");
  PrintFigure("alerts_date_range_median_days_" + name, absl::StrFormat("%.1f", Median(s.range_days)), "days",
              "-");
  return 0;
}
