// A sentiment lexicon: word (or two-word phrase, or emoticon) -> valence on VADER's -4..+4 scale.
//
// The default is VADER's lexicon as shipped in the npm package vader-sentiment 1.1.3 (see data/README.md),
// embedded in the binary; a file in the same "token<TAB>valence" format can replace or extend it (domain
// words, or a lexicon induced from rated reviews). Lookups take lower-cased absl::string_views, so scoring
// allocates nothing.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_LEXICON_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_LEXICON_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::analyzer {

class Lexicon {
 public:
  // Parses "token<TAB>valence[<TAB>anything]" lines; blank lines and lines starting with "# " are skipped.
  // A repeated token keeps its first valence. INVALID_ARGUMENT (with the line number) for a malformed line
  // or a valence outside -4..4.
  static absl::StatusOr<Lexicon> Parse(absl::string_view tsv);

  // Adds or replaces one entry (for domain words). Same validation as Parse.
  absl::Status Set(absl::string_view token, double valence);

  // Adds every entry of `other`, replacing existing ones.
  absl::Status Merge(const Lexicon& other);

  // 0 when unknown. `word` is lower-cased.
  double Valence(absl::string_view word) const {
    auto it = words_.find(word);
    return it == words_.end() ? 0.0 : it->second;
  }
  // Two-word entries ("can't stand", "fed up"); 0 when unknown.
  double PhraseValence(absl::string_view first, absl::string_view second) const;
  // Emoticons as written (case-sensitive: ":D" and ":d" differ); 0 when unknown.
  double EmoticonValence(absl::string_view emoticon) const {
    auto it = emoticons_.find(emoticon);
    return it == emoticons_.end() ? 0.0 : it->second;
  }
  // The emoticon strings, for the tokenizer.
  const absl::flat_hash_set<std::string>& emoticon_set() const { return emoticon_set_; }

  size_t size() const { return words_.size() + phrases_.size() + emoticons_.size(); }

 private:
  absl::flat_hash_map<std::string, double> words_;
  absl::flat_hash_map<std::string, double> phrases_;  // "first second"
  absl::flat_hash_set<std::string> phrase_firsts_;
  absl::flat_hash_map<std::string, double> emoticons_;
  absl::flat_hash_set<std::string> emoticon_set_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_LEXICON_H_
