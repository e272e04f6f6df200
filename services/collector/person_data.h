// What the collector holds about one person, for the privacy flow (docs/privacy.md): erased (GDPR art. 17)
// or exported (art. 15/20) on request of the gateway's erasure job, and the retention limit of raw contacts
// and interactions.
//
// Linked to a person (their customer id): raw.customers (name, e-mail), raw.contacts (free-text notes),
// raw.interactions, their reviews (raw.reviews.customer_id) and refused ingest lines naming them
// (ingest.rejects.raw_line). Erasure deletes all of it except the reviews, which keep their text under a
// random reviewer id stored nowhere (raw.review_versions holds no customer id). Crawl and ingest skip rows of
// a tombstoned person (resources.cc, ingest.cc).
#ifndef MARKETLENS_SERVICES_COLLECTOR_PERSON_DATA_H_
#define MARKETLENS_SERVICES_COLLECTOR_PERSON_DATA_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "marketlens/privacy/v1/privacy.pb.h"

namespace marketlens::collector {

// Idempotent: a second call finds nothing left and reports zero counts.
absl::StatusOr<privacy::v1::EraseUserResponse> ErasePerson(postgres::PgPool& pool,
                                                           const std::string& user_id);

absl::StatusOr<privacy::v1::ExportUserResponse> ExportPerson(postgres::PgPool& pool,
                                                             const std::string& user_id);

struct RetentionResult {
  int64_t contacts = 0;
  int64_t interactions = 0;
};
// Deletes raw contacts and interactions that happened more than `keep` ago (the CronJob's
// `collector_cli retention --retention_days=N`).
absl::StatusOr<RetentionResult> EnforceRetention(postgres::PgPool& pool, absl::Duration keep);

// The same in the service, at start and every `every` (the local stack's scheduler, --retention_days; in
// Kubernetes the retention CronJob runs the CLI instead).
class RetentionLoop {
 public:
  RetentionLoop(postgres::PgPool* pool, absl::Duration keep, absl::Duration every = absl::Hours(24));
  ~RetentionLoop();
  void Start();
  void Stop();

 private:
  postgres::PgPool* pool_;
  const absl::Duration keep_;
  const absl::Duration every_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_PERSON_DATA_H_
