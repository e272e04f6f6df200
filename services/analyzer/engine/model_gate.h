// The gate a newly trained weak-label model passes before it goes live: a model trained on
// star ratings must never make the engine worse than its lexicon rules alone.
//
// TrainGatedModel holds out a class-balanced sample of the rated reviews (the same number of positive and
// negative ones, `holdout` of the minority class), trains the model on the rest (class-balanced, with the
// engine's lexicon score as a feature), then scores the sample twice through the engine, exactly as the
// service would: rules alone, and rules combined with the new model. The model passes only if the combined
// engine's balanced accuracy is higher by at least `min_gain` and its macro-F1 is not lower. Raw accuracy
// is never the judge: on ratings that are 95% positive, "always positive" scores 0.95.
//
// The figures travel with the model (ModelInfo::gate, stored with it), so a stored model says why it is live.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_MODEL_GATE_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_MODEL_GATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/text_model.h"

namespace marketlens::analyzer {

struct GateOptions {
  // Share of the minority class held out for the gate (and as many of the majority class)...
  double holdout = 0.2;
  // ... but at least this many of each; when that is more than half the minority class, the data is too
  // small to train and judge: FAILED_PRECONDITION (no model).
  int min_per_class = 20;
  // At most this many per class in the gate sample (bounds the time the gate takes).
  int max_per_class = 2000;
  // Balanced accuracy the combined engine must gain over rules alone.
  double min_gain = 0.005;
  uint64_t seed = 17;
  TrainOptions train;  // lexicon_score is set from the engine
};

// Binary figures of a set of (truth, predicted) pairs.
struct BinaryScores {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  void Add(bool truth, bool predicted) { (truth ? (predicted ? tp : fn) : (predicted ? fp : tn))++; }
  int64_t total() const { return tp + fp + tn + fn; }
  double Accuracy() const;
  // Mean recall of the two classes (0.5 for a constant answer).
  double BalancedAccuracy() const;
  // Mean F1 of the two classes.
  double MacroF1() const;
};

// Trains a model on `examples` (the caller's rated reviews; 3-star ones are ignored) and judges it; the
// model's info().gate holds the figures and whether it passed. FAILED_PRECONDITION: too few reviews of a
// class to train or judge; CANCELLED: options.train.cancel.
absl::StatusOr<TextModel> TrainGatedModel(const Engine& engine, const std::vector<RatedText>& examples,
                                          const GateOptions& options = {});

// Judges an already trained model on labelled texts (rating >= 4 positive, <= 2 negative), the way the gate
// does. `min_gain` as in GateOptions.
GateFigures JudgeModel(const Engine& engine, const TextModel& model, const std::vector<RatedText>& sample,
                       double min_gain);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_MODEL_GATE_H_
