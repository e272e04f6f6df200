#include "services/analyzer/engine/model_gate.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace marketlens::analyzer {
namespace {

double Ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / b : 0.0; }
double F1(int64_t tp, int64_t fp, int64_t fn) { return tp > 0 ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0; }

}  // namespace

double BinaryScores::Accuracy() const { return Ratio(tp + tn, total()); }
double BinaryScores::BalancedAccuracy() const { return (Ratio(tp, tp + fn) + Ratio(tn, tn + fp)) / 2; }
double BinaryScores::MacroF1() const { return (F1(tp, fp, fn) + F1(tn, fn, fp)) / 2; }

GateFigures JudgeModel(const Engine& engine, const TextModel& model, const std::vector<RatedText>& sample,
                       double min_gain) {
  BinaryScores rules, combined;
  for (const RatedText& r : sample) {
    if (r.rating < 1 || r.rating > 5 || r.rating == 3) continue;
    const bool truth = r.rating >= 4;
    const ReviewInput input{.text = r.text};
    rules.Add(truth, engine.AnalyzeWithModel(input, nullptr).sentiment > 0);
    combined.Add(truth, engine.AnalyzeWithModel(input, &model).sentiment > 0);
  }
  GateFigures g;
  g.examples = rules.total();
  g.rules_balanced_accuracy = rules.BalancedAccuracy();
  g.rules_macro_f1 = rules.MacroF1();
  g.combined_balanced_accuracy = combined.BalancedAccuracy();
  g.combined_macro_f1 = combined.MacroF1();
  g.passed = g.examples > 0 && g.combined_balanced_accuracy >= g.rules_balanced_accuracy + min_gain &&
             g.combined_macro_f1 >= g.rules_macro_f1;
  return g;
}

absl::StatusOr<TextModel> TrainGatedModel(const Engine& engine, const std::vector<RatedText>& examples,
                                          const GateOptions& options) {
  std::vector<const RatedText*> pos, neg;
  for (const RatedText& r : examples) {
    if (r.rating < 1 || r.rating > 5 || r.rating == 3) continue;
    (r.rating >= 4 ? pos : neg).push_back(&r);
  }
  std::mt19937_64 rng(options.seed);
  std::shuffle(pos.begin(), pos.end(), rng);
  std::shuffle(neg.begin(), neg.end(), rng);
  const size_t minority = std::min(pos.size(), neg.size());
  // The share asked for, but at least min_per_class (small stores), and never more than half the minority.
  const size_t k = std::min<size_t>(
      std::max<size_t>(static_cast<size_t>(minority * options.holdout), options.min_per_class),
      options.max_per_class);
  if (2 * k > minority) {
    return absl::FailedPreconditionError(absl::StrCat(
        "too few rated reviews to train and judge a model: ", pos.size(), " positive and ", neg.size(),
        " negative (the gate holds out ", k, " of each, at most half of either class)"));
  }
  std::vector<RatedText> gate_sample, train;
  gate_sample.reserve(2 * k);
  train.reserve(pos.size() + neg.size() - 2 * k);
  for (size_t i = 0; i < pos.size(); ++i) (i < k ? gate_sample : train).push_back(*pos[i]);
  for (size_t i = 0; i < neg.size(); ++i) (i < k ? gate_sample : train).push_back(*neg[i]);

  TrainOptions topts = options.train;
  topts.lexicon_score = [&engine](const TokenizedText& t, uint32_t first, uint32_t end) {
    return engine.LexiconScore(t, first, end);
  };
  ASSIGN_OR_RETURN(TextModel model, TextModel::Train(train, topts, engine.tokenizer_options()));
  model.set_gate(JudgeModel(engine, model, gate_sample, options.min_gain));
  return model;
}

}  // namespace marketlens::analyzer
