#include "services/analyzer/engine/rule_sentiment.h"

#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace marketlens::analyzer {
namespace {

constexpr double kBoost = 0.293;  // VADER's B_INCR
constexpr double kCapsEmphasis = 0.733;
constexpr double kNegationScalar = -0.74;
constexpr double kExclamation = 0.292;

double EmojiValence(uint32_t cp) {
  switch (cp) {
    case 0x1F600:
    case 0x1F603:
    case 0x1F604:
    case 0x1F601:
    case 0x1F60A:
    case 0x1F642:
    case 0x1F60D:
    case 0x1F970:
    case 0x1F618:
    case 0x1F44D:
    case 0x1F44C:
    case 0x1F4AF:
    case 0x2764:
    case 0x1F495:
    case 0x1F389:
    case 0x2B50:
    case 0x1F31F:
    case 0x1F929:
    case 0x1F60E:
    case 0x1F64C:
    case 0x1F44F:
    case 0x1F496:
    case 0x1F497:
    case 0x1F499:
    case 0x1F49A:
    case 0x1F49C:
    case 0x2705:
    case 0x1F973:
      return 2.0;
    case 0x1F61E:
    case 0x1F620:
    case 0x1F621:
    case 0x1F92C:
    case 0x1F44E:
    case 0x1F4A9:
    case 0x1F622:
    case 0x1F62D:
    case 0x1F624:
    case 0x1F644:
    case 0x1F612:
    case 0x1F615:
    case 0x1F629:
    case 0x1F62B:
    case 0x1F92E:
    case 0x1F922:
    case 0x1F494:
    case 0x274C:
    case 0x1F61F:
    case 0x1F623:
    case 0x1F616:
      return -2.0;
    default:
      return 0;
  }
}

bool IsContrast(absl::string_view w) {
  return w == "but" || w == "however" || w == "although" || w == "though";
}

// Words the general lexicon scores that are mostly function words in reviews.
bool IgnoreInContext(const TokenizedText& t, size_t i) {
  const absl::string_view w = t.tokens[i].lower;
  auto prev = [&](size_t k) -> absl::string_view {
    return i >= k && t.tokens[i - k].kind == TokenKind::kWord ? t.tokens[i - k].lower : absl::string_view();
  };
  auto next = [&]() -> absl::string_view {
    return i + 1 < t.tokens.size() && t.tokens[i + 1].kind == TokenKind::kWord ? t.tokens[i + 1].lower
                                                                               : absl::string_view();
  };
  if (w == "like" || w == "likes") {
    // "looks like", "feels like", "like a", "just like": a preposition. "I like it", "really like": a verb.
    static const auto* kVerbal = new absl::flat_hash_map<std::string, int>{
        {"i", 1},          {"we", 1},   {"they", 1}, {"you", 1},   {"really", 1},
        {"would", 1},      {"do", 1},   {"does", 1}, {"did", 1},   {"totally", 1},
        {"definitely", 1}, {"kids", 1}, {"also", 1}, {"still", 1}, {"truly", 1}};
    return w == "like" && !kVerbal->contains(prev(1));
  }
  if (w == "kind" || w == "sort") return next() == "of";
  if (w == "pretty") return true;  // "pretty good": a booster, handled there
  if (w == "well") return prev(1) == "as";
  if (w == "no" || w == "not") return true;  // negators carry no valence of their own here
  if (w == "joke" && prev(1) == "no") return true;
  if (w == "okay" || w == "ok" || w == "fine") return false;
  return false;
}

}  // namespace

double Squash(double x, double alpha) { return x / std::sqrt(x * x + alpha); }

double BoosterStrength(absl::string_view w) {
  static const auto* kBoosters = new absl::flat_hash_map<std::string, double>{{"absolutely", kBoost},
                                                                              {"amazingly", kBoost},
                                                                              {"awfully", kBoost},
                                                                              {"completely", kBoost},
                                                                              {"considerably", kBoost},
                                                                              {"decidedly", kBoost},
                                                                              {"deeply", kBoost},
                                                                              {"enormously", kBoost},
                                                                              {"entirely", kBoost},
                                                                              {"especially", kBoost},
                                                                              {"exceptionally", kBoost},
                                                                              {"extremely", kBoost},
                                                                              {"fabulously", kBoost},
                                                                              {"greatly", kBoost},
                                                                              {"hella", kBoost},
                                                                              {"highly", kBoost},
                                                                              {"hugely", kBoost},
                                                                              {"incredibly", kBoost},
                                                                              {"insanely", kBoost},
                                                                              {"intensely", kBoost},
                                                                              {"majorly", kBoost},
                                                                              {"more", kBoost},
                                                                              {"most", kBoost},
                                                                              {"particularly", kBoost},
                                                                              {"purely", kBoost},
                                                                              {"quite", kBoost * 0.5},
                                                                              {"really", kBoost},
                                                                              {"remarkably", kBoost},
                                                                              {"so", kBoost},
                                                                              {"substantially", kBoost},
                                                                              {"super", kBoost},
                                                                              {"thoroughly", kBoost},
                                                                              {"totally", kBoost},
                                                                              {"tremendously", kBoost},
                                                                              {"truly", kBoost},
                                                                              {"unbelievably", kBoost},
                                                                              {"utterly", kBoost},
                                                                              {"very", kBoost},
                                                                              {"way", kBoost},
                                                                              {"too", kBoost * 0.5},
                                                                              {"ridiculously", kBoost},
                                                                              {"seriously", kBoost},
                                                                              {"pretty", kBoost * 0.5},
                                                                              {"damn", kBoost},
                                                                              {"almost", -kBoost},
                                                                              {"barely", -kBoost},
                                                                              {"hardly", -kBoost},
                                                                              {"kinda", -kBoost},
                                                                              {"kindof", -kBoost},
                                                                              {"less", -kBoost},
                                                                              {"little", -kBoost},
                                                                              {"marginally", -kBoost},
                                                                              {"occasionally", -kBoost},
                                                                              {"partly", -kBoost},
                                                                              {"scarcely", -kBoost},
                                                                              {"slightly", -kBoost},
                                                                              {"somewhat", -kBoost},
                                                                              {"sorta", -kBoost},
                                                                              {"fairly", -kBoost * 0.5},
                                                                              {"mostly", -kBoost * 0.5},
                                                                              {"reasonably", -kBoost * 0.5}};
  auto it = kBoosters->find(w);
  return it == kBoosters->end() ? 0 : it->second;
}

double RuleScorer::RawValence(const TokenizedText& t, size_t i, bool* skip_next) const {
  const Token& tok = t.tokens[i];
  *skip_next = false;
  switch (tok.kind) {
    case TokenKind::kPunct:
      return 0;
    case TokenKind::kEmoticon:
      return lexicon_->EmoticonValence(t.Span(tok.begin, tok.end));
    case TokenKind::kEmoji:
      return EmojiValence(tok.codepoint);
    case TokenKind::kWord:
      break;
  }
  if (i + 1 < t.tokens.size() && t.tokens[i + 1].kind == TokenKind::kWord) {
    const double phrase = lexicon_->PhraseValence(tok.lower, t.tokens[i + 1].lower);
    if (phrase != 0) {
      *skip_next = true;
      return phrase;
    }
  }
  if (BoosterStrength(tok.lower) != 0 && tok.lower != "pretty") return 0;
  if (IgnoreInContext(t, i)) return 0;
  return lexicon_->Valence(tok.lower);
}

void RuleScorer::Score(const TokenizedText& t, RuleScores* out) const {
  const size_t n = t.tokens.size();
  out->token_valence.assign(n, 0.0);
  out->token_weight.assign(n, 1.0);
  out->sentence_sum.assign(t.sentences.size(), 0.0);
  out->sentiment_tokens = 0;
  // Capitals are emphasis only when the writer does not shout everything.
  const bool shouting = t.words > 0 && t.caps_words * 2 > t.words;

  for (const Sentence& s : t.sentences) {
    bool skip = false;
    for (size_t i = s.first_token; i < s.end_token; ++i) {
      if (skip) {
        skip = false;
        continue;
      }
      double v = RawValence(t, i, &skip);
      if (v == 0) continue;
      const double sign = v > 0 ? 1.0 : -1.0;
      if (t.tokens[i].all_caps && !shouting) v += sign * kCapsEmphasis;
      // Up to three words back within the clause: boosters and negation.
      bool negated = false;
      int back = 0;
      for (size_t j = i; j > s.first_token && back < 3;) {
        --j;
        const Token& p = t.tokens[j];
        if (p.kind == TokenKind::kPunct || IsContrast(p.lower)) break;
        if (p.kind != TokenKind::kWord) continue;
        ++back;
        const double b = BoosterStrength(p.lower);
        if (b != 0) {
          double scaled = b * (back == 1 ? 1.0 : back == 2 ? 0.95 : 0.9);
          if (p.all_caps && !shouting) scaled += scaled > 0 ? kCapsEmphasis : -kCapsEmphasis;
          v += sign * scaled;
        }
        if (IsNegator(p.lower)) negated = true;
        if (p.lower == "least" && !(j > s.first_token && t.tokens[j - 1].lower == "at")) negated = true;
      }
      // "never so good", "not only": not negations.
      if (negated && i > s.first_token) {
        const absl::string_view prev = t.tokens[i - 1].lower;
        if (prev == "only") negated = false;
      }
      if (negated) v *= kNegationScalar;
      out->token_valence[i] = v;
      ++out->sentiment_tokens;
    }
  }

  // Contrast weights and sentence sums.
  for (size_t si = 0; si < t.sentences.size(); ++si) {
    const Sentence& s = t.sentences[si];
    if (s.first_token >= s.end_token) continue;
    const absl::string_view first = t.tokens[s.first_token].lower;
    if ((first == "but" || first == "however") && si > 0) {
      // "... . But B": the previous sentence weighs less, this one more.
      const Sentence& p = t.sentences[si - 1];
      for (size_t k = p.first_token; k < p.end_token; ++k) out->token_weight[k] *= 0.5;
      out->sentence_sum[si - 1] *= 0.5;
    }
    if (first == "although" || first == "though" ||
        (first == "even" && s.first_token + 1 < s.end_token &&
         t.tokens[s.first_token + 1].lower == "though")) {
      // "Although A, B": A weighs less, B more.
      size_t k = s.first_token;
      while (k < s.end_token && t.tokens[k].kind != TokenKind::kPunct) out->token_weight[k++] = 0.5;
      while (k < s.end_token) out->token_weight[k++] = 1.5;
    } else {
      for (size_t k = s.first_token + 1; k < s.end_token; ++k) {
        const absl::string_view w = t.tokens[k].lower;
        if (t.tokens[k].kind == TokenKind::kWord && (w == "but" || w == "however")) {
          for (size_t a = s.first_token; a < k; ++a) out->token_weight[a] *= 0.5;
          for (size_t b = k + 1; b < s.end_token; ++b) out->token_weight[b] *= 1.5;
          break;
        }
      }
    }
    if (first == "but" || first == "however") {
      for (size_t k = s.first_token; k < s.end_token; ++k) out->token_weight[k] *= 1.5;
    }
    double sum = 0;
    for (size_t k = s.first_token; k < s.end_token; ++k) sum += out->token_valence[k] * out->token_weight[k];
    if (sum != 0 && s.exclamations > 0) {
      sum += (sum > 0 ? 1 : -1) * std::min<int>(s.exclamations, 4) * kExclamation;
    }
    out->sentence_sum[si] = sum;
  }
  double total = 0;
  for (double s : out->sentence_sum) total += s;
  out->compound = Squash(total);
}

double RuleScorer::SpanScore(const RuleScores& scores, uint32_t first, uint32_t end) {
  double sum = 0;
  for (uint32_t k = first; k < end && k < scores.token_valence.size(); ++k) sum += scores.token_valence[k];
  return Squash(sum);
}

}  // namespace marketlens::analyzer
