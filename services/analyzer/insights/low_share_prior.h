// An empirical-Bayes test of "the newest reviews have more 1-2 star reviews than this product's past
// predicts" (ChangeOptions::eb_low_share; measured, off by default: services/analyzer/README.md).
//
// The prior: products' shares of 1-2 star reviews across the catalogue being analysed, Beta(alpha, beta)
// fitted by beta-binomial maximum likelihood over every product's (1-2 star reviews, reviews); no labels.
// The statistic, per product, over the split search's grid: at each split, the before-window's posterior
// Beta(alpha + low before, beta + others before) predicts the after-window's count of 1-2 star reviews
// (beta-binomial); its upper tail P(X >= the count seen) is how surprising the after-window is; the
// statistic is the smallest tail over the grid. Unlike the permutation test it does not condition on the
// product's own pool of stars: a product whose first 11 reviews are 5 stars and whose next 10 hold 6 low
// ones is surprising because products rarely turn that way, not only because of where its 6 lows fall.
// The p: the share of simulated products under the model's null (theta from the prior, n iid reviews, the
// product's own n and grid) whose statistic is as small; Monte Carlo, exact under that model up to its
// sampling, cached by (n, grid). Its weak point is the model: a misspecified prior or products whose low
// share drifts without a change raise false alarms, which the model does not see.
#ifndef MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_
#define MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_

#include <cstdint>
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

// P(X >= x) for X ~ BetaBinomial(n, a, b).
double BetaBinomialUpperTail(int x, int n, double a, double b);

class LowShareEmpiricalBayes {
 public:
  explicit LowShareEmpiricalBayes(BetaPrior prior, int simulations = 4999, uint64_t seed = 20261207);

  const BetaPrior& prior() const { return prior_; }

  // The statistic: the smallest posterior-predictive tail over the grid (counts of reviews after the
  // split) of `low` (1 for a 1-2 star review, in time order).
  double Statistic(const std::vector<int>& low, const std::vector<int>& grid) const;

  // Its p under the model's null (Monte Carlo, cached by n and grid; thread-safe).
  double PValue(const std::vector<int>& low, const std::vector<int>& grid);

 private:
  // The sorted null statistics for n reviews and this grid.
  const std::vector<double>& Null(int n, const std::vector<int>& grid);

  BetaPrior prior_;
  int simulations_;
  uint64_t seed_;
  std::mutex mu_;
  std::map<std::pair<int, std::vector<int>>, std::vector<double>> null_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_INSIGHTS_LOW_SHARE_PRIOR_H_
