// FeedbackPipeline: shoppers' feedback recorded durably and folded in everywhere within seconds.
//
//   RecordFeedback -> (1) this replica's OnlineState at once (the next call here reflects it)
//                  -> (2) XADD to the Redis stream `recsys:feedback`
//   writer thread  -> XREADGROUP (group "recsys-writer", shared by all replicas, so each entry is written
//                     once) -> INSERT into recsys.events keyed by the stream entry id (a redelivered entry
//                     is a no-op) -> XACK. Pending entries of a dead replica are claimed after claim_idle.
//   fold-in thread -> XREAD of the same stream on every replica -> other replicas' feedback into this
//                     replica's OnlineState (within ~1 s), and ForgetUser requests.
// When Redis is unavailable, RecordEvent writes to Postgres directly (slower, still durable), and the
// other replicas pick the change up at their next model load. Exposures (which recommendation list an
// experiment user saw) are high-volume and only needed in Postgres: they are batched in memory and
// flushed every flush_interval, together with the users' experiment assignments.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_H_
#define MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "services/recommender/serving/feedback_store.h"
#include "services/recommender/serving/online_state.h"

namespace marketlens::recommender {

struct FeedbackOptions {
  std::string stream = "recsys:feedback";
  std::string group = "recsys-writer";
  std::string instance;  // this replica's consumer name and origin tag; empty: hostname-pid
  int64_t batch = 500;
  int64_t block_ms = 500;
  int64_t max_stream_length = 1000000;  // XADD MAXLEN ~
  absl::Duration claim_idle = absl::Seconds(30);
  absl::Duration flush_interval = absl::Milliseconds(250);
  size_t max_pending_exposures = 100000;  // beyond this, exposures are dropped and counted
};

class FeedbackPipeline {
 public:
  // `redis` may be null (Postgres only); `pg` and `online` are required.
  FeedbackPipeline(redis::RedisClient* redis, postgres::PgPool* pg, OnlineState* online,
                   FeedbackOptions options = {});
  ~FeedbackPipeline();
  FeedbackPipeline(const FeedbackPipeline&) = delete;
  FeedbackPipeline& operator=(const FeedbackPipeline&) = delete;

  // Starts the writer, fold-in and exposure threads.
  void Start();
  // Stops them (flushing pending exposures). Idempotent.
  void Stop();

  // Durable: OK once the event is in the stream or in Postgres; UNAVAILABLE when neither took it.
  absl::Status RecordEvent(const FeedbackEvent& event);
  // Best effort, non-blocking.
  void RecordExposure(Exposure exposure);
  // Erases the shopper's events (recsys.events, raw.interactions, exposures, assignments), writes the
  // tombstone, forgets them locally and tells the other replicas. Returns the number of events deleted.
  absl::StatusOr<int64_t> ForgetUser(const std::string& user_id);
  // The same, reporting what was erased per kind ("recsys.events" -> rows, "online_state", ...): the
  // recommender's step of a privacy erasure (docs/privacy.md). Idempotent.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> EraseUser(const std::string& user_id);

  // Loads what must survive restarts into the online state: do-not-show lists and forgotten users.
  absl::Status LoadPersistentState();

  struct Stats {
    int64_t streamed = 0;   // events added to the stream
    int64_t direct = 0;     // events written straight to Postgres (Redis unavailable)
    int64_t written = 0;    // stream entries written to Postgres by this replica's writer
    int64_t folded_in = 0;  // other replicas' events applied here
    int64_t exposures_written = 0;
    int64_t exposures_dropped = 0;
    int64_t write_errors = 0;
  };
  Stats stats() const;
  const std::string& instance() const { return options_.instance; }

  // One writer pass (read a batch, write, ack); exposed for tests. Returns entries written.
  absl::StatusOr<int64_t> WriteOnce(int64_t block_ms);
  // One exposure flush; exposed for tests.
  absl::Status FlushExposures();

 private:
  void WriterLoop();
  void FoldInLoop();
  void ExposureLoop();

  redis::RedisClient* redis_;
  FeedbackStore store_;  // the SQL (feedback_store.h)
  OnlineState* online_;
  FeedbackOptions options_;

  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  bool group_ready_ = false;

  absl::Mutex mu_;
  std::vector<Exposure> exposures_ ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> streamed_{0}, direct_{0}, written_{0}, folded_in_{0}, exposures_written_{0},
      exposures_dropped_{0}, write_errors_{0};
};

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_SERVING_FEEDBACK_H_
