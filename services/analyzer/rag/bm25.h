// BM25 (Okapi; k1 = 1.2, b = 0.75) over short documents: a customer's contacts and reviews, or a product's
// reviews. Small per-request indexes built from rows just read, so retrieval needs no extra service; terms
// are the tokenizer's lower-cased words minus stopwords, with a light plural folding.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_BM25_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_BM25_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace marketlens::analyzer::rag {

struct Document {
  std::string id;      // the row's id (cited)
  std::string source;  // "contact", "review", "interaction", ...
  std::string text;
};

struct Hit {
  size_t doc = 0;  // index into the documents
  double score = 0;
};

// Lower-cased content words of `text`.
std::vector<std::string> Terms(absl::string_view text);

class Bm25Index {
 public:
  explicit Bm25Index(std::vector<Document> docs, double k1 = 1.2, double b = 0.75);
  // The best `k` documents for `query` with a score > 0, best first (ties: earlier document first).
  std::vector<Hit> Search(absl::string_view query, size_t k) const;
  const std::vector<Document>& docs() const { return docs_; }

 private:
  std::vector<Document> docs_;
  std::vector<absl::flat_hash_map<std::string, int>> tf_;
  std::vector<int> length_;
  absl::flat_hash_map<std::string, int> df_;
  double avg_length_ = 0;
  double k1_, b_;
};

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_BM25_H_
