// CrawlManager: runs crawls of the marketplace into Postgres.
//
// A crawl walks each of its resources (resources.h) page by page, all resources at once, sharing the
// client-side rate limit (marketplace_client.h); every page is stored together with its checkpoint
// (crawl_store.h). So:
// - kill -9 at any moment: the crawl stays 'running' with a heartbeat that goes stale; the next collector
//   (the same instance restarted takes it at once, another after `lease`) claims it and every unfinished
//   walk resumes from its checkpoint, with the same filters. No page is stored twice, none is skipped.
// - Graceful shutdown (Stop): the walks stop between pages and the lease is released, so a new instance
//   resumes immediately.
// - A page that still fails after the client's bounded tries ends that walk (recorded in ops.crawl_errors
//   and the crawl's last_error); the other walks finish, and the crawl ends 'failed'. Its completed walks
//   still count for the next incremental crawl; the failed walk is redone from its last good watermark.
// - Incremental crawls ask each resource that supports it for changes since the newest completed walk's
//   watermark: the marketplace's clock when that walk began, minus an overlap (a change stamped slightly in
//   the past by the simulated clock must not slip through). The first crawl of a resource is full.
// - Crawls also start on a schedule (schedule_interval), and one crawl runs at a time (across instances).
// - Progress: a "crawl progress" log line every progress_interval and metrics (collector_metrics.h).
#ifndef MARKETLENS_SERVICES_COLLECTOR_CRAWLER_H_
#define MARKETLENS_SERVICES_COLLECTOR_CRAWLER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/collector/collector_metrics.h"
#include "services/collector/crawl_store.h"
#include "services/collector/marketplace_client.h"
#include "services/collector/review_publisher.h"
#include "services/collector/stop_signal.h"

namespace marketlens::collector {

struct CrawlerOptions {
  // This instance's name in ops.crawls.owner (default: the host name).
  std::string owner;
  // A running crawl whose heartbeat is older than this is taken over by another instance.
  absl::Duration lease = absl::Seconds(30);
  // Manager loop period (heartbeats, take-overs, schedule, metrics).
  absl::Duration tick = absl::Seconds(1);
  absl::Duration progress_interval = absl::Seconds(10);
  // 0: no scheduled crawls. Otherwise an incremental crawl starts this long after the previous one started
  // (at once when there never was one).
  absl::Duration schedule_interval = absl::ZeroDuration();
  // Items per page asked for (1..100).
  int page_size = 100;
  // How long a page that could not be written (Postgres down) is retried before the walk gives up.
  absl::Duration store_retry_budget = absl::Minutes(2);
  // Incremental overlap: at least this, or clock_speed x overlap_real_time of source time.
  absl::Duration min_overlap = absl::Minutes(1);
  absl::Duration overlap_real_time = absl::Seconds(10);
};

class CrawlManager {
 public:
  // `publisher` may be null (reviews are still queued in the outbox).
  CrawlManager(postgres::PgPool* pool, MarketplaceClient* client, ReviewPublisher* publisher,
               CrawlerOptions options, CollectorMetrics* metrics = &CollectorMetrics::Default());
  ~CrawlManager();

  // Starts the manager loop: resumes orphaned crawls at once, then keeps heartbeats and the schedule.
  void Start();
  // Stops every crawl between pages (leaving them resumable, lease released) and the loop. Idempotent.
  void Stop();

  // mode: "full" or "incremental"; resources: names (empty: all). INVALID_ARGUMENT for an unknown resource,
  // ALREADY_EXISTS while another crawl is active.
  absl::StatusOr<CrawlRow> StartCrawl(const std::string& mode, const std::vector<std::string>& resources);
  absl::StatusOr<CrawlRow> CancelCrawl(const std::string& id);

  CrawlStore& store() { return store_; }
  const CrawlerOptions& options() const { return options_; }
  double rate_per_second() const { return client_->options().rate_per_second; }
  // Crawls running in this instance.
  int running() const;

 private:
  struct Running;
  void Loop();
  // Claims the crawl and starts its thread unless it already runs here. Returns whether it runs now.
  absl::StatusOr<bool> Launch(const std::string& id);
  void RunCrawl(Running* crawl);
  void RunWalk(Running* crawl, const CrawlRow& row, CheckpointRow checkpoint);
  absl::Status InitCrawl(Running* crawl, const CrawlRow& row);
  void LogProgress(const std::string& id);
  void ReapFinished();

  postgres::PgPool* pool_;
  MarketplaceClient* client_;
  ReviewPublisher* publisher_;
  const CrawlerOptions options_;
  CollectorMetrics* metrics_;
  CrawlStore store_;

  absl::Mutex stop_mu_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Running>> crawls_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_CRAWLER_H_
