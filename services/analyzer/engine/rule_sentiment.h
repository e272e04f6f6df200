// Rule-based sentiment in the manner of VADER (Hutto & Gilbert, 2014), written for review text:
//   - each word's lexicon valence, emoticons and emoji;
//   - intensifiers ("very", "extremely") and diminishers ("slightly", "kind of") in the three words before
//   it,
//     with decaying effect; a word in CAPITALS among lower-case text is emphasised;
//   - negation ("not", "never", "don't", "dont", "without", "can't") in the three words before it flips and
//     damps the valence ("not great" is mildly negative, "no complaints" mildly positive);
//   - contrast: in "A but B" (also "however", "although A, B") the part after the contrast weighs 1.5x and
//     the part before 0.5x, also across sentences ("... . But B");
//   - "!" adds emphasis (up to four).
// Valences are computed once per token; sentences, clauses (for aspect polarity) and the whole text are sums
// over token ranges, squashed to [-1, 1] by x / sqrt(x^2 + 15).
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_RULE_SENTIMENT_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_RULE_SENTIMENT_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "services/analyzer/engine/lexicon.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

// x / sqrt(x^2 + alpha): VADER's normalisation of a valence sum to (-1, 1).
double Squash(double x, double alpha = 15.0);

// Intensifier (> 0) or diminisher (< 0) strength of a lower-cased word; 0 for other words.
double BoosterStrength(absl::string_view word);

struct RuleScores {
  // Per token: its valence after boosters, emphasis and negation, before contrast weights (0 for tokens
  // without sentiment). Same length as TokenizedText::tokens.
  std::vector<double> token_valence;
  // Per token: the contrast weight (0.5 before "but", 1.5 after, else 1).
  std::vector<double> token_weight;
  // Per sentence: the weighted sum including "!" emphasis.
  std::vector<double> sentence_sum;
  double compound = 0;       // the whole text, in [-1, 1]
  int sentiment_tokens = 0;  // tokens that carried a valence
};

class RuleScorer {
 public:
  explicit RuleScorer(const Lexicon* lexicon) : lexicon_(lexicon) {}
  void Score(const TokenizedText& text, RuleScores* out) const;
  // The squashed sum over tokens [first, end) (no contrast weights): a clause's own polarity.
  static double SpanScore(const RuleScores& scores, uint32_t first, uint32_t end);

 private:
  double RawValence(const TokenizedText& text, size_t i, bool* skip_next) const;
  const Lexicon* lexicon_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_RULE_SENTIMENT_H_
