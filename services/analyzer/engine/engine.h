// The local analysis engine: sentiment (lexicon rules combined with the rating-trained model), aspects with
// polarity, issue categories with their triggering sentence, and quality flags with theirs, for one review at
// a time.
// Pure C++ (no gRPC, no database): the service, the CLI, the benchmark and the tests all call this.
//
// Combination: the model sees the rules' lexicon score as one of its inputs (stacked) and gives a
// calibrated probability p; it overrides the rules only where it is confident, |2p - 1| >=
// EngineConfig::model_override_confidence (0.2), a bar that rises linearly towards 1 for texts shorter than
// model_full_trust_words (40): then the score is 2p - 1; elsewhere the rules' score stands. The same
// combination scores each aspect's clause and issue span. A model goes live only through the gate
// (model_gate.h): it must beat rules alone on a balanced held-out sample of its own data.
// Labels: positive >= +0.2, negative <= -0.2, neutral between (a fifth of the scale either way).
//
// Thread-safe: Analyze() may run on many threads while SetModel()/SetDiscoveredTerms() swap in new parts.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_ENGINE_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/analyzer/engine/aspects.h"
#include "services/analyzer/engine/issues.h"
#include "services/analyzer/engine/lexicon.h"
#include "services/analyzer/engine/rule_sentiment.h"
#include "services/analyzer/engine/text_model.h"

namespace marketlens::analyzer {

class AspectTagger;  // aspect_tagger.h

// Part of every stored analysis's model_version: a new value makes every stored analysis stale, so the
// pipeline's catch-up re-analyses everything (2: quality flags carry their triggering sentence).
inline constexpr char kEngineVersion[] = "local-2";
// Quoted sentences longer than this are cut (at a character boundary) and end in "...".
inline constexpr size_t kMaxQuoteBytes = 300;

struct AspectMention {
  std::string aspect;
  double polarity = 0;  // -1..1
  std::string quote;    // the sentence
  bool discovered = false;
};

struct IssueFlag {
  std::string category;
  std::string sentence;
};

// A concern about the review text itself, with the sentence that triggered it:
//   empty            nothing to analyse (sentence "")
//   too_short        fewer than four words (the whole text)
//   truncated        longer than max_bytes (the last sentence analysed, where the cut fell)
//   invalid_utf8     bytes that are not UTF-8 (the sentence holding the first repaired byte)
//   shouting         most words in capitals (the sentence with the most capitalised words)
//   contains_url     a link (the sentence holding the first link)
//   repetitive       under 30% distinct words (the sentence repeating the most earlier words)
//   rating_mismatch  the text's sentiment contradicts the star rating (the sentence that contradicts it
//                    most: the most negative one under a 4-5 star rating, the most positive under 1-2)
struct QualityFlag {
  std::string flag;
  std::string sentence;
};

struct Analysis {
  double sentiment = 0;  // -1..1
  std::string label = "neutral";
  double rule_score = 0;
  double model_score = 0;   // 2p - 1 of the model (0 without one)
  double model_weight = 0;  // 1 where the model overrode the rules, else 0
  std::vector<AspectMention> aspects;
  std::vector<IssueFlag> issues;
  std::vector<QualityFlag> quality_flags;  // in the order listed at QualityFlag

  bool HasFlag(absl::string_view flag) const;
  const QualityFlag* Flag(absl::string_view flag) const;  // nullptr when not raised
};

struct ReviewInput {
  absl::string_view title;
  absl::string_view text;
  absl::string_view category;  // picks the aspect taxonomy; may be empty
  int rating = 0;              // 1..5 when known (for "rating_mismatch"); 0: unknown
};

struct EngineConfig {
  std::string lexicon_tsv;         // empty: the embedded VADER lexicon
  std::string domain_lexicon_tsv;  // empty: the embedded data/domain_lexicon.tsv; applied on top (wins)
  std::string aspects_conf;        // empty: the embedded data/aspects.conf
  std::string issues_conf;         // empty: the embedded data/issues.conf
  size_t max_bytes = 32 * 1024;    // longer text is cut (and flagged "truncated")
  double label_threshold = 0.2;
  // The model's confidence |2p - 1| from which it overrides the rules (see the top of this file).
  double model_override_confidence = 0.2;
  // Texts shorter than this many words need more confidence (rising linearly to 1 at zero words): the model
  // learned from whole reviews, and on a sentence its few features say less than the lexicon does.
  int model_full_trust_words = 40;
};

const char* LabelFor(double score, double threshold);

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineConfig& config = {});

  Analysis Analyze(const ReviewInput& input) const;
  // The same with the given model instead of the live one (nullptr: rules alone). The gate judges a new
  // model with this before it goes live.
  Analysis AnalyzeWithModel(const ReviewInput& input, const TextModel* model) const;
  // The lexicon rules' score of tokens [first, end) of a tokenised text (the model's lexicon feature; give
  // it to TrainOptions::lexicon_score).
  double LexiconScore(const TokenizedText& text, uint32_t first, uint32_t end) const;
  // How a rules score and a model's probability combine (see the top of this file).
  double Combine(double rule_score, double model_probability, int words) const;

  // Swaps the weak-label model (nullptr: rules only).
  void SetModel(std::shared_ptr<const TextModel> model);
  std::shared_ptr<const TextModel> model() const;
  // Adds discovered aspect terms (on a copy of the taxonomy, swapped in atomically).
  void SetDiscoveredTerms(const std::vector<DiscoveredTerm>& terms);
  std::shared_ptr<const AspectTaxonomy> taxonomy() const;
  // Open-vocabulary aspect terms (aspect_tagger.h, tagged_aspects.h): with a tagger, a review's aspects are
  // the tagger's terms grouped by the taxonomy aspect they name, or by the term itself; nullptr (the
  // default): the taxonomy's terms only.
  void SetAspectTagger(std::shared_ptr<const AspectTagger> tagger);

  // "local-2+tflr-<hash>" or "local-2+rules" (then "+at-<hash>" with an aspect tagger): stored with every
  // analysis.
  std::string version() const;

  const Lexicon& lexicon() const { return lexicon_; }
  const IssueRules& issue_rules() const { return issues_; }
  TokenizerOptions tokenizer_options() const;

 private:
  Engine(Lexicon lexicon, AspectTaxonomy taxonomy, IssueRules issues, const EngineConfig& config);

  Lexicon lexicon_;
  IssueRules issues_;
  EngineConfig config_;
  RuleScorer rules_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TextModel> model_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const AspectTaxonomy> taxonomy_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const AspectTagger> aspect_tagger_ ABSL_GUARDED_BY(mu_);
};

// The embedded default data files ("vader_lexicon.tsv", "aspects.conf", "issues.conf", prompt templates);
// empty when unknown.
absl::string_view EmbeddedData(absl::string_view name);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ENGINE_H_
