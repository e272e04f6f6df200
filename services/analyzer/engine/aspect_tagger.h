// Open-vocabulary aspect terms: the spans of a review that name what it judges ("battery life", "Windows 8",
// "usb ports", "the keyboard"), with the polarity of the judgement, learned from annotated sentences
// (SemEval-2014 task 4 XML, semeval_xml.h).
//
// Two models, trained together and kept in one text file:
// - a sequence tagger over BIO tags (B: first word of a term, I: inside, O: outside): a first-order linear
//   chain trained as an averaged structured perceptron (Collins 2002) and decoded with Viterbi under the BIO
//   constraint (no I after O). Why a perceptron and not a CRF trained with L-BFGS: on this task a perceptron
//   with averaging reaches the accuracy of a CRF with the same features (both are linear chains over the same
//   feature sets), trains in about a second, needs no extra library, and is deterministic. Features per word
//   (aspect_features.cc): lower-cased word, shape, prefixes/suffixes, the two words either side and the
//   bigrams with them, sentiment-lexicon hits around it, taxonomy hits (data/aspects.conf) and hits of the
//   dictionary of terms seen in training with how often that phrase was a term; in training, each sentence
//   only sees a dictionary built from the other folds (5), so the model does not learn to trust a dictionary
//   that contains the answer.
// - a polarity classifier per term: multinomial logistic regression (SGD) over the words around the term by
//   side and distance, the lexicon's valence of the term's clause and sentence (with negation) and the term
//   itself; classes positive, negative, neutral (terms annotated "conflict" are not trained on).
//
// Thread-safe after construction (Extract is const and allocates its own scratch).
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_TAGGER_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_TAGGER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/analyzer/engine/aspect_features.h"
#include "services/analyzer/engine/semeval_xml.h"

namespace marketlens::analyzer {

// A term found in a text.
struct ExtractedTerm {
  std::string term;             // the text's own bytes
  uint32_t begin = 0, end = 0;  // bytes into the text
  uint32_t from = 0, to = 0;    // Unicode characters into the text (as SemEval counts)
  std::string polarity;         // positive | negative | neutral
  double polarity_score = 0;    // P(positive) - P(negative), in [-1, 1]
};

struct AspectTrainOptions {
  int tagger_epochs = 12;
  int polarity_epochs = 15;
  double polarity_learning_rate = 0.2;
  int dictionary_folds = 5;
  uint64_t seed = 14;
  // The taxonomy section whose terms are features ("Electronics" for laptops); empty: every section.
  std::string category = "Electronics";
  const std::atomic<bool>* cancel = nullptr;  // checked every sentence; CANCELLED when set
};

struct AspectTrainReport {
  int sentences = 0;
  int terms = 0;
  int misaligned_terms = 0;  // terms whose edges fall inside a word of the tokenizer (trained as the words)
  int features = 0;
};

class AspectTagger {
 public:
  AspectTagger(AspectTagger&&) noexcept;
  AspectTagger& operator=(AspectTagger&&) noexcept;
  ~AspectTagger();

  static absl::StatusOr<AspectTagger> Train(const std::vector<AnnotatedSentence>& sentences,
                                            const AspectTrainOptions& options = {},
                                            AspectTrainReport* report = nullptr);
  // INVALID_ARGUMENT for a file that is not a model written by Serialize (naming the line).
  static absl::StatusOr<AspectTagger> Load(absl::string_view contents);
  std::string Serialize() const;

  // The terms of `text` (UTF-8; invalid bytes are treated as letters), in order.
  std::vector<ExtractedTerm> Extract(absl::string_view text) const;
  // Polarity of a given span [begin, end) (bytes) of `text`: for scoring polarity on gold terms.
  ExtractedTerm Classify(absl::string_view text, uint32_t begin, uint32_t end) const;

  // "at-<hash of the weights>": names the model in analyses.
  const std::string& version() const { return version_; }
  const std::string& category() const { return category_; }

 private:
  AspectTagger();
  void FinishLoad();
  ExtractedTerm ClassifySpan(absl::string_view text, const std::vector<TagToken>& tokens,
                             const std::vector<uint32_t>& chars, uint32_t begin, uint32_t end) const;

  std::string category_;
  std::string version_;
  std::unique_ptr<AspectFeaturizer> featurizer_;
  // Tagger: feature -> weights for O, B, I; transitions [previous (O, B, I, start)][current].
  absl::flat_hash_map<std::string, std::array<float, 3>> tag_weights_;
  std::array<std::array<float, 3>, 4> transitions_{};
  // Polarity: feature -> weights for positive, negative, neutral.
  absl::flat_hash_map<std::string, std::array<float, 3>> polarity_weights_;
  // The same weights by FeatureHash of the name, for extraction.
  absl::flat_hash_map<uint64_t, std::array<float, 3>> tag_index_, polarity_index_;
  // Dictionary of training terms (phrase -> share of its occurrences in training text annotated as a term).
  TermDictionary dictionary_;
};

// Reads and loads a model file written by Serialize (the service's --aspect_model, the CLI's --model).
absl::StatusOr<std::shared_ptr<const AspectTagger>> LoadAspectTaggerFile(const std::string& path);

// Exact-match scores of predicted against gold spans (character offsets), over sentences in the same order.
struct TermScores {
  int64_t gold = 0, predicted = 0, correct = 0;
  int64_t polarity_total = 0, polarity_correct = 0;  // polarity of correctly found terms
  double precision() const { return predicted ? static_cast<double>(correct) / predicted : 0; }
  double recall() const { return gold ? static_cast<double>(correct) / gold : 0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
  void Add(const std::vector<AnnotatedTerm>& gold_terms, const std::vector<ExtractedTerm>& predicted_terms);
};

// The official SemEval-2014 baseline's idea: every phrase annotated as a term in training is tagged wherever
// it occurs (case-insensitive, whole words, longest first).
class TermDictionaryBaseline {
 public:
  explicit TermDictionaryBaseline(const std::vector<AnnotatedSentence>& training);
  std::vector<ExtractedTerm> Extract(absl::string_view text) const;

 private:
  absl::flat_hash_map<std::string, std::string> majority_polarity_;  // lower-cased term -> polarity
  size_t max_words_ = 1;
};

// A fixed, content-based split for held-out figures: a sentence is held out when a hash of its text falls in
// `fold` of `folds` (duplicate texts stay on one side).
bool InHeldOutFold(absl::string_view text, int fold, int folds);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_TAGGER_H_
