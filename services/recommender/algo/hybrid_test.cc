#include "services/recommender/algo/hybrid.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/recommender/algo/content.h"
#include "services/recommender/algo/popularity.h"

namespace marketlens::recommender {
namespace {

using ::marketlens::testing::IsOk;

// A fixed-score model for checking the blend arithmetic.
class Fixed : public Model {
 public:
  Fixed(std::string name, std::vector<float> s) : name_(std::move(name)), s_(std::move(s)) {}
  std::string name() const override { return name_; }
  Params params() const override { return {}; }
  absl::Status Fit(const TrainingData&) override { return absl::OkStatus(); }
  void Score(int32_t, const UserHistory&, absl::Span<float> out) const override {
    std::copy(s_.begin(), s_.end(), out.begin());
  }
  int32_t num_items() const override { return static_cast<int32_t>(s_.size()); }

 private:
  std::string name_;
  std::vector<float> s_;
};

TEST(HybridTest, BlendsNormalisedScores) {
  HybridModel h({{std::make_shared<Fixed>("a", std::vector<float>{10, 5, 0}), 1.0f},
                 {std::make_shared<Fixed>("b", std::vector<float>{0, 1, 2}), 0.5f}});
  TrainingData d;
  ASSERT_THAT(h.Fit(d), IsOk());
  std::vector<float> s(3);
  h.Score(0, {}, absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[0], 1.0f);
  EXPECT_FLOAT_EQ(s[1], 0.5f + 0.25f);
  EXPECT_FLOAT_EQ(s[2], 0.5f);
  EXPECT_EQ(h.params().at("w_b"), "0.5");
  h.set_weights({0, 1});
  h.Score(0, {}, absl::MakeSpan(s));
  EXPECT_FLOAT_EQ(s[2], 1.0f);
}

TEST(HybridTest, DropsMembersThatCannotFit) {
  InteractionLog log;
  log.Add("u", "x", EventType::kView, 1, 0);
  TrainingData d = BuildTrainingData(log);  // no item metadata: content cannot fit
  HybridModel h({{std::make_shared<ContentModel>(), 1}, {std::make_shared<PopularityModel>(), 1}});
  ASSERT_THAT(h.Fit(d), IsOk());
  ASSERT_EQ(h.members().size(), 1u);
  EXPECT_EQ(h.members()[0].model->name(), "popularity");
  HybridModel only({{std::make_shared<ContentModel>(), 1}});
  EXPECT_EQ(only.Fit(d).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace marketlens::recommender
