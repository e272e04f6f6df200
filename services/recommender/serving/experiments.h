// A/B experiments: deterministic assignment and the statistics of their results.
//
// Assignment needs no state: a user takes part in an experiment when H(salt, "traffic", user) < traffic
// and sees the variant whose cumulative weight range holds H(salt, "variant", user), with H a 64-bit hash
// mapped to [0, 1). Every replica, every restart and every call gives the same answer, and two
// experiments with different salts split users independently. Several experiments can run at once:
// Recommend uses the first running experiment (in id order) that covers the surface and the user.
//
// Results: conversion = users who purchased / users assigned; CTR = clicks / impressions, each with a 95%
// Wilson score interval; every variant is compared with the first (the control) by a two-sided
// two-proportion z-test, and all variants together by a chi-square test of independence on conversion.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENTS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace marketlens::recommender {

struct ExperimentVariantSpec {
  std::string name;
  double weight = 1;
  std::string model_version;  // "" = promoted
};

struct ExperimentSpec {
  std::string id;
  std::string salt;  // "" = id
  double traffic = 1;
  std::vector<std::string> surfaces;  // empty: all
  std::vector<ExperimentVariantSpec> variants;

  // INVALID_ARGUMENT naming the problem (no variants, duplicate names, weights <= 0, traffic out of range).
  absl::Status Validate() const;
};

// Uniform in [0, 1), stable across processes and builds.
double HashUnit(absl::string_view salt, absl::string_view purpose, absl::string_view user_id);

// The variant the user sees, or nullopt when they are outside the experiment's traffic (or surface).
std::optional<std::string> AssignVariant(const ExperimentSpec& experiment, absl::string_view user_id);
bool CoversSurface(const ExperimentSpec& experiment, absl::string_view surface);

struct Assignment {
  const ExperimentSpec* experiment = nullptr;
  const ExperimentVariantSpec* variant = nullptr;
};
// The first experiment (in the given order) covering the surface and the user.
Assignment ChooseAssignment(const std::vector<ExperimentSpec>& experiments, absl::string_view surface,
                            absl::string_view user_id);

struct Interval {
  double low = 0;
  double high = 0;
};
// Wilson score interval for `successes` out of `trials` (z = 1.96 for 95%). [0, 0] without trials.
Interval WilsonInterval(int64_t successes, int64_t trials, double z = 1.959963984540054);

// Two-sided p-value of H0: p1 == p2 (pooled two-proportion z-test). 1 when undefined.
double TwoProportionPValue(int64_t x1, int64_t n1, int64_t x2, int64_t n2);

// p-value of the chi-square test of independence of success/failure counts across groups (k groups,
// k-1 degrees of freedom). 1 when undefined (fewer than 2 groups with trials, or no variance).
double ChiSquarePValue(const std::vector<int64_t>& successes, const std::vector<int64_t>& trials);

// Upper tail of the chi-square distribution with `df` degrees of freedom: P(X >= x).
double ChiSquareSurvival(double x, int df);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_EXPERIMENTS_H_
