// The weakly supervised part of the local engine: a linear classifier of positive vs. negative reviews,
// trained on the collected reviews themselves with their star ratings as labels (4-5 stars positive, 1-2
// negative, 3 left out), so it learns the domain's own words ("flimsy", "returned", "stopped working") that
// a general lexicon lacks.
//
// Method: logistic regression on TF-IDF features, with the lexicon's score as one more feature.
//   - Features: word unigrams and bigrams within a sentence, words in a negation's scope marked ("not great"
//     gives "!great"), hashed (FNV-1a, stable across processes) into 2^hash_bits buckets; sublinear term
//     frequency (1 + ln tf) times smoothed idf (ln((1 + N) / (1 + df)) + 1), L2-normalised per text.
//   - Stacked with the lexicon: P = sigmoid(a z + l lexicon + b), where z is the text model's margin and
//     lexicon the rules' compound score of the same text (TrainOptions::lexicon_score); a, l, b are fitted
//     on cross-fitted (out-of-fold) margins, so the model learns how far to trust the rules in this domain
//     without its own overfitting on the training texts hiding it. This is also the calibration (Platt
//     scaling), so Probability() means what it says.
//   - Classes are weighted to balance (n / (2 n_class)): ratings skew positive (95% of some stores' reviews
//     are 4-5 stars), and an unweighted model learns "always positive".
//   - Fitted by L-BFGS on the L2-regularised log loss (inverse strength `c`, as scikit-learn's C).
//   The engine uses the calibrated probability to let the model override the rules only where it is
//   confident.
//
// The model is a value: train it, serialise it (Postgres keeps versions), load it, share it read-only
// between threads. A model also keeps the unigrams it weighs most (the lexicon induced from ratings), for
// people to inspect, and the figures of the gate that let it go live (model_gate.h).
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
  // L-BFGS iterations at most (each is one pass over the data).
  int epochs = 100;
  // Inverse L2 strength: loss sum + ||w||^2 / (2 c).
  double c = 4.0;
  uint64_t seed = 7;
  // Cross-fitting folds: each review's margin comes from a model trained on the other folds; the stacker
  // (calibration and the lexicon's weight) is fitted on those margins, which also give the reported
  // cross-validated figures. The final model is then trained on everything. < 2: none (no calibration, no
  // lexicon feature).
  int folds = 3;
  // Fewer usable (non-3-star) examples than this, or only one class: FAILED_PRECONDITION.
  int min_examples = 40;
  // Words kept as the induced lexicon (per polarity).
  int top_words = 50;
  // The rules' score of tokens [first, end) of a text, in [-1, 1]; when set it is a feature of the model
  // (and Probability() must then be given the same score). The engine passes its lexicon rules.
  std::function<double(const TokenizedText& text, uint32_t first, uint32_t end)> lexicon_score;
  // When set and it becomes true, training stops within about a thousand examples (it is checked while
  // features are extracted and every 1024 examples of each pass) and returns CANCELLED. The pipeline points
  // it at its stop flag, so SIGTERM does not wait for a training run.
  const std::atomic<bool>* cancel = nullptr;
  // Called at the start of each optimiser iteration (observability and tests); may be empty.
  std::function<void(int epoch)> on_epoch;
};

// The figures of the gate that judged a model (model_gate.h): on a class-balanced held-out sample of the
// model's own training data, the engine with rules alone vs. the engine with this model.
struct GateFigures {
  int64_t examples = 0;  // in the balanced sample (half positive)
  double rules_balanced_accuracy = -1;
  double rules_macro_f1 = -1;
  double combined_balanced_accuracy = -1;
  double combined_macro_f1 = -1;
  bool passed = false;
};

struct ModelInfo {
  std::string version;   // content hash, "tflr-<16 hex>"
  int64_t examples = 0;  // trained on
  int64_t positives = 0;
  int64_t negatives = 0;
  // Cross-validated figures: each review scored by the stacked model of the folds that did not see it
  // (insights.models.holdout_accuracy keeps the first). -1: no folds.
  double holdout_accuracy = -1;
  double holdout_balanced_accuracy = -1;  // mean of the two classes' recall
  int64_t holdout_examples = 0;
  bool uses_lexicon = false;  // trained with TrainOptions::lexicon_score
  GateFigures gate;           // set by the gate (model_gate.h); examples == 0 when not gated
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

  // Calibrated P(positive) of tokens [first, end) (a whole text: 0, tokens.size()); `lexicon_score` is the
  // rules' score of the same tokens (ignored unless info().uses_lexicon).
  double Probability(const TokenizedText& text, uint32_t first, uint32_t end, double lexicon_score = 0) const;
  // 2 * P(positive) - 1, in (-1, 1).
  double Score(const TokenizedText& text, double lexicon_score = 0) const {
    return 2 * Probability(text, 0, static_cast<uint32_t>(text.tokens.size()), lexicon_score) - 1;
  }
  double SpanScore(const TokenizedText& text, uint32_t first, uint32_t end, double lexicon_score = 0) const {
    return 2 * Probability(text, first, end, lexicon_score) - 1;
  }

  const ModelInfo& info() const { return info_; }
  void set_gate(const GateFigures& gate) { info_.gate = gate; }
  // Strongest positive / negative unigrams with their weights.
  const std::vector<std::pair<std::string, double>>& top_positive() const { return top_positive_; }
  const std::vector<std::pair<std::string, double>>& top_negative() const { return top_negative_; }

  // A compact binary form (sparse weights); Deserialize checks it.
  std::string Serialize() const;
  static absl::StatusOr<TextModel> Deserialize(absl::string_view data);

 private:
  // The text model's raw margin z (before stacking).
  double Margin(const TokenizedText& text, uint32_t first, uint32_t end) const;

  int hash_bits_ = 20;
  double bias_ = 0;
  double lexicon_weight_ = 0;
  double calib_a_ = 1, calib_b_ = 0;  // P = sigmoid(calib_a * margin + lexicon_weight * lexicon + calib_b)
  double default_idf_ = 1;            // idf of a bucket never seen in training
  std::vector<float> weights_;        // 2^hash_bits
  std::vector<float> idf_;            // 2^hash_bits (default_idf_ where unseen)
  ModelInfo info_;
  std::vector<std::pair<std::string, double>> top_positive_, top_negative_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_TEXT_MODEL_H_
