// A small L-BFGS minimiser (Nocedal & Wright, algorithm 7.4, with a backtracking Armijo line search) for the
// smooth convex objectives the analyzer fits: logistic regression with L2 (the weak-label model, its
// calibration, and the benchmark's TF-IDF baseline). Deterministic: same input, same result.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_LBFGS_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_LBFGS_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"

namespace marketlens::analyzer {

struct LbfgsOptions {
  int max_iterations = 100;
  int history = 8;
  // Stop when the gradient's max-norm falls below this (relative to max(1, |f|)).
  double gradient_tolerance = 1e-5;
  // Called before each iteration; a non-OK status stops the minimisation and is returned (cancellation).
  std::function<absl::Status(int iteration)> before_iteration;
};

// The objective: returns f(x) and writes its gradient into `grad` (same size as x). A non-finite value
// means "stop" (the objective was interrupted): the minimiser returns CANCELLED.
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>* grad)>;

// Minimises `f` from the starting point `x` (updated in place). OK also when max_iterations is reached.
absl::Status MinimizeLbfgs(const Objective& f, std::vector<double>* x, const LbfgsOptions& options = {});

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_LBFGS_H_
