// The analyzer's retrieval index: one process-wide BM25 (Okapi; k1 = 1.2, b = 0.75) inverted index over
// the reviews and customer-service contacts ("interactions" with text) we hold, searched per product or
// per customer. Document frequencies and the average length are the whole corpus's, so a word every
// reviewer uses ("great", "product") weighs little and a product's or customer's distinctive words weigh
// much, which a per-request index over one customer's twenty rows cannot know.
//
// Bounded memory: at most `max_docs` documents (the newest by their own date: a full index evicts its
// oldest document for a newer one and refuses older ones). Only what scoring needs is kept: per document its
// id, product and customer (interned), rating, date, version and its terms with their counts; per term its
// postings (document, count). Texts are not kept: callers read the few rows they quote from Postgres by id.
// About 0.6 KB per review-sized document, so the default 200k documents stay near 120 MB.
//
// Terms are rag::Terms() (bm25.h): lower-cased words minus stopwords, light plural folding.
//
// Scoped search (one product's reviews, one customer's rows) walks, for each query term, either its
// postings or the scope's documents, whichever is shorter; both give the same scores. Removed documents are
// tombstoned and purged from the postings in one pass once they are an eighth of the index.
//
// Thread-safe: searches share a reader lock; writers tokenise outside the lock and hold it per batch.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_INDEX_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_INDEX_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace marketlens::analyzer::rag {

enum class Source : uint8_t { kReview = 0, kContact = 1 };
const char* SourceName(Source source);  // "review", "contact" (the citation sources)

struct CorpusDoc {
  Source source = Source::kReview;
  std::string id;
  std::string product_id;   // reviews: the product; contacts: the product it was about ("" when none)
  std::string customer_id;  // "" when unknown
  int rating = 0;           // reviews 1..5; contacts 0
  int version = 1;          // a document is only replaced by a higher version
  int64_t micros = 0;       // written / started at (the oldest are evicted first)
  std::string text;         // indexed, not kept
};

struct CorpusFilter {
  std::optional<Source> source;  // any when unset
  std::string product_id;        // any when empty
  std::string customer_id;       // any when empty
  int min_rating = 0;            // reviews rated at least this (contacts have 0)
};

struct CorpusHit {
  Source source = Source::kReview;
  std::string id;
  int rating = 0;
  int64_t micros = 0;
  double score = 0;
};

struct CorpusIndexOptions {
  size_t max_docs = 200000;
  double k1 = 1.2;
  double b = 0.75;
};

struct CorpusStats {
  size_t documents = 0, reviews = 0, contacts = 0;
  size_t terms = 0;     // distinct terms in live documents
  size_t postings = 0;  // (term, document) pairs, tombstones included
  size_t evicted = 0;   // documents dropped to stay within max_docs
  size_t refused = 0;   // documents older than everything in a full index
  size_t approx_bytes = 0;
};

class CorpusIndex {
 public:
  explicit CorpusIndex(CorpusIndexOptions options = {});

  // Adds or replaces one document; false (and nothing changes) when the same or a newer version is indexed,
  // or when the index is full and the document is older than all it holds.
  bool Upsert(const CorpusDoc& doc);
  // The same for many (one lock for the batch); returns how many changed the index.
  size_t UpsertBatch(const std::vector<CorpusDoc>& docs);
  bool Remove(Source source, const std::string& id);
  // Removes every document of one customer (privacy erasure); how many.
  size_t RemoveCustomer(const std::string& customer_id);
  // The documents of one customer: (source, id), for a privacy export.
  std::vector<std::pair<Source, std::string>> CustomerDocs(const std::string& customer_id) const;

  // The indexed version of a document, 0 when absent.
  int IndexedVersion(Source source, const std::string& id) const;
  // Whether a document written at `micros` would be kept (false when the index is full of newer ones).
  bool WouldKeep(int64_t micros) const;

  // The best `k` documents matching `filter` for `query` with a score > 0, best first (ties: newer first,
  // then by id).
  std::vector<CorpusHit> Search(absl::string_view query, const CorpusFilter& filter, size_t k) const;

  CorpusStats stats() const;

 private:
  struct TermCount {
    uint32_t term;
    uint32_t count;
  };
  struct Posting {
    uint32_t doc;
    uint32_t count;
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Doc {
    std::string id;
    uint32_t product = kNone;  // interned scope ids
    uint32_t customer = kNone;
    int64_t micros = 0;
    int32_t version = 0;
    uint32_t length = 0;
    uint8_t rating = 0;
    Source source = Source::kReview;
    bool alive = false;
    std::vector<TermCount> terms;  // sorted by term
  };
  // A document tokenised (outside the lock).
  struct Prepared {
    const CorpusDoc* doc;
    std::vector<std::pair<std::string, uint32_t>> counts;
    uint32_t length = 0;
  };
  static Prepared Prepare(const CorpusDoc& doc);

  bool UpsertLocked(const Prepared& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeCompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t Intern(int kind, const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Matches(const Doc& d, const CorpusFilter& filter, uint32_t product, uint32_t customer) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const CorpusIndexOptions options_;
  mutable absl::Mutex mu_;
  std::vector<Doc> docs_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu_);  // slots purged from the postings, reusable
  std::vector<uint32_t> dead_ ABSL_GUARDED_BY(mu_);  // removed, still in postings
  absl::flat_hash_map<std::string, uint32_t> by_id_[2] ABSL_GUARDED_BY(mu_);  // per source
  absl::flat_hash_map<std::string, uint32_t> term_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_terms_ ABSL_GUARDED_BY(mu_);  // ids of terms no live document uses
  std::vector<uint32_t> df_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<Posting>> postings_ ABSL_GUARDED_BY(mu_);
  // Scopes: [0] products, [1] customers.
  absl::flat_hash_map<std::string, uint32_t> scope_ids_[2] ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint32_t>> scope_docs_[2] ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, uint32_t>> by_age_ ABSL_GUARDED_BY(mu_);
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;
  size_t live_by_source_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
  size_t live_terms_ ABSL_GUARDED_BY(mu_) = 0;
  double total_length_ ABSL_GUARDED_BY(mu_) = 0;
  size_t evicted_ ABSL_GUARDED_BY(mu_) = 0;
  size_t refused_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_INDEX_H_
