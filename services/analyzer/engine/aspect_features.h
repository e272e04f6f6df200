// The aspect tagger's words and features (aspect_tagger.h): its own tokenizer, because terms are judged by
// exact character offsets of the raw text (the engine's tokenizer repairs and normalises the text, which
// moves offsets), and the feature strings of the sequence tagger and the polarity classifier.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_FEATURES_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_FEATURES_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/analyzer/engine/aspects.h"
#include "services/analyzer/engine/lexicon.h"

namespace marketlens::analyzer {

// A word (run of letters/digits; any non-ASCII character that is not a space or typographic punctuation
// counts as a letter) or one punctuation character. Spaces (ASCII, U+00A0, U+2000-U+200B) separate tokens.
struct TagToken {
  uint32_t begin = 0, end = 0;  // bytes
  std::string lower;            // ASCII lower-cased
  std::string shape;            // "Xx", "x", "d", "Xd", ... (runs collapsed); punctuation as itself
  bool word = false;
};
void TokenizeForTagging(absl::string_view text, std::vector<TagToken>* out);

// Lower-cased words [first, end) joined by ' ': a dictionary key.
std::string PhraseKey(const std::vector<TagToken>& tokens, size_t first, size_t end);

// Terms seen in training: phrase key -> share of the phrase's occurrences that were annotated as a term.
struct TermDictionary {
  absl::flat_hash_map<std::string, float> rate;
  size_t max_words = 0;
  absl::flat_hash_set<std::string> first_words;  // of the phrases: a quick "no match here"
  // Builds it from tokenized sentences and their terms (token spans [first, end)).
  static TermDictionary Build(const std::vector<const std::vector<TagToken>*>& sentences,
                              const std::vector<const std::vector<std::pair<uint32_t, uint32_t>>*>& terms);
  void Recompute();  // max_words and first_words from `rate`
  // Greedy longest matches, left to right: per token 0 (none), 'B' or 'I', and the match's rate.
  void Match(const std::vector<TagToken>& tokens, std::vector<char>* tag, std::vector<float>* rate) const;
};

// Receives feature names as the concatenation of their parts: training keeps the strings (the model file
// names every feature), extraction only their 64-bit FNV-1a hashes (FeatureHash), so that it allocates
// nothing per feature.
class FeatureSink {
 public:
  virtual ~FeatureSink() = default;
  virtual void Add(std::initializer_list<absl::string_view> parts) = 0;
};
uint64_t FeatureHash(std::initializer_list<absl::string_view> parts);

// Feature strings (training).
class StringFeatures : public FeatureSink {
 public:
  explicit StringFeatures(std::vector<std::string>* out) : out_(out) {}
  void Add(std::initializer_list<absl::string_view> parts) override;

 private:
  std::vector<std::string>* out_;
};
// Feature hashes (extraction).
class HashedFeatures : public FeatureSink {
 public:
  explicit HashedFeatures(std::vector<uint64_t>* out) : out_(out) {}
  void Add(std::initializer_list<absl::string_view> parts) override { out_->push_back(FeatureHash(parts)); }

 private:
  std::vector<uint64_t>* out_;
};

class AspectFeaturizer {
 public:
  // The embedded VADER + domain lexicon and aspect taxonomy; `category` picks the taxonomy section.
  static absl::StatusOr<std::unique_ptr<AspectFeaturizer>> Create(absl::string_view category);

  // The sequence tagger's features of every token: sinks[i] receives token i's.
  void TokenFeatures(const std::vector<TagToken>& tokens, const TermDictionary& dictionary,
                     const std::vector<FeatureSink*>& sinks) const;
  // The polarity classifier's features of the term at tokens [first, end).
  void PolarityFeatures(const std::vector<TagToken>& tokens, size_t first, size_t end,
                        FeatureSink& out) const;

 private:
  AspectFeaturizer(Lexicon lexicon, absl::flat_hash_set<std::string> taxonomy_terms)
      : lexicon_(std::move(lexicon)), taxonomy_terms_(std::move(taxonomy_terms)) {}
  // Lexicon valence of token i with negation in the three words before it (flipped and damped).
  double Valence(const std::vector<TagToken>& tokens, size_t i) const;
  bool InTaxonomy(absl::string_view phrase) const;

  Lexicon lexicon_;
  absl::flat_hash_set<std::string> taxonomy_terms_;  // the category's (and "*"'s) terms, lower-case
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECT_FEATURES_H_
