#include "services/analyzer/engine/tagged_aspects.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace marketlens::analyzer {
namespace {

// The sentence holding byte `at`, cut like the engine's quotes (kMaxQuoteBytes, at a character boundary).
std::string SentenceQuote(const TokenizedText& text, uint32_t at) {
  absl::string_view s;
  for (const Sentence& sentence : text.sentences) {
    if (sentence.begin <= at && at < sentence.end) {
      s = text.SentenceText(sentence);
      break;
    }
  }
  s = absl::StripAsciiWhitespace(s);
  if (s.size() <= kMaxQuoteBytes) return std::string(s);
  size_t cut = kMaxQuoteBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(s.substr(0, cut), "...");
}

}  // namespace

std::string AspectForTerm(const AspectTaxonomy& taxonomy, absl::string_view category, absl::string_view term,
                          bool* discovered) {
  thread_local TokenizedText tt;
  thread_local std::vector<AspectHit> hits;
  Tokenize(term, {}, &tt);
  hits.clear();
  taxonomy.Find(tt, category, &hits);
  if (!hits.empty()) {
    *discovered = hits.back().discovered;
    return hits.back().aspect;
  }
  std::string words;
  for (const Token& t : tt.tokens) {
    if (t.kind == TokenKind::kWord) absl::StrAppend(&words, words.empty() ? "" : " ", t.lower);
  }
  *discovered = true;
  return words;
}

void AddTaggedAspects(const AspectTagger& tagger, const AspectTaxonomy& taxonomy, absl::string_view category,
                      const TokenizedText& text, std::vector<AspectMention>* out) {
  absl::flat_hash_map<std::string, size_t> by_aspect;
  std::vector<int> counts;
  const size_t first = out->size();
  for (const ExtractedTerm& term : tagger.Extract(text.text)) {
    bool discovered = false;
    std::string aspect = AspectForTerm(taxonomy, category, term.term, &discovered);
    if (aspect.empty()) continue;
    auto [it, inserted] = by_aspect.emplace(aspect, out->size());
    if (inserted) {
      AspectMention m;
      m.aspect = std::move(aspect);
      m.polarity = term.polarity_score;
      m.quote = SentenceQuote(text, term.begin);
      m.discovered = discovered;
      out->push_back(std::move(m));
      counts.push_back(1);
    } else {
      AspectMention& m = (*out)[it->second];
      int& n = counts[it->second - first];
      m.polarity = (m.polarity * n + term.polarity_score) / (n + 1);
      ++n;
    }
  }
}

}  // namespace marketlens::analyzer
