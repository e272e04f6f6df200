// The local analysis engine: sentiment (lexicon rules combined with the rating-trained model), aspects with
// polarity, issue categories with their triggering sentence, and quality flags, for one review at a time.
// Pure C++ (no gRPC, no database): the service, the CLI, the benchmark and the tests all call this.
//
// Combination: score = (1 - w) * rules + w * model, where the model's weight w grows with the number of
// rated reviews it was trained on (w = 0.6 * n / (n + 2000); 0 without a model) and is larger (0.9 instead
// of 0.6) for text in which the lexicon found nothing. The same combination scores each aspect's clause.
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

inline constexpr char kEngineVersion[] = "local-1";

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

struct Analysis {
  double sentiment = 0;  // -1..1
  std::string label = "neutral";
  double rule_score = 0;
  double model_score = 0;
  double model_weight = 0;
  std::vector<AspectMention> aspects;
  std::vector<IssueFlag> issues;
  // "empty", "too_short", "truncated", "invalid_utf8", "shouting", "contains_url", "repetitive",
  // "rating_mismatch"
  std::vector<std::string> quality_flags;
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
};

const char* LabelFor(double score, double threshold);

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const EngineConfig& config = {});

  Analysis Analyze(const ReviewInput& input) const;

  // Swaps the weak-label model (nullptr: rules only).
  void SetModel(std::shared_ptr<const TextModel> model);
  std::shared_ptr<const TextModel> model() const;
  // Adds discovered aspect terms (on a copy of the taxonomy, swapped in atomically).
  void SetDiscoveredTerms(const std::vector<DiscoveredTerm>& terms);
  std::shared_ptr<const AspectTaxonomy> taxonomy() const;

  // "local-1+nblr-<hash>" or "local-1+rules": stored with every analysis.
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
};

// The embedded default data files ("vader_lexicon.tsv", "aspects.conf", "issues.conf", prompt templates);
// empty when unknown.
absl::string_view EmbeddedData(absl::string_view name);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ENGINE_H_
