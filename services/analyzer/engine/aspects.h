// Aspects: the product features a review talks about ("battery", "handle", "size", "sound").
//
// Two sources:
// - a per-category taxonomy in a config file (data/aspects.conf): `[Category]` sections (`[*]` applies to
//   every category) with lines `aspect = term, term, ...`; terms may have several words ("battery life");
//   a plural "s"/"es" on the last word also matches;
// - terms discovered from the data: nouns reviewers of a category keep judging ("the charging case is ...",
//   "my zipper broke") that the taxonomy lacks. AspectDiscoverer counts candidate phrases in the frames
//   "the/my/its/this/their <term> is/was/are/broke/..." by document frequency per category; terms seen in
//   enough reviews become aspects of their own (AspectTaxonomy::AddDiscovered), kept in
//   insights.aspect_terms.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECTS_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECTS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

struct AspectHit {
  std::string aspect;
  uint32_t first_token = 0;  // the term's tokens
  uint32_t end_token = 0;
  uint32_t sentence = 0;  // index into TokenizedText::sentences
  bool discovered = false;
};

struct DiscoveredTerm {
  std::string category;
  std::string term;  // also the aspect's name
  int documents = 0;
};

class AspectTaxonomy {
 public:
  static absl::StatusOr<AspectTaxonomy> Parse(absl::string_view conf);

  // Adds a term found in the data (ignored if the category's taxonomy already has it).
  void AddDiscovered(absl::string_view category, absl::string_view term);

  // The aspects mentioned in `text`, in order of appearance, for a product of `category` (case-insensitive;
  // an unknown or empty category uses every section). Overlapping terms: the longest wins.
  void Find(const TokenizedText& text, absl::string_view category, std::vector<AspectHit>* out) const;

  // Whether a term (lower-case, space-separated) is known for the category.
  bool Knows(absl::string_view category, absl::string_view term) const;
  // Aspect names configured for a category (its section and "*").
  std::vector<std::string> AspectsOf(absl::string_view category) const;
  // The terms that name `aspect` for a category (its section and "*"; every section when the category is
  // unknown or empty), e.g. "value" -> "price", "value", "money", "value for money", ...
  std::vector<std::string> TermsOf(absl::string_view category, absl::string_view aspect) const;
  std::vector<std::string> categories() const;

 private:
  struct Term {
    std::vector<std::string> words;
    std::string aspect;
    bool discovered = false;
  };
  // first word -> terms starting with it (longest first)
  using Index = absl::flat_hash_map<std::string, std::vector<Term>>;
  void AddTerm(const std::string& section, const std::string& aspect, absl::string_view term,
               bool discovered);
  const Index* SectionIndex(absl::string_view category) const;

  absl::flat_hash_map<std::string, Index> sections_;  // lower-cased category -> index; "*" universal
  absl::flat_hash_map<std::string, std::vector<std::string>> aspect_names_;
  absl::flat_hash_map<std::string, std::string> display_names_;  // lower -> as written
  Index all_;  // every section merged: for unknown categories
};

class AspectDiscoverer {
 public:
  // `is_excluded(term)`: terms never to propose (sentiment words, the taxonomy's own terms).
  explicit AspectDiscoverer(
      std::function<bool(absl::string_view category, absl::string_view term)> is_excluded)
      : is_excluded_(std::move(is_excluded)) {}
  void Add(absl::string_view category, const TokenizedText& text);
  // Terms in at least `min_documents` reviews of a category, at most `max_per_category` per category, most
  // frequent first.
  std::vector<DiscoveredTerm> Result(int min_documents, int max_per_category) const;

 private:
  std::function<bool(absl::string_view, absl::string_view)> is_excluded_;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int>> counts_;
};

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_ASPECTS_H_
