// Quality change detection over each product's whole review history, calibrated for a whole catalogue.
// Pure C++: the service's store, the `cli alerts` command, the tests and the bench call this.
//
// Per product, tests of "the newest reviews are worse than everything before them":
//   stars (default)     the empirical-Bayes star-levels test (eb_stars; insights/low_share_prior.h): the
//                       catalogue's fitted Dirichlet prior of star levels, the before-window's posterior
//                       predicting the after-window's star drop, the p of the most surprising split by
//                       parametric Monte Carlo; it takes 0.999 of the stars/sentiment share and, when it
//                       passes, average_rating carries its p;
//   stars and sentiment one permutation test (quality_test kJointScan): the largest standardised drop of
//                       the stars, the sentiment or their standardised sum over the split search below; its
//                       p is the share of random orders of the same reviews (permutations, seeded by the
//                       product) that reach it, exact under "no change" whatever the stars' skew and ties.
//                       average_rating and sentiment each carry this p, are dated by their own maximum-
//                       likelihood split, and alert on their own effect: a rating drop >= min_rating_drop
//                       with the share of 1-2 star reviews up >= min_low_share_rise; a sentiment drop >=
//                       min_sentiment_drop;
//   issue_share:<cat>   Fisher's exact test (hypergeometric tail) on the reviews mentioning the issue,
//                       rise >= min_issue_rise, at least issue_ratio times the share before and
//                       min_issue_count mentions after;
//   review_velocity     the exact binomial test of how many reviews fell after the split given the total
//                       and the share of time (a Poisson process conditioned on its count), rate at most
//                       max_velocity_ratio of the rate before.
// The split is searched, not fixed: candidate splits leave the newest k reviews "after", for k on a geometric
// grid (min_after, x grid_ratio, ...) and the oldest j likewise (min_before, ...), so the search covers the
// whole history. The permutation test pays for the search exactly; the count tests multiply their best grid
// point's p by the number of grid points (Bonferroni). The change date is then refined to the maximum-
// likelihood split near the best grid point, and the before/after values are taken there. A change that
// has since reverted (the newest reviews are significantly better than those just after the change and no
// longer worse than before) is kept as history: `open` false, `recovered_at` set.
//
// Calibration (ChangeCalibration::kPerProduct, the default): the issue's false-alarm target is a rate per
// unchanged product, so each product's tests are one family with a family-wise error <= product_alpha:
// weighted Holm, stars/sentiment weighted quality_weight, the issue and velocity tests sharing the rest
// after Tarone's screen (a count test whose margins can never reach its level does not count: an issue
// mentioned 3 times in 40 reviews cannot be significant however the mentions fall). Then the expected
// number of unchanged products alerted is <= product_alpha x their number, however many products and
// metrics; the minimum effect sizes cut it further. kBenjaminiHochberg (the previous rule) controls the
// false discovery rate at `fdr` over every products x metrics test instead (Tarone-screened, Gilbert's
// FDR version).
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_CHANGE_DETECTION_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_CHANGE_DETECTION_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/analyzer/insights/aggregate.h"
#include "services/analyzer/insights/low_share_prior.h"

namespace marketlens::analyzer {

// How the catalogue's many tests are calibrated (see the file comment).
enum class ChangeCalibration {
  kPerProduct,         // each product's tests as one family (weighted Holm, Tarone-screened) at product_alpha
  kBenjaminiHochberg,  // the false discovery rate over every products x metrics test at fdr
};

// How stars and sentiment are tested.
enum class QualityTest {
  kSeparate,         // each alone (two members of the product's family)
  kStandardisedSum,  // once, as the standardised sum of the two
  kJointScan,        // once: the largest shift of stars, sentiment or their sum, by permutation
};

// Where in the gap between the last review before a change and the first after it the change is dated.
enum class ChangeDating {
  kFirstReviewAfter,   // the first review that shows it
  kArrivalLikelihood,  // the end of the gap the review arrivals favour (two Poisson rates, see ChangeTime)
  kGapMidpoint,        // halfway
  kAfterLastBefore,    // just after the last review before it
};

struct ChangeOptions {
  ChangeCalibration calibration = ChangeCalibration::kPerProduct;
  // Per-product family-wise level: E[unchanged products alerted] <= alpha x N. 0.02 with eb_stars (chosen
  // in-sample on the README's five cases); the permutation test alone was measured at 0.015.
  double product_alpha = 0.02;
  QualityTest quality_test = QualityTest::kJointScan;
  double product_fdr = 0;       // > 0: also alert products that BH at this level over products passes
  double quality_weight = 0.6;  // the stars/sentiment test's share of product_alpha (weighted Holm)
  double combined_variance_floor = 0.1;
  // kJointScan: also scan the share of reviews above 2 stars (a standardised difference of proportions)
  // and / or the multinomial likelihood ratio of the star levels, in the same permutation maximum.
  bool scan_low_share = false;
  double low_share_variance_floor = 0.01;
  bool scan_star_levels = false;
  // Also the empirical-Bayes test of the share of 1-2 star reviews (insights/low_share_prior.h): a member
  // of the product's family with eb_weight of the stars/sentiment test's share (kPerProduct, kJointScan);
  // when it passes, average_rating carries its p. eb_model: the fitted prior and its null cache
  // (FitLowShareModel); DetectChanges fits it over its products when unset. Measured, not kept (README).
  bool eb_low_share = false;
  double eb_weight = 0.5;
  // eb_weight is then a share of product_alpha taken from the issue and velocity tests' share (the
  // stars/sentiment test keeps quality_weight; all of the rest when no count test takes part).
  bool eb_from_count_tests = false;
  // When it (or eb_stars) decides, date the average rating at the 1-2 star share's maximum-likelihood split
  // (Bernoulli, near its best grid point) instead of the stars'.
  bool eb_date_by_low_share = false;
  std::shared_ptr<LowShareEmpiricalBayes> eb_model;
  // The empirical-Bayes test of the five star levels (insights/low_share_prior.h, StarLevelsEmpiricalBayes),
  // the default judge of the stars: a member of the product's family with eb_stars_weight of the
  // stars/sentiment share; the permutation test keeps the rest (0.001 of it by default, so the empirical-
  // Bayes test decides the stars and the sentiment is still tested); when it passes, average_rating carries
  // its p. eb_stars_model: the catalogue's fitted prior and its null cache (FitStarLevelsModel);
  // DetectChanges fits it over its products when unset, the service's pipeline over every product's star
  // counts once per batch (InsightsStore::FitStarLevelsPrior). TestProductChanges without a model tests
  // without this member (the permutation test then takes the whole share). eb_stars = false with
  // product_alpha 0.015: the previous default (the permutation test alone), kept for the record.
  bool eb_stars = true;
  double eb_stars_weight = 0.999;
  StarsStatistic eb_stars_statistic = StarsStatistic::kMeanDrop;
  // When it decides, date the average rating at its own most surprising split (MostSurprisingAfter).
  bool eb_stars_dating = false;
  std::shared_ptr<StarLevelsEmpiricalBayes> eb_stars_model;
  ChangeDating dating = ChangeDating::kFirstReviewAfter;  // others: measured, not kept (README)
  // Re-dating the average rating of an open change (RedatedRatingSplit), each measured and not kept
  // (README, "Re-dating the open rating change"): date_by_star_levels, the star levels' maximum-likelihood
  // split near it; date_by_star_posterior 1 / 2, their posterior mode under eb_stars_model's prior near it /
  // over the whole history; date_latest_change, the latest change that persists to the newest data (a further
  // drop at late_change_alpha after the grid's Bonferroni, or with late_support > 0 the latest split within
  // that many log-likelihood units of the best single change) that still meets the minimum effects.
  bool date_by_star_levels = false;
  int date_by_star_posterior = 0;
  bool date_latest_change = false;
  double late_change_alpha = 0.01;
  double late_support = 0;
  bool redate_when_eb_decides = false;  // re-date only when an empirical-Bayes member decides the stars
  // date_by_joint 1 / 2 (JointSplit; measured, README): date the open rating change at the mean-shift split,
  // near it, of a joint series of each review's stars and sentiment: 1 their standardised sum (the joint
  // permutation test's third series), 2 the stars with the sentiment breaking ties within a star level.
  int date_by_joint = 0;
  // date_by_posterior_median (PosteriorMedianSplit; measured, README): date the open rating change at the
  // median, not the mode, of the change location's posterior near the split.
  bool date_by_posterior_median = false;
  double date_support = 0;  // > 0: the earliest split within this many log-likelihood units of the best
  int permutations = 999;   // the split search's p by permutation (0: Bonferroni over the grid)
  int min_after = 8;        // reviews after a change before it can be reported
  int min_before = 5;       // reviews before it
  double grid_ratio = 1.5;  // the split search's geometric grid of "newest k reviews"
  double fdr = 0.1;         // Benjamini-Hochberg level across products x metrics
  double min_rating_drop = 0.5;
  double min_sentiment_drop = 0.3;
  double min_low_share_rise = 0.1;  // a rating drop must show as more 1-2 star reviews, not 5 -> 4 stars
  double min_issue_rise = 0.10;     // absolute share
  double issue_ratio = 2.0;         // after share >= ratio x before share
  int min_issue_count = 3;          // mentions after the change
  double max_velocity_ratio = 0.35;
  int min_velocity_days = 42;    // an "after" period of velocity must be at least this long
  int min_velocity_before = 20;  // reviews before a velocity change
  double recovery_alpha = 0.01;  // a reversal needs this (after its own grid correction)
  int max_evidence = 5;
  double rating_variance_floor = 0.1;
  double sentiment_variance_floor = 0.01;
};

// One test of one metric of one product (whether or not it ends in an alert).
struct ChangeFinding {
  std::string product_id;
  std::string kind;           // "rating_drop", "sentiment_drop", "issue_spike", "velocity_drop"
  std::string metric;         // "average_rating", "sentiment", "issue_share:<category>", "review_velocity"
  double p_value = 1;         // adjusted for the split search (and, per product, for the product's family)
  double test_p_value = 1;    // adjusted for the split search only
  double min_p_value = 0;     // the smallest p this test could give with its margins (count tests)
  bool meets_effect = false;  // the minimum effect size holds at the refined split
  absl::Time since = absl::InfinitePast();  // first review after the change
  // The last review before the change: the change happened after it and by `since`. The reviews cannot
  // date it more closely (nothing was written in between), so (changed_after, since] is the interval.
  absl::Time changed_after = absl::InfinitePast();
  // Open average_rating changes: a 90% credible range of the change date, the `since` (first review after
  // the split) of the earliest and the latest split of ChangeLocationCredibleSplits; it always contains
  // `since`. InfinitePast when not computed (other metrics, history).
  absl::Time since_earliest = absl::InfinitePast();
  absl::Time since_latest = absl::InfinitePast();
  absl::Time recovered_at = absl::InfinitePast();  // first review of the recovery (history only)
  bool open = true;                                // persists to the newest data
  double before = 0;  // value before / after the change (stars, sentiment, share, reviews per week)
  double after = 0;
  int before_reviews = 0;
  int after_reviews = 0;
  std::vector<std::string> evidence;  // review ids after the change that show it, earliest first
  std::string message;
};

// A product's reviews up to `now` in the order the tests read them: by time, then by review id.
std::vector<const ReviewFact*> ReviewsInOrder(const std::vector<ReviewFact>& facts, absl::Time now);

// Every test that could be run for one product (reviews in any order; `id` fills the evidence).
std::vector<ChangeFinding> TestProductChanges(const std::string& product_id,
                                              const std::vector<ReviewFact>& facts, absl::Time now,
                                              const ChangeOptions& options = {});

// The latest split at or after `split` where x (the stars, oldest first) drops again and stays lower to the
// newest value (ChangeOptions::date_latest_change); `split` if none.
int LatestPersistingSplit(const std::vector<double>& x, int split, const ChangeOptions& options);

// The maximum-likelihood split of x's star levels (two multinomials) near `split` (the refine window of the
// split search), among splits where the mean drops (ChangeOptions::date_by_star_levels).
// With `prior` (5 Dirichlet parameters), the split of the largest Dirichlet-multinomial marginal of the two
// segments (the posterior mode of a single change's location under a uniform prior on it); `whole`: over the
// whole history rather than near `split`.
int StarLevelsSplit(const std::vector<double>& x, int split, const ChangeOptions& options,
                    const std::vector<double>& prior = {}, bool whole = false);

// The maximum-likelihood split near `split` (the refine window of the split search) of a joint series of the
// reviews' stars and sentiment (oldest first, the same length), among splits where its mean drops (a Gaussian
// mean shift with a common variance): options.date_by_joint 1, the standardised sum of stars and sentiment;
// 2, stars + 0.49 x sentiment (in [-1, 1]), the sentiment ordering reviews only within a star level.
int JointSplit(const std::vector<double>& stars, const std::vector<double>& sentiment, int split,
               const ChangeOptions& options);

// The median of the change location's posterior near `split` (the refine window of the split search), among
// splits where the stars' mean drops: one Gaussian mean shift, flat priors on both means and the location,
// the common variance integrated out, so p(i) ~ RSS(i)^-((n-2)/2) / sqrt(i (n - i)) with RSS(i) the
// residual sum of squares of the split at i (floored). Where the likelihood is broad (a planted run mixed
// with kept originals, mild originals just before it) the median sits between the candidates rather than
// on whichever one the noise favours.
int PosteriorMedianSplit(const std::vector<double>& stars, int split, const ChangeOptions& options);

// The change location's posterior over the splits first..last (reviews before the change; clipped to
// 1..n-1) where the stars' mean drops, the model of PosteriorMedianSplit: (split, weight) oldest split first,
// the weights proportional to the posterior, the mode's 1. Empty when the mean drops at none of them.
std::vector<std::pair<int, double>> ChangeLocationPosterior(const std::vector<double>& stars, int first,
                                                            int last, const ChangeOptions& options);

// A credible range of a single drop's location: the earliest and the latest split of the smallest set of
// splits holding >= `level` of ChangeLocationPosterior over the whole history (min_before .. n - min_after,
// not the refine window: the window is a search device around a grid point and would cut off exactly the
// distant alternatives, such as the product's own earlier drop, the range is meant to show), widened to
// contain `split` (the alert's date, which stays where the split search put it).
std::pair<int, int> ChangeLocationCredibleSplits(const std::vector<double>& stars, int split,
                                                 const ChangeOptions& options, double level = 0.9);

// The average rating's split of an open change after the options above (date_by_posterior_median,
// date_by_joint with `sentiment`,
// date_by_star_levels, date_by_star_posterior, date_latest_change; `split` when all are off).
int RedatedRatingSplit(const std::vector<double>& stars, int split, const ChangeOptions& options,
                       const std::vector<double>& sentiment = {});

// The split search's grid for n reviews: the counts of reviews after the candidate splits.
std::vector<int> SplitGrid(int n, const ChangeOptions& options);

// The refine window around a grid point with k0 reviews after it, in a history of n reviews: the counts of
// reviews after the candidate splits, {lo, hi}, from k0 / grid_ratio^2 to k0 x grid_ratio^2 within
// min_after and n - min_before (the neighbouring grid points either side).
std::pair<int, int> RefineWindow(int k0, int n, const ChangeOptions& options);

// The Benjamini-Hochberg p-value threshold at level q for these p-values (0 when nothing passes).
double BenjaminiHochbergThreshold(std::vector<double> p_values, double q);
// The same after Gilbert's (2005) Tarone screen: with m(K) = #{tests whose min_p_values[i] <= q / K}, the
// smallest K with m(K) <= K; BH at q over those m(K) tests only. Returns the p threshold (0: none).
double TaroneBenjaminiHochbergThreshold(const std::vector<double>& p_values,
                                        const std::vector<double>& min_p_values, double q);

// The p threshold that makes a test an alert (with its effect size). Per product: product_alpha (p_value is
// then already adjusted within the product), or, with product_fdr > 0, the larger of it and the BH threshold
// at product_fdr over the products' smallest p. Across tests: the Tarone-screened BH threshold over all.
double AlertThreshold(const std::vector<ChangeFinding>& tests, const ChangeOptions& options = {});

// The findings that are alerts: p <= AlertThreshold over all of `tests`, and the effect sizes hold.
// Order: product id, then metric.
std::vector<ChangeFinding> SelectChanges(const std::vector<ChangeFinding>& tests,
                                         const ChangeOptions& options = {});

// The empirical-Bayes low-share model over these products (their reviews up to `now`; no labels).
std::shared_ptr<LowShareEmpiricalBayes> FitLowShareModel(
    const std::map<std::string, std::vector<ReviewFact>>& products, absl::Time now);

// The empirical-Bayes star-levels model over these products (Dirichlet-multinomial over their star counts
// up to `now`; no labels).
std::shared_ptr<StarLevelsEmpiricalBayes> FitStarLevelsModel(
    const std::map<std::string, std::vector<ReviewFact>>& products, absl::Time now,
    StarsStatistic statistic = StarsStatistic::kMeanDrop);

// The same from products' star-level counts (count vectors of 1..5 stars, as InsightsStore::StarLevelCounts
// gives them): the Dirichlet-multinomial fit, rounded to 4 significant digits so that a catalogue that grew
// by a few reviews keeps the same prior and the pipeline keeps its Monte Carlo null cache.
std::shared_ptr<StarLevelsEmpiricalBayes> StarLevelsModelFromCounts(
    const std::vector<std::vector<int>>& counts, StarsStatistic statistic = StarsStatistic::kMeanDrop);

// The empirical-Bayes star-levels test's p for one product (eb_stars_model; 1 without one).
double EmpiricalBayesStarsP(const std::vector<ReviewFact>& facts, absl::Time now,
                            const ChangeOptions& options);

// The empirical-Bayes low-share test's p for one product (its reviews up to `now`, the options' grid and
// eb_model; 1 without a model or too few reviews): what TestProductChanges joins to the product's family.
double EmpiricalBayesLowShareP(const std::vector<ReviewFact>& facts, absl::Time now,
                               const ChangeOptions& options);

// TestProductChanges for every product, then SelectChanges across all of them.
std::vector<ChangeFinding> DetectChanges(const std::map<std::string, std::vector<ReviewFact>>& products,
                                         absl::Time now, const ChangeOptions& options = {});

// P(X >= x) for X hypergeometric: `draws` reviews after the split of `total`, `successes` mentions in all.
double HypergeometricUpperTail(int x, int total, int successes, int draws);
// P(X <= x) for X ~ Binomial(n, p).
double BinomialLowerTail(int x, int n, double p);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_CHANGE_DETECTION_H_
