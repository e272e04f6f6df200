#include "services/collector/review_publisher.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging/log.h"

namespace marketlens::collector {

ReviewPublisher::ReviewPublisher(postgres::PgPool* pool, redis::RedisClient* redis,
                                 ReviewPublisherOptions options, CollectorMetrics* metrics)
    : pool_(pool), redis_(redis), options_(std::move(options)), metrics_(metrics) {}

ReviewPublisher::~ReviewPublisher() { Stop(); }

void ReviewPublisher::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ReviewPublisher::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ReviewPublisher::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

absl::StatusOr<int> ReviewPublisher::PublishOnce() {
  // The rows are locked while they are published (SKIP LOCKED: two collector instances never announce the
  // same rows), and deleted in the same transaction once Redis has accepted them.
  int published = 0;
  absl::Status redis_failure;
  postgres::TxOptions tx_options;
  tx_options.timeout = absl::Seconds(30);
  absl::Status status = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        published = 0;
        redis_failure = absl::OkStatus();
        auto rows = tx.Exec(
            "SELECT id, review_id, product_id, version, event, COALESCE(crawl_id::text, ''), "
            "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
            "FROM ops.review_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            options_.batch);
        if (!rows.ok()) return rows.status();
        std::vector<std::string> ids;
        for (const auto& row : *rows) {
          redis::StreamFields fields = {
              {"event", row[4].as<std::string>()},      {"review_id", row[1].as<std::string>()},
              {"product_id", row[2].as<std::string>()}, {"version", row[3].as<std::string>()},
              {"crawl_id", row[5].as<std::string>()},   {"outbox_id", row[0].as<std::string>()},
              {"queued_at", row[6].as<std::string>()},
          };
          auto id = redis_->XAdd(options_.stream, fields, options_.max_stream_length);
          if (!id.ok()) {
            redis_failure = id.status();
            break;
          }
          ids.push_back(row[0].as<std::string>());
        }
        if (ids.empty()) return absl::OkStatus();
        auto del = tx.Exec("DELETE FROM ops.review_outbox WHERE id = ANY($1::bigint[])",
                           absl::StrCat("{", absl::StrJoin(ids, ","), "}"));
        if (!del.ok()) return del.status();  // they will be announced again: at-least-once
        published = static_cast<int>(ids.size());
        return absl::OkStatus();
      },
      tx_options);
  if (!status.ok()) return status;
  if (published > 0) metrics_->stream_published.Increment(static_cast<double>(published));
  if (!redis_failure.ok()) {
    metrics_->stream_publish_errors.Increment();
    return redis_failure;
  }
  return published;
}

void ReviewPublisher::Loop() {
  absl::Duration backoff = options_.interval;
  absl::Time next_count = absl::InfinitePast();
  absl::Time last_warning = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    absl::StatusOr<int> n = PublishOnce();
    absl::Duration wait = options_.interval;
    if (!n.ok()) {
      backoff = std::min(options_.max_backoff, backoff * 2);
      wait = backoff;
      if (absl::Now() - last_warning > absl::Seconds(30)) {
        last_warning = absl::Now();
        logging::Warn("cannot publish review announcements; they stay queued in ops.review_outbox",
                      {{"error", n.status()}, {"stream", options_.stream}});
      }
    } else {
      backoff = options_.interval;
      if (*n >= options_.batch) wait = absl::ZeroDuration();
    }
    if (absl::Now() >= next_count) {
      next_count = absl::Now() + absl::Seconds(5);
      auto pending = pool_->Exec("SELECT count(*) FROM ops.review_outbox");
      if (pending.ok()) metrics_->outbox_pending.Set((*pending)[0][0].as<double>());
    }
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
    if (wait > absl::ZeroDuration()) mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    wake_ = false;
  }
}

}  // namespace marketlens::collector
