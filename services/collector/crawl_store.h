// CrawlStore: the crawl bookkeeping in Postgres (ops.crawls, ops.crawl_checkpoints, ops.crawl_errors).
//
// The central promise is in StorePage: a page's items, the resource's checkpoint (next page token, counts)
// and the crawl's counters are written in ONE transaction, which also checks that the crawl is still running
// and still owned by this instance. So whenever the process dies, the database holds either the page and
// the checkpoint after it, or neither; the walk resumes from the checkpoint, and (upserts being idempotent)
// nothing is lost or stored twice.
//
// Ownership: a crawl is run by the instance named in `owner` while its heartbeat is fresh (see Claim and
// Heartbeat); another instance (or the same one restarted) takes over a crawl whose heartbeat is older than
// the lease.
#ifndef MARKETLENS_SERVICES_COLLECTOR_CRAWL_STORE_H_
#define MARKETLENS_SERVICES_COLLECTOR_CRAWL_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/collector/resources.h"

namespace marketlens::collector {

struct CrawlRow {
  std::string id;
  std::string mode;                    // "full" | "incremental"
  std::string state;                   // "pending" | "running" | "succeeded" | "failed" | "cancelled"
  std::vector<std::string> resources;  // empty: all
  absl::Time started_at;
  std::optional<absl::Time> finished_at;
  absl::Time heartbeat_at;
  int64_t pages = 0, items = 0, retries = 0, errors = 0, rate_limited = 0;
  int resumes = 0;
  std::string last_error;
  std::string owner;
};

struct CheckpointRow {
  std::string resource;
  std::string page_token;
  int64_t pages = 0, items = 0, expected_items = 0;
  bool done = false;
  std::optional<absl::Time> watermark;
  std::optional<absl::Time> since;
  std::string error;
  absl::Time updated_at;
};

// What one stored page changes.
struct PageWrite {
  std::string crawl_id;
  std::string owner;
  const Resource* resource = nullptr;
  std::string items_json;
  int64_t items = 0;
  std::string next_page_token;  // empty: the walk is done
  int64_t retries = 0;          // counters since the last stored page, added to the crawl's
  int64_t rate_limited = 0;
};

struct PageWriteResult {
  bool owned = true;     // false: the crawl was cancelled or taken over; nothing was written
  int64_t affected = 0;  // rows the store statement returned (snapshots / announcements)
};

class CrawlStore {
 public:
  explicit CrawlStore(postgres::PgPool* pool) : pool_(pool) {}

  // A new pending crawl owned by `owner`. ALREADY_EXISTS (naming the active crawl) while another crawl
  // is pending or running.
  absl::StatusOr<CrawlRow> CreateCrawl(const std::string& mode, const std::vector<std::string>& resources,
                                       const std::string& owner);
  absl::StatusOr<CrawlRow> GetCrawl(const std::string& id);
  absl::StatusOr<std::vector<CheckpointRow>> GetCheckpoints(const std::string& id);
  // Newest first; after = (started_at, id) of the last crawl of the previous page.
  absl::StatusOr<std::vector<CrawlRow>> ListCrawls(int limit,
                                                   std::optional<std::pair<absl::Time, std::string>> after);

  // Makes `owner` run the crawl if it is pending, or running with a stale heartbeat (or already ours, e.g.
  // after a restart). Returns false when someone else holds it or it has ended.
  absl::StatusOr<bool> Claim(const std::string& id, const std::string& owner, absl::Duration lease);
  // Crawls that `owner` could claim now.
  absl::StatusOr<std::vector<std::string>> FindClaimable(const std::string& owner, absl::Duration lease);
  // Refreshes the heartbeat; false when the crawl is no longer running under this owner.
  absl::StatusOr<bool> Heartbeat(const std::string& id, const std::string& owner);
  // Gives the lease up at once (graceful shutdown), so another instance can resume the crawl immediately.
  absl::Status ReleaseLease(const std::string& id, const std::string& owner);

  // The `since` of an incremental walk of `resource`: the newest watermark of a completed walk.
  absl::StatusOr<std::optional<absl::Time>> IncrementalSince(const std::string& resource);
  // Creates the crawl's checkpoints (kept if they exist: a resumed crawl keeps its filters).
  absl::Status InitCheckpoints(const std::string& id, const std::vector<CheckpointRow>& checkpoints);
  // Restarts a walk from its first page (its page token was refused by the marketplace).
  absl::Status ResetCheckpoint(const std::string& id, const std::string& resource);

  // See the top of this file.
  absl::StatusOr<PageWriteResult> StorePage(const PageWrite& write);

  // Records a page given up on: ops.crawl_errors, the checkpoint's error, the crawl's errors/last_error.
  absl::Status RecordPageFailure(const std::string& id, const std::string& resource,
                                 const std::string& page_token, int attempts, const absl::Status& error,
                                 int64_t retries, int64_t rate_limited);
  // Ends a running crawl owned by `owner` ("succeeded" or "failed").
  absl::StatusOr<bool> Finish(const std::string& id, const std::string& owner, const std::string& state,
                              const std::string& last_error);
  // Cancels a pending or running crawl; returns the crawl after the change. FAILED_PRECONDITION when it had
  // already ended (other than cancelled), NOT_FOUND when unknown.
  absl::StatusOr<CrawlRow> Cancel(const std::string& id);

  // When the newest completed walk of each resource finished (for the lag metric).
  absl::StatusOr<std::map<std::string, absl::Time>> LastCompletedWalks();

 private:
  postgres::PgPool* pool_;
};

// The ETA of a running crawl from its checkpoints: the pages its unfinished walks still need, at `rate`
// requests per second; -1 when a walk's size is unknown (incremental walks).
int64_t EstimateEtaSeconds(const std::vector<CheckpointRow>& checkpoints, double rate_per_second,
                           int page_size);

// Whether `s` looks like a UUID (8-4-4-4-12 hex digits).
bool IsUuid(absl::string_view s);

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_CRAWL_STORE_H_
