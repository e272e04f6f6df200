// Keeps a CorpusIndex in step with Postgres (the source of truth; the index is rebuilt from it at start):
//
//   - SyncAll: every review (raw.reviews, by id) and every contact (raw.contacts) missing from the index or
//     indexed at an older version. The first run is the initial load; later runs (every
//     `reconcile_interval`) repair anything the incremental refresh could have missed.
//   - Refresh (every `refresh_interval`): reviews (re-)analysed since the last refresh, read from
//     insights.review_analysis.analyzed_at (the pipeline stores every new or edited review there within about
//     a second of the collector's stream entry, on whichever instance consumed the entry, so every instance's
//     index follows every review), and contacts first seen since then (raw.contacts.first_seen_at). Both
//     marks trail the database clock by `commit_allowance`, so rows committed by a transaction that started
//     earlier are still seen (re-reading a few seconds of rows is cheap: only ids and versions are read,
//     texts only for what the index lacks). Contacts are indexed as first seen (they have no version).
//   - EnsureProduct / EnsureCustomer: before the first SyncAll has finished (start-up), a request's product
//     or customer is loaded on demand (its newest `scope_limit` rows), so retrieval is right from the first
//     request; afterwards they return at once.
//
// Start() runs all that on a thread of its own (Stop() or the destructor ends it). Without Start() (tests, a
// GroundedContent built without a shared index), EnsureProduct/EnsureCustomer load scopes on demand and
// refresh at most every `refresh_interval`.
//
// Metrics: analyzer_retrieval_documents{source}, analyzer_retrieval_index_bytes,
// analyzer_retrieval_syncs_total{kind="full"|"refresh"|"scope",outcome="ok"|"error"}.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_SYNC_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_SYNC_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/rag/corpus_index.h"

namespace marketlens::analyzer::rag {

struct CorpusSyncOptions {
  absl::Duration refresh_interval = absl::Seconds(5);
  absl::Duration reconcile_interval = absl::Minutes(30);
  absl::Duration commit_allowance = absl::Seconds(30);
  int batch = 5000;
  int scope_limit = 1000;
  absl::Duration statement_timeout = absl::Seconds(30);
};

class CorpusSync {
 public:
  CorpusSync(postgres::PgPool* pool, CorpusIndex* index, CorpusSyncOptions options = {},
             AnalyzerMetrics* metrics = &AnalyzerMetrics::Default());
  ~CorpusSync();

  absl::Status SyncAll();
  absl::Status Refresh();
  absl::Status EnsureProduct(const std::string& product_id, absl::Time deadline);
  absl::Status EnsureCustomer(const std::string& customer_id, absl::Time deadline);

  void Start();
  void Stop();
  // The first SyncAll has finished.
  bool synced() const { return synced_.load(); }
  CorpusIndex* index() { return index_; }

 private:
  // Sets the refresh marks (once): the database clock minus the allowance.
  absl::Status InitMarks();
  // Reads these reviews / contacts and indexes them.
  absl::Status IndexReviews(const std::vector<std::string>& ids);
  absl::Status IndexContacts(const std::vector<std::string>& ids);
  absl::Status EnsureScope(bool product, const std::string& id, absl::Time deadline);
  void MaybeRefresh();
  void PublishStats();
  void Loop();

  postgres::PgPool* pool_;
  CorpusIndex* index_;
  const CorpusSyncOptions options_;
  AnalyzerMetrics* metrics_;
  std::atomic<bool> synced_{false};
  std::atomic<bool> background_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;

  absl::Mutex refresh_mu_;  // one refresh at a time
  absl::Mutex mu_;
  bool marks_set_ ABSL_GUARDED_BY(mu_) = false;
  // Keyset marks (time in micros, id) of the refresh: insights.review_analysis (analyzed_at, review_id) and
  // raw.contacts (first_seen_at, id).
  int64_t review_mark_ ABSL_GUARDED_BY(mu_) = 0;
  std::string review_mark_id_ ABSL_GUARDED_BY(mu_);
  int64_t contact_mark_ ABSL_GUARDED_BY(mu_) = 0;
  std::string contact_mark_id_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::flat_hash_set<std::string> loaded_scopes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CORPUS_SYNC_H_
