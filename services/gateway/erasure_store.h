// The erasure jobs of the privacy flow (docs/privacy.md) in Postgres (privacy.erasures, privacy.tombstones;
// migration 0049). The gateway owns them: DELETE /api/v1/users/{id} creates a job and the person's tombstone
// in one transaction; the driver (erasure_driver.h) claims due jobs, calls each service's EraseUser in
// order and records every step done, so a job survives a restart of the gateway or of any service. Once
// all steps are done the job completes and forgets the person's id: what stays is the audit record (who
// asked, when, the kinds of data erased with counts) and the tombstone (a SHA-256 of the id).
#ifndef MARKETLENS_SERVICES_GATEWAY_ERASURE_STORE_H_
#define MARKETLENS_SERVICES_GATEWAY_ERASURE_STORE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "marketlens/privacy/v1/privacy.pb.h"

namespace marketlens::gateway {

// The services called, in this order: the collector first (raw rows gone before the analyzer drops its
// index entries, so no sync re-indexes them), then the analyzer, then the recommender.
inline const std::vector<std::string>& ErasureSteps() {
  static const auto* steps = new std::vector<std::string>{"collector", "analyzer", "recommender"};
  return *steps;
}

// A job claimed by the driver.
struct DueErasure {
  std::string id;
  std::string subject_id;
  std::vector<std::string> steps;       // in order
  std::vector<std::string> steps_done;  // any order
  int attempts = 0;
};

class ErasureStore {
 public:
  explicit ErasureStore(postgres::PgPool* pool) : pool_(pool) {}

  // Tombstones the person and creates their job, or returns the job already pending for them (a repeated
  // DELETE). `requested_by` is the API key id of the admin who asked.
  absl::StatusOr<privacy::v1::Erasure> Create(const std::string& user_id, const std::string& requested_by,
                                              const std::vector<std::string>& steps = ErasureSteps());
  // NOT_FOUND for an unknown (or malformed) id.
  absl::StatusOr<privacy::v1::Erasure> Get(const std::string& id);

  // Pending jobs whose next try is due, claimed for `lease` (another driver skips them until then; a driver
  // that dies mid-job leaves it to be picked up again when the lease ends).
  absl::StatusOr<std::vector<DueErasure>> ClaimDue(absl::Duration lease, int limit = 20);
  // One service's step succeeded: its kinds go into the audit record; the job completes (and forgets the
  // id) when this was the last step. Idempotent.
  absl::Status RecordStep(const std::string& id, const std::string& step,
                          const privacy::v1::EraseUserResponse& erased);
  // A step failed: counted, and the job is due again after `retry_in`.
  absl::Status RecordFailure(const std::string& id, const std::string& error, absl::Duration retry_in);

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_ERASURE_STORE_H_
