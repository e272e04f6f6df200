// Empirical-Bayes tests of "the newest reviews are worse than this product's past predicts"
// (services/analyzer/README.md: the star-levels test is the default judge of the stars, the low-share test
// was measured and is off). Two tests share the machinery (SplitEmpiricalBayes):
//
// ChangeOptions::eb_low_share (LowShareEmpiricalBayes): the prior is products' shares of 1-2 star reviews
// across the catalogue being analysed, Beta(alpha, beta) fitted by beta-binomial maximum likelihood over
// every product's (1-2 star reviews, reviews); no labels. At each split of the split search's grid, the
// before- window's posterior Beta(alpha + low before, beta + others before) predicts the after-window's count
// of 1-2 star reviews (beta-binomial); its upper tail P(X >= the count seen) is how surprising the
// after-window is.
//
// ChangeOptions::eb_stars (StarLevelsEmpiricalBayes): the prior is products' shares of the five star levels,
// Dirichlet(a_1..a_5) fitted by Dirichlet-multinomial maximum likelihood over every product's level counts
// (no labels). At each split the before-window's posterior Dirichlet(a + counts before) predicts the after-
// window's levels (Dirichlet-multinomial); the statistic is the upper tail of the after-window's star drop
// S = sum (5 - stars), by the normal law with S's exact posterior-predictive mean and variance, and (with
// kMeanDropOrLowShare) also the exact beta-binomial tail of its 1-2 star count (the Dirichlet's marginal), so
// one member sees a mean that moved and a low share that rose.
//
// Both: the statistic is the smallest tail over the grid. Unlike the permutation test they do not condition
// on the product's own pool of stars: a product whose first 11 reviews are 5 stars and whose next 10 hold 6
// low ones is surprising because products rarely turn that way, not only because of where its 6 lows fall.
// The p: the share of simulated products under the model's null (level shares from the prior, n iid reviews,
// the product's own n and grid) whose statistic is as small; Monte Carlo, exact under that model up to its
// sampling, cached by (n, grid). Their weak point is the model: a misspecified prior or products whose levels
// drift without a change raise false alarms, which the model does not see.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace marketlens::analyzer {

struct BetaPrior {
  double alpha = 1, beta = 1;
};

// Beta-binomial maximum likelihood over (successes, trials) pairs (pairs with 0 trials are ignored); the
// method of moments starts the search. Fewer than two usable pairs: Beta(1, 1).
BetaPrior FitBetaBinomial(const std::vector<std::pair<int, int>>& successes_and_trials);

// Dirichlet-multinomial maximum likelihood over count vectors of `levels` levels (vectors summing to 0 are
// ignored; shorter ones are padded with zeros). Fewer than two usable vectors: Dirichlet(1, ..., 1).
std::vector<double> FitDirichletMultinomial(const std::vector<std::vector<int>>& counts, int levels);

// P(X >= x) for X ~ BetaBinomial(n, a, b).
double BetaBinomialUpperTail(int x, int n, double a, double b);

// A posterior-predictive split test under a Dirichlet prior of products' review levels (0..K-1), its p by
// parametric Monte Carlo under the prior (see the file comment). Subclasses give the levels and the
// statistic.
class SplitEmpiricalBayes {
 public:
  SplitEmpiricalBayes(std::vector<double> level_prior, int simulations, uint64_t seed);
  virtual ~SplitEmpiricalBayes() = default;

  const std::vector<double>& level_prior() const { return level_prior_; }

  // A review's level from its stars.
  virtual int Level(int stars) const = 0;
  // The statistic of `levels` (in time order) over the grid (counts of reviews after the split): the
  // smallest posterior-predictive tail; smaller is more surprising.
  virtual double Statistic(const std::vector<int>& levels, const std::vector<int>& grid) const = 0;

  std::vector<int> Levels(const std::vector<double>& stars) const;
  // Its p under the model's null (Monte Carlo, cached by n and grid; thread-safe).
  double PValue(const std::vector<int>& levels, const std::vector<int>& grid);

  // The null cache holds at most this many (n, grid) entries (each `simulations` doubles: 512 x 4,999 x 8
  // bytes ~20 MB), the oldest dropped first; a dropped entry is simulated again, identically (its seed is
  // n's).
  void set_max_cached(size_t entries);
  size_t cached() const;

 private:
  // The sorted null statistics for n reviews and this grid.
  const std::vector<double>& Null(int n, const std::vector<int>& grid);

  std::vector<double> level_prior_;
  int simulations_;
  uint64_t seed_;
  mutable std::mutex mu_;
  size_t max_cached_ = 512;
  std::map<std::pair<int, std::vector<int>>, std::vector<double>> null_;
  std::deque<std::pair<int, std::vector<int>>> insertion_order_;
};

// Level 0: a 1-2 star review, level 1: the others.
class LowShareEmpiricalBayes : public SplitEmpiricalBayes {
 public:
  explicit LowShareEmpiricalBayes(BetaPrior prior, int simulations = 4999, uint64_t seed = 20261207);

  BetaPrior prior() const { return {level_prior()[0], level_prior()[1]}; }
  int Level(int stars) const override { return stars <= 2 ? 0 : 1; }
  double Statistic(const std::vector<int>& levels, const std::vector<int>& grid) const override;
};

enum class StarsStatistic {
  kMeanDrop,            // the normal tail of the after-window's star drop
  kMeanDropOrLowShare,  // the smaller of that and the beta-binomial tail of its 1-2 star count
};

// Level j: a review of j + 1 stars.
class StarLevelsEmpiricalBayes : public SplitEmpiricalBayes {
 public:
  explicit StarLevelsEmpiricalBayes(std::vector<double> prior,
                                    StarsStatistic statistic = StarsStatistic::kMeanDrop,
                                    int simulations = 4999, uint64_t seed = 20261207);

  int Level(int stars) const override { return stars < 1 ? 0 : stars > 5 ? 4 : stars - 1; }
  double Statistic(const std::vector<int>& levels, const std::vector<int>& grid) const override;

  // The most surprising split: the grid point with the smallest tail, refined to the smallest tail among the
  // splits between its grid neighbours; returns the count of reviews after it (0 for an empty grid).
  int MostSurprisingAfter(const std::vector<int>& levels, const std::vector<int>& grid) const;

  // The tail at one split: `before` and `after` level counts.
  double SplitTail(const std::vector<int>& before, const std::vector<int>& after) const;

 private:
  StarsStatistic statistic_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_
