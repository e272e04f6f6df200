// The weakly supervised part of the local engine: a linear classifier of positive vs. negative reviews,
// trained on the collected reviews themselves with their star ratings as labels (4-5 stars positive, 1-2
// negative, 3 left out), so it learns the domain's own words ("flimsy", "returned", "stopped working") that
// a general lexicon lacks.
//
// Method: NB-LR, the logistic-regression variant of NBSVM (Wang & Manning, 2012). Features are binary
// word unigrams and bigrams within a sentence, with words in a negation's scope marked ("not great" gives
// "!great"); they are hashed (FNV-1a, stable across processes) into 2^hash_bits buckets. Each feature is
// scaled by its naive-Bayes log-count ratio r = log((p/|p|)/(q/|q|)), then logistic regression is fitted by
// AdaGrad SGD with L2, classes weighted to balance (ratings skew positive). The fitted weight and r are
// folded into one number per bucket, so prediction is a sum of looked-up floats.
//
// The model is a value: train it, serialise it (Postgres keeps versions), load it, share it read-only
// between threads. A model also keeps the unigrams it weighs most (the lexicon induced from ratings), for
// people to inspect.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_TEXT_MODEL_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_TEXT_MODEL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

struct RatedText {
  std::string text;
  int rating = 0;  // 1..5
};

struct TrainOptions {
  int hash_bits = 20;
  int epochs = 6;
  double learning_rate = 0.25;
  double l2 = 1e-6;
  double nb_alpha = 1.0;
  uint64_t seed = 7;
  // Fraction held out to report accuracy (not trained on). 0: none.
  double holdout = 0.1;
  // Fewer usable (non-3-star) examples than this, or only one class: FAILED_PRECONDITION.
  int min_examples = 40;
  // Words kept as the induced lexicon (per polarity).
  int top_words = 50;
  // When set and it becomes true, training stops within about a thousand examples (it is checked while
  // features are extracted, before each epoch and every 1024 examples of an epoch) and returns CANCELLED.
  // The pipeline points it at its stop flag, so SIGTERM does not wait for a training run.
  const std::atomic<bool>* cancel = nullptr;
  // Called at the start of each epoch (observability and tests); may be empty.
  std::function<void(int epoch)> on_epoch;
};

struct ModelInfo {
  std::string version;   // content hash, "nblr-<16 hex>"
  int64_t examples = 0;  // trained on
  int64_t positives = 0;
  int64_t negatives = 0;
  double holdout_accuracy = -1;  // -1: no hold-out
  int64_t holdout_examples = 0;
};

// Appends the hashed feature ids of tokens [first, end) of `text` (sentence-bounded bigrams, negation
// marking) to `out` (may contain duplicates). Exposed for tests.
void ExtractFeatures(const TokenizedText& text, uint32_t first, uint32_t end, int hash_bits,
                     std::vector<uint32_t>* out);

class TextModel {
 public:
  // INVALID_ARGUMENT (options), FAILED_PRECONDITION (too little data), CANCELLED (options.cancel).
  static absl::StatusOr<TextModel> Train(const std::vector<RatedText>& examples, const TrainOptions& options,
                                         const TokenizerOptions& tokenizer = {});

  // P(positive) of tokens [first, end) (a whole text: 0, tokens.size()).
  double Probability(const TokenizedText& text, uint32_t first, uint32_t end) const;
  // 2 * P(positive) - 1, in (-1, 1).
  double Score(const TokenizedText& text) const {
    return 2 * Probability(text, 0, static_cast<uint32_t>(text.tokens.size())) - 1;
  }
  double SpanScore(const TokenizedText& text, uint32_t first, uint32_t end) const {
    return 2 * Probability(text, first, end) - 1;
  }

  const ModelInfo& info() const { return info_; }
  // Strongest positive / negative unigrams with their weights.
  const std::vector<std::pair<std::string, double>>& top_positive() const { return top_positive_; }
  const std::vector<std::pair<std::string, double>>& top_negative() const { return top_negative_; }

  // A compact binary form (sparse weights); Deserialize checks it.
  std::string Serialize() const;
  static absl::StatusOr<TextModel> Deserialize(absl::string_view data);

 private:
  int hash_bits_ = 20;
  double bias_ = 0;
  std::vector<float> weights_;  // 2^hash_bits, NB ratio folded in
  ModelInfo info_;
  std::vector<std::pair<std::string, double>> top_positive_, top_negative_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_TEXT_MODEL_H_
