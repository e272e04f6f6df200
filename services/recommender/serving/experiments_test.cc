#include "services/recommender/serving/experiments.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

ExperimentSpec Spec(const std::string& id, double traffic = 1, std::vector<double> weights = {1, 1}) {
  ExperimentSpec e{.id = id, .traffic = traffic};
  for (size_t i = 0; i < weights.size(); ++i) e.variants.push_back({absl::StrCat("v", i), weights[i], ""});
  return e;
}

TEST(AssignmentTest, StableAndBalanced) {
  ExperimentSpec e = Spec("exp1");
  int counts[2] = {0, 0};
  for (int u = 0; u < 20000; ++u) {
    const std::string user = absl::StrCat("user-", u);
    auto v = AssignVariant(e, user);
    ASSERT_TRUE(v.has_value());
    ++counts[*v == "v0" ? 0 : 1];
    EXPECT_EQ(AssignVariant(e, user), v);  // same answer every time
  }
  EXPECT_NEAR(counts[0] / 20000.0, 0.5, 0.015);
  // Weights 1:3.
  ExperimentSpec skewed = Spec("exp2", 1, {1, 3});
  int v0 = 0;
  for (int u = 0; u < 20000; ++u) v0 += *AssignVariant(skewed, absl::StrCat("user-", u)) == "v0";
  EXPECT_NEAR(v0 / 20000.0, 0.25, 0.015);
}

TEST(AssignmentTest, TrafficAndIndependentSalts) {
  ExperimentSpec half = Spec("half", 0.3);
  int in = 0;
  for (int u = 0; u < 20000; ++u) in += AssignVariant(half, absl::StrCat("u", u)).has_value();
  EXPECT_NEAR(in / 20000.0, 0.3, 0.015);
  // Two experiments split users independently: being in v0 of one says nothing about the other.
  ExperimentSpec a = Spec("a"), b = Spec("b");
  int both = 0, a0 = 0;
  for (int u = 0; u < 20000; ++u) {
    const std::string user = absl::StrCat("u", u);
    const bool x = *AssignVariant(a, user) == "v0", y = *AssignVariant(b, user) == "v0";
    a0 += x;
    both += x && y;
  }
  EXPECT_NEAR(static_cast<double>(both) / a0, 0.5, 0.03);
  // The salt, not the id, decides: same salt -> same split.
  ExperimentSpec c = Spec("c"), d = Spec("d");
  c.salt = d.salt = "shared";
  for (int u = 0; u < 100; ++u)
    EXPECT_EQ(AssignVariant(c, absl::StrCat("u", u)), AssignVariant(d, absl::StrCat("u", u)));
}

TEST(AssignmentTest, ChooseAssignmentBySurfaceAndOrder) {
  ExperimentSpec email = Spec("email-exp");
  email.surfaces = {"email"};
  ExperimentSpec all = Spec("all-exp");
  std::vector<ExperimentSpec> running = {email, all};
  Assignment home = ChooseAssignment(running, "home", "u1");
  ASSERT_NE(home.experiment, nullptr);
  EXPECT_EQ(home.experiment->id, "all-exp");
  EXPECT_EQ(ChooseAssignment(running, "email", "u1").experiment->id, "email-exp");
  EXPECT_EQ(ChooseAssignment(running, "home", "").experiment, nullptr);  // anonymous: no experiment
  EXPECT_EQ(ChooseAssignment({}, "home", "u1").experiment, nullptr);
}

TEST(AssignmentTest, Validate) {
  EXPECT_THAT(Spec("x").Validate(), IsOk());
  EXPECT_FALSE(Spec("").Validate().ok());
  EXPECT_FALSE(Spec("x", 0).Validate().ok());
  EXPECT_FALSE(Spec("x", 1.5).Validate().ok());
  EXPECT_FALSE(Spec("x", 1, {1}).Validate().ok());
  EXPECT_FALSE(Spec("x", 1, {1, 0}).Validate().ok());
  ExperimentSpec dup = Spec("x");
  dup.variants[1].name = "v0";
  EXPECT_FALSE(dup.Validate().ok());
}

TEST(StatsTest, WilsonIntervalByHand) {
  // 10 of 100 at 95%: center = (0.1 + 1.92/100)/(1.0384) = 0.11480, half = 1.96*sqrt(0.0009+0.000096)/1.0384.
  Interval i = WilsonInterval(10, 100);
  EXPECT_NEAR(i.low, 0.0552, 5e-4);
  EXPECT_NEAR(i.high, 0.1744, 5e-4);
  Interval zero = WilsonInterval(0, 50);
  EXPECT_NEAR(zero.low, 0, 1e-12);
  EXPECT_GT(zero.high, 0.05);
  EXPECT_EQ(WilsonInterval(0, 0).high, 0);
}

TEST(StatsTest, ZTestAndChiSquareAgreeOnTwoGroups) {
  // 200/1000 vs 250/1000: z = 2.68 -> p = 0.0074.
  const double p = TwoProportionPValue(200, 1000, 250, 1000);
  EXPECT_NEAR(p, 0.0074, 5e-4);
  EXPECT_NEAR(ChiSquarePValue({200, 250}, {1000, 1000}), p, 1e-6);  // chi2(1) = z^2
  EXPECT_GT(TwoProportionPValue(100, 1000, 102, 1000), 0.8);
  EXPECT_EQ(TwoProportionPValue(1, 0, 1, 10), 1);
  EXPECT_EQ(ChiSquarePValue({0, 0}, {10, 10}), 1);
  // Chi-square survival: known quantiles.
  EXPECT_NEAR(ChiSquareSurvival(3.841459, 1), 0.05, 1e-5);
  EXPECT_NEAR(ChiSquareSurvival(5.991465, 2), 0.05, 1e-5);
  EXPECT_NEAR(ChiSquareSurvival(18.307038, 10), 0.05, 1e-5);
  EXPECT_LT(ChiSquarePValue({100, 100, 160}, {1000, 1000, 1000}), 0.001);
}

}  // namespace
}  // namespace marketlens::recommender
