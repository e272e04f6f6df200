#include "services/recommender/serving/feedback.h"

#include <unistd.h>

#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

std::string DefaultInstance() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  return absl::StrCat(host[0] ? host : "recommender", "-", getpid());
}

double Seconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

struct Parsed {
  std::string kind;
  FeedbackEvent event;
  std::string origin;
};

std::optional<Parsed> ParseEntry(const redis::StreamEntry& entry) {
  Parsed p;
  auto get = [&](absl::string_view name) -> std::string {
    const std::string* v = entry.Find(name);
    return v == nullptr ? "" : *v;
  };
  p.kind = get("kind");
  p.origin = get("origin");
  p.event.user_id = get("user");
  p.event.item_id = get("item");
  p.event.experiment_id = get("experiment_id");
  p.event.variant = get("variant");
  p.event.surface = get("surface");
  double t = 0;
  if (!absl::SimpleAtod(get("time"), &t)) return std::nullopt;
  p.event.time = absl::FromUnixMicros(static_cast<int64_t>(t * 1e6));
  if (p.kind == "event") {
    std::optional<EventType> type = ParseEventType(get("event"));
    if (!type || p.event.user_id.empty() || p.event.item_id.empty()) return std::nullopt;
    p.event.type = *type;
  } else if (p.kind != "forget" || p.event.user_id.empty()) {
    return std::nullopt;
  }
  return p;
}

}  // namespace

FeedbackPipeline::FeedbackPipeline(redis::RedisClient* redis, postgres::PgPool* pg, OnlineState* online,
                                   FeedbackOptions options)
    : redis_(redis), store_(pg), online_(online), options_(std::move(options)) {
  if (options_.instance.empty()) options_.instance = DefaultInstance();
}

FeedbackPipeline::~FeedbackPipeline() { Stop(); }

void FeedbackPipeline::Start() {
  if (!threads_.empty()) return;
  stop_ = false;
  if (redis_ != nullptr) {
    threads_.emplace_back([this] { WriterLoop(); });
    threads_.emplace_back([this] { FoldInLoop(); });
  }
  threads_.emplace_back([this] { ExposureLoop(); });
}

void FeedbackPipeline::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  (void)FlushExposures();
}

absl::Status FeedbackPipeline::RecordEvent(const FeedbackEvent& e) {
  if (!online_->Record(e.user_id, e.item_id, e.type, absl::ToUnixSeconds(e.time))) {
    return absl::FailedPreconditionError("this user asked to be forgotten; no feedback is recorded");
  }
  if (redis_ != nullptr) {
    auto id = redis_->XAdd(options_.stream,
                           {{"kind", "event"},
                            {"user", e.user_id},
                            {"item", e.item_id},
                            {"event", std::string(EventTypeName(e.type))},
                            {"experiment_id", e.experiment_id},
                            {"variant", e.variant},
                            {"surface", e.surface},
                            {"time", absl::StrCat(Seconds(e.time))},
                            {"origin", options_.instance}},
                           options_.max_stream_length);
    if (id.ok()) {
      ++streamed_;
      return absl::OkStatus();
    }
  }
  absl::Status s = store_.InsertEvent(e);
  if (!s.ok()) {
    ++write_errors_;
    return absl::UnavailableError(absl::StrCat("feedback could not be stored: ", s.message()));
  }
  ++direct_;
  return absl::OkStatus();
}

void FeedbackPipeline::RecordExposure(Exposure exposure) {
  absl::MutexLock lock(&mu_);
  if (exposures_.size() >= options_.max_pending_exposures) {
    ++exposures_dropped_;
    return;
  }
  exposures_.push_back(std::move(exposure));
}

absl::Status FeedbackPipeline::FlushExposures() {
  std::vector<Exposure> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(exposures_);
  }
  if (batch.empty()) return absl::OkStatus();
  absl::Status s = store_.WriteExposures(batch);
  if (!s.ok()) {
    exposures_dropped_ += static_cast<int64_t>(batch.size());
    logging::Warn("exposures not written", {{"count", static_cast<int64_t>(batch.size())}, {"error", s}});
    return s;
  }
  exposures_written_ += static_cast<int64_t>(batch.size());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> FeedbackPipeline::WriteOnce(int64_t block_ms) {
  if (redis_ == nullptr) return 0;
  if (!group_ready_) {
    RETURN_IF_ERROR(redis_->XGroupCreate(options_.stream, options_.group, true, "0"));
    group_ready_ = true;
  }
  // Our own pending entries first (a restart with the same name), then stale ones of dead replicas, then new.
  auto entries =
      redis_->XReadGroup(options_.group, options_.instance, options_.stream, options_.batch, 0, "0");
  if (entries.ok() && entries->empty()) {
    auto claimed = redis_->XAutoClaim(options_.stream, options_.group, options_.instance, options_.claim_idle,
                                      "0-0", options_.batch);
    if (claimed.ok() && !claimed->entries.empty()) {
      entries = std::move(claimed->entries);
    } else {
      entries =
          redis_->XReadGroup(options_.group, options_.instance, options_.stream, options_.batch, block_ms);
    }
  }
  if (!entries.ok()) {
    if (entries.status().code() == absl::StatusCode::kNotFound) group_ready_ = false;  // stream deleted
    return entries.status();
  }
  if (entries->empty()) return 0;
  std::vector<std::pair<FeedbackEvent, std::string>> events;
  for (const redis::StreamEntry& entry : *entries) {
    if (entry.deleted) continue;
    std::optional<Parsed> p = ParseEntry(entry);
    if (!p || p->kind != "event") continue;  // malformed entries are dropped (acked); forget is no write
    events.emplace_back(std::move(p->event), entry.id);
  }
  const int64_t written = static_cast<int64_t>(events.size());
  absl::Status s = store_.InsertStreamEvents(events);
  if (!s.ok()) {
    ++write_errors_;
    return s;  // not acked: redelivered
  }
  std::vector<std::string> ids;
  for (const redis::StreamEntry& entry : *entries) ids.push_back(entry.id);
  if (auto acked = redis_->XAck(options_.stream, options_.group, ids); !acked.ok()) return acked.status();
  written_ += written;
  return written;
}

void FeedbackPipeline::WriterLoop() {
  absl::Time next_log = absl::InfinitePast();
  while (!stop_) {
    absl::StatusOr<int64_t> n = WriteOnce(options_.block_ms);
    if (!n.ok()) {
      if (absl::Now() > next_log) {
        logging::Warn("feedback writer", {{"error", n.status()}});
        next_log = absl::Now() + absl::Seconds(30);
      }
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
}

void FeedbackPipeline::FoldInLoop() {
  // Start after the newest entry present now (older ones are in the model or already in Postgres), and
  // continue from concrete ids, so that nothing added between two reads is skipped.
  std::string last;
  while (!stop_ && last.empty()) {
    auto newest = redis_->Command({"XREVRANGE", options_.stream, "+", "-", "COUNT", "1"});
    if (newest.ok()) {
      auto entries = redis::ParseStreamEntries(*newest);
      if (entries.ok()) last = entries->empty() ? "0-0" : entries->front().id;
    }
    if (last.empty()) absl::SleepFor(absl::Milliseconds(500));
  }
  while (!stop_) {
    auto reply = redis_->Command({"XREAD", "COUNT", absl::StrCat(options_.batch), "BLOCK",
                                  absl::StrCat(options_.block_ms), "STREAMS", options_.stream, last},
                                 absl::Milliseconds(options_.block_ms) + absl::Milliseconds(500));
    if (!reply.ok()) {
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    auto entries = redis::ParseReadReply(*reply);
    if (!entries.ok()) continue;
    for (const redis::StreamEntry& entry : *entries) {
      last = entry.id;
      std::optional<Parsed> p = ParseEntry(entry);
      if (!p || p->origin == options_.instance) continue;  // our own: applied when recorded
      if (p->kind == "forget") {
        online_->Forget(p->event.user_id);
      } else {
        online_->Record(p->event.user_id, p->event.item_id, p->event.type,
                        absl::ToUnixSeconds(p->event.time));
      }
      ++folded_in_;
    }
  }
}

void FeedbackPipeline::ExposureLoop() {
  while (!stop_) {
    absl::SleepFor(options_.flush_interval);
    (void)FlushExposures();
  }
}

absl::StatusOr<int64_t> FeedbackPipeline::ForgetUser(const std::string& user_id) {
  ASSIGN_OR_RETURN(auto erased, EraseUser(user_id));
  int64_t deleted = 0;
  for (const auto& [kind, count] : erased) {
    if (kind == "recsys.events" || kind == "raw.interactions") deleted += count;
  }
  return deleted;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FeedbackPipeline::EraseUser(
    const std::string& user_id) {
  if (user_id.empty()) return absl::InvalidArgumentError("user_id is required");
  ASSIGN_OR_RETURN(auto erased, store_.EraseUser(user_id));
  online_->Forget(user_id);
  {
    absl::MutexLock lock(&mu_);
    const int64_t pending =
        std::erase_if(exposures_, [&](const Exposure& x) { return x.user_id == user_id; });
    erased.emplace_back("exposures_buffered", pending);
  }
  if (redis_ != nullptr) {
    // Events of this user still in the stream would be written again by the writer: the tombstone makes
    // training skip them, and this entry makes the other replicas forget the user now.
    (void)redis_->XAdd(options_.stream,
                       {{"kind", "forget"},
                        {"user", user_id},
                        {"time", absl::StrCat(Seconds(absl::Now()))},
                        {"origin", options_.instance}},
                       options_.max_stream_length);
  }
  return erased;
}

absl::Status FeedbackPipeline::LoadPersistentState() {
  ASSIGN_OR_RETURN(PersistentFeedback state, store_.LoadPersistentState());
  for (const std::string& user_id : state.forgotten_users) online_->Forget(user_id);
  for (const PersistentFeedback::DoNotShow& d : state.do_not_show) {
    online_->Record(d.user_id, d.item_id, EventType::kDoNotShow, d.unix_seconds);
  }
  return absl::OkStatus();
}

FeedbackPipeline::Stats FeedbackPipeline::stats() const {
  return {streamed_.load(),          direct_.load(),
          written_.load(),           folded_in_.load(),
          exposures_written_.load(), exposures_dropped_.load(),
          write_errors_.load()};
}

}  // namespace marketlens::recommender
