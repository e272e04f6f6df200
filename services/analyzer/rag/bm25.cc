#include "services/analyzer/rag/bm25.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer::rag {
namespace {

const absl::flat_hash_set<std::string>& Stopwords() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "a",    "an",    "the",  "and",  "or",    "but",      "if",    "of",    "to",    "in",    "on",
      "at",   "for",   "with", "by",   "from",  "as",       "is",    "was",   "are",   "were",  "be",
      "been", "it",    "its",  "it's", "this",  "that",     "these", "those", "i",     "me",    "my",
      "we",   "our",   "you",  "your", "he",    "she",      "they",  "them",  "their", "his",   "her",
      "so",   "very",  "just", "re",   "cust",  "customer", "about", "after", "had",   "has",   "have",
      "do",   "did",   "does", "not",  "no",    "up",       "out",   "than",  "then",  "there", "what",
      "when", "which", "who",  "will", "would", "can",      "could", "also"};
  return *s;
}

std::string Fold(absl::string_view w) {
  if (w.size() > 4 && w.back() == 's' && w[w.size() - 2] != 's') w.remove_suffix(1);
  return std::string(w);
}

}  // namespace

std::vector<std::string> Terms(absl::string_view text) {
  TokenizedText t;
  TokenizerOptions o;
  o.max_bytes = 16 * 1024;
  Tokenize(text, o, &t);
  std::vector<std::string> out;
  for (const Token& tok : t.tokens) {
    if (tok.kind != TokenKind::kWord || tok.lower.size() < 2 || Stopwords().contains(tok.lower)) continue;
    out.push_back(Fold(tok.lower));
  }
  return out;
}

Bm25Index::Bm25Index(std::vector<Document> docs, double k1, double b)
    : docs_(std::move(docs)), k1_(k1), b_(b) {
  double total = 0;
  for (const Document& d : docs_) {
    absl::flat_hash_map<std::string, int> tf;
    const std::vector<std::string> terms = Terms(d.text);
    for (const auto& t : terms) ++tf[t];
    for (const auto& [t, n] : tf) ++df_[t];
    length_.push_back(static_cast<int>(terms.size()));
    total += terms.size();
    tf_.push_back(std::move(tf));
  }
  avg_length_ = docs_.empty() ? 0 : total / docs_.size();
}

std::vector<Hit> Bm25Index::Search(absl::string_view query, size_t k) const {
  std::vector<std::string> q = Terms(query);
  std::sort(q.begin(), q.end());
  q.erase(std::unique(q.begin(), q.end()), q.end());
  const double n = static_cast<double>(docs_.size());
  std::vector<Hit> hits;
  for (size_t i = 0; i < docs_.size(); ++i) {
    double score = 0;
    for (const auto& term : q) {
      auto tf = tf_[i].find(term);
      if (tf == tf_[i].end()) continue;
      const double df = df_.at(term);
      const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
      const double f = tf->second;
      score += idf * f * (k1_ + 1) / (f + k1_ * (1 - b_ + b_ * length_[i] / std::max(avg_length_, 1e-9)));
    }
    if (score > 0) hits.push_back({i, score});
  }
  std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.score > b.score; });
  if (hits.size() > k) hits.resize(k);
  return hits;
}

}  // namespace marketlens::analyzer::rag
