// The weak-label model learns domain words from star ratings alone, round-trips through its binary form,
// and refuses to train on too little data.
#include "services/analyzer/engine/text_model.h"

#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

// Reviews whose opinion words are NOT in a general lexicon ("flimsy" and "wobbly" vs "sturdy" and
// "solid"), with the rating the writer gave. Words are mixed with neutral filler so the model must pick them.
std::vector<RatedText> Corpus(int n, uint64_t seed) {
  const std::vector<std::string> good = {"sturdy", "solid", "returned never", "rock steady", "holds up"};
  const std::vector<std::string> bad = {"flimsy", "wobbly", "returned it", "fell over", "rattles"};
  const std::vector<std::string> filler = {"the stand",     "this lamp",      "my desk",  "the base",
                                           "after a month", "for the office", "in black", "the arm"};
  std::mt19937_64 rng(seed);
  std::vector<RatedText> out;
  for (int i = 0; i < n; ++i) {
    const bool positive = rng() % 3 != 0;  // ratings skew positive, as real ones do
    const auto& words = positive ? good : bad;
    std::string text = filler[rng() % filler.size()] + " is " + words[rng() % words.size()] + ", " +
                       filler[rng() % filler.size()] + " " + words[rng() % words.size()] + ".";
    out.push_back({text, positive ? 4 + static_cast<int>(rng() % 2) : 1 + static_cast<int>(rng() % 2)});
    if (i % 10 == 0) out.push_back({filler[rng() % filler.size()] + " is fine i guess.", 3});
  }
  return out;
}

double Predict(const TextModel& m, const std::string& text) {
  TokenizedText t;
  Tokenize(text, {}, &t);
  return m.Score(t);
}

TEST(TextModelTest, LearnsDomainWordsFromRatings) {
  auto model = TextModel::Train(Corpus(2000, 1), {.hash_bits = 16});
  ASSERT_THAT(model, IsOk());
  EXPECT_GT(Predict(*model, "the lamp is sturdy"), 0.5);
  EXPECT_LT(Predict(*model, "the lamp is flimsy"), -0.5);
  EXPECT_GT(model->info().holdout_accuracy, 0.95);
  EXPECT_GT(model->info().holdout_balanced_accuracy, 0.95);
  // Cross-fitted: every one of the 2000 non-3-star reviews is scored by a model that did not see it, and
  // the final model is trained on all of them.
  EXPECT_EQ(model->info().holdout_examples, 2000);
  EXPECT_EQ(model->info().examples, 2000);
  EXPECT_EQ(model->info().positives + model->info().negatives, model->info().examples);
  // The induced lexicon names the domain words.
  bool flimsy = false, sturdy = false;
  for (const auto& [w, weight] : model->top_negative()) flimsy |= w == "flimsy";
  for (const auto& [w, weight] : model->top_positive()) sturdy |= w == "sturdy";
  EXPECT_TRUE(flimsy);
  EXPECT_TRUE(sturdy);
}

TEST(TextModelTest, NegationScopeIsItsOwnFeature) {
  std::vector<RatedText> corpus;
  for (int i = 0; i < 300; ++i) {
    corpus.push_back({"the fit is snug", 5});
    corpus.push_back({"the fit is not snug", 1});
    corpus.push_back({"the color is nice", 4});
    corpus.push_back({"the color is drab", 2});
  }
  auto model = TextModel::Train(corpus, {.hash_bits = 14, .folds = 0});
  ASSERT_THAT(model, IsOk());
  EXPECT_GT(Predict(*model, "snug"), 0.3);
  EXPECT_LT(Predict(*model, "not snug"), -0.3);
}

TEST(TextModelTest, SerializeRoundTrip) {
  auto model = TextModel::Train(Corpus(500, 2), {.hash_bits = 14});
  ASSERT_THAT(model, IsOk());
  const std::string blob = model->Serialize();
  auto back = TextModel::Deserialize(blob);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->info().version, model->info().version);
  EXPECT_EQ(back->info().examples, model->info().examples);
  EXPECT_DOUBLE_EQ(Predict(*back, "the base is wobbly"), Predict(*model, "the base is wobbly"));
  EXPECT_EQ(back->top_positive(), model->top_positive());
  // Corrupt input is an error, never a crash.
  EXPECT_FALSE(TextModel::Deserialize(blob.substr(0, blob.size() / 2)).ok());
  EXPECT_FALSE(TextModel::Deserialize("garbage").ok());
  EXPECT_FALSE(TextModel::Deserialize(blob + "x").ok());
}

TEST(TextModelTest, SameDataSameModel) {
  auto a = TextModel::Train(Corpus(300, 3), {.hash_bits = 14});
  auto b = TextModel::Train(Corpus(300, 3), {.hash_bits = 14});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->info().version, b->info().version);
}

TEST(TextModelTest, RefusesTooLittleOrOneSidedData) {
  EXPECT_EQ(TextModel::Train({{"good", 5}, {"bad", 1}}, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<RatedText> one_sided(500, {"lovely", 5});
  EXPECT_EQ(TextModel::Train(one_sided, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TextModel::Train(Corpus(100, 4), {.hash_bits = 40}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TextModelTest, FeaturesStayInsideSentences) {
  TokenizedText t;
  Tokenize("great. value", {}, &t);
  std::vector<uint32_t> both, first, second;
  ExtractFeatures(t, 0, static_cast<uint32_t>(t.tokens.size()), 20, &both);
  ExtractFeatures(t, 0, 1, 20, &first);
  ExtractFeatures(t, 1, 2, 20, &second);
  EXPECT_EQ(both.size(), first.size() + second.size());  // no "great value" bigram across the full stop
}

// A training run stops soon after its cancel flag is set (the pipeline's stop flag, set on SIGTERM): here
// in the middle of a run planned for 200 epochs over 20k reviews (many seconds), it returns CANCELLED within
// a fraction of a second.
TEST(TextModelTest, TrainingStopsPromptlyWhenCancelled) {
  const std::vector<RatedText> corpus = Corpus(20000, 5);
  std::atomic<bool> cancel{false};
  absl::Notification second_epoch;
  TrainOptions options;
  options.hash_bits = 18;
  options.epochs = 200;
  options.cancel = &cancel;
  options.on_epoch = [&](int epoch) {
    if (epoch == 1 && !second_epoch.HasBeenNotified()) second_epoch.Notify();
  };
  absl::StatusOr<TextModel> result = absl::UnknownError("not run");
  absl::Time returned;
  const absl::Time start = absl::Now();
  std::thread trainer([&] {
    result = TextModel::Train(corpus, options);
    returned = absl::Now();
  });
  ASSERT_TRUE(second_epoch.WaitForNotificationWithTimeout(absl::Seconds(30)));
  const absl::Time cancelled = absl::Now();
  const absl::Duration one_epoch = cancelled - start;  // feature extraction + one epoch, roughly
  cancel = true;
  trainer.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << result.status();
  const absl::Duration latency = returned - cancelled;
  std::printf("cancel latency: %.2f ms (time to reach epoch 1: %.0f ms, planned epochs: %d)\n",
              absl::ToDoubleMilliseconds(latency), absl::ToDoubleMilliseconds(one_epoch), options.epochs);
  EXPECT_LT(latency, absl::Milliseconds(250));

  // Cancelled before it starts: returns at once.
  EXPECT_EQ(TextModel::Train(corpus, options).status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace marketlens::analyzer
