// ReviewPublisher: announces new and edited reviews to the analyzer on a Redis stream.
//
// The crawler queues an announcement in ops.review_outbox in the same transaction that stores the review
// (see resources.h), so nothing is lost when Redis or the collector is down. This publisher moves the queue
// to the stream (XADD, oldest first) and deletes what Redis accepted; a crash in between announces an entry
// again (at-least-once: consumers treat (review_id, version) as idempotent). The analyzer reads the stream
// through a consumer group, so entries wait for it while it is down; it can also catch up from
// raw.reviews (updated_at, last_seen_at).
//
// Stream entry fields: event ("created" | "edited"), review_id, product_id, version, crawl_id, outbox_id,
// queued_at (RFC 3339).
#ifndef MARKETLENS_SERVICES_COLLECTOR_REVIEW_PUBLISHER_H_
#define MARKETLENS_SERVICES_COLLECTOR_REVIEW_PUBLISHER_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "services/collector/collector_metrics.h"

namespace marketlens::collector {

inline constexpr char kReviewStream[] = "marketlens:reviews";

struct ReviewPublisherOptions {
  std::string stream = kReviewStream;
  // XADD MAXLEN ~ this (0: no trimming). Bounds Redis memory if no consumer ever reads; entries trimmed
  // away are still in raw.reviews for a catch-up.
  int64_t max_stream_length = 1000000;
  int batch = 500;
  // Poll interval when idle, and the longest back-off while Redis is down.
  absl::Duration interval = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(5);
};

class ReviewPublisher {
 public:
  ReviewPublisher(postgres::PgPool* pool, redis::RedisClient* redis, ReviewPublisherOptions options = {},
                  CollectorMetrics* metrics = &CollectorMetrics::Default());
  ~ReviewPublisher();

  void Start();
  // Stops the loop (what is queued stays in the outbox for the next start).
  void Stop();
  // New entries are queued: publish soon.
  void Wake();

  // Publishes up to `batch` queued announcements now; returns how many. (The loop calls this; exposed for
  // tests.)
  absl::StatusOr<int> PublishOnce();

 private:
  void Loop();

  postgres::PgPool* pool_;
  redis::RedisClient* redis_;
  const ReviewPublisherOptions options_;
  CollectorMetrics* metrics_;
  std::thread thread_;
  absl::Mutex stop_mu_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_REVIEW_PUBLISHER_H_
