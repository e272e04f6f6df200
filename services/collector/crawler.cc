#include "services/collector/crawler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging/log.h"
#include "common/retry/backoff.h"
#include "common/status/macros.h"

namespace marketlens::collector {

struct CrawlManager::Running {
  std::string id;
  StopSignal stop;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> cancelled{false};
  std::atomic<bool> lost{false};
  absl::Mutex mu;
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);
  absl::Time last_heartbeat = absl::Now();
  absl::Time next_progress = absl::Now();
};

namespace {

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string TimeText(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *t, absl::UTCTimeZone()) : "";
}

}  // namespace

CrawlManager::CrawlManager(postgres::PgPool* pool, MarketplaceClient* client, ReviewPublisher* publisher,
                           CrawlerOptions options, CollectorMetrics* metrics)
    : pool_(pool),
      client_(client),
      publisher_(publisher),
      options_(std::move(options)),
      metrics_(metrics),
      store_(pool) {}

CrawlManager::~CrawlManager() { Stop(); }

void CrawlManager::Start() {
  absl::MutexLock lock(&mu_);
  if (loop_.joinable() || stopping_) return;
  loop_ = std::thread([this] { Loop(); });
}

void CrawlManager::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);  // a second caller waits for the first to finish
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
  std::vector<Running*> running;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, c] : crawls_) running.push_back(c.get());
  }
  for (Running* c : running) {
    c->shutting_down = true;
    c->stop.Stop("the collector is shutting down");
  }
  for (Running* c : running) {
    if (c->thread.joinable()) c->thread.join();
  }
  absl::MutexLock lock(&mu_);
  crawls_.clear();
}

int CrawlManager::running() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [id, c] : crawls_) n += !c->finished;
  return n;
}

absl::StatusOr<CrawlRow> CrawlManager::StartCrawl(const std::string& mode,
                                                  const std::vector<std::string>& resources) {
  if (mode != "full" && mode != "incremental") {
    return absl::InvalidArgumentError(absl::StrCat("mode must be full or incremental, not '", mode, "'"));
  }
  std::vector<std::string> names;
  for (const std::string& r : resources) {
    if (FindResource(r) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown resource '", r, "' (known: ", absl::StrJoin(ResourceNames(), ", "), ")"));
    }
    if (std::find(names.begin(), names.end(), r) == names.end()) names.push_back(r);
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the collector is shutting down");
  }
  ASSIGN_OR_RETURN(CrawlRow row, store_.CreateCrawl(mode, names, options_.owner));
  logging::Info("crawl created",
                {{"crawl_id", row.id}, {"mode", mode}, {"resources", absl::StrJoin(names, ",")}});
  if (absl::StatusOr<bool> launched = Launch(row.id); !launched.ok()) {
    logging::Warn("crawl created but not started yet (the manager will retry)",
                  {{"crawl_id", row.id}, {"error", launched.status()}});
  }
  absl::StatusOr<CrawlRow> now = store_.GetCrawl(row.id);
  return now.ok() ? now : row;
}

absl::StatusOr<CrawlRow> CrawlManager::CancelCrawl(const std::string& id) {
  ASSIGN_OR_RETURN(CrawlRow row, store_.Cancel(id));
  absl::MutexLock lock(&mu_);
  auto it = crawls_.find(id);
  if (it != crawls_.end()) {
    it->second->cancelled = true;
    it->second->stop.Stop("cancelled");
  }
  logging::Info("crawl cancelled", {{"crawl_id", id}});
  return row;
}

absl::StatusOr<bool> CrawlManager::Launch(const std::string& id) {
  static absl::Mutex launch_mu(absl::kConstInit);
  absl::MutexLock launch_lock(&launch_mu);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    auto it = crawls_.find(id);
    if (it != crawls_.end() && !it->second->finished) return true;
  }
  absl::StatusOr<bool> claimed = store_.Claim(id, options_.owner, options_.lease);
  if (!claimed.ok() || !*claimed) return claimed;
  ReapFinished();
  absl::MutexLock lock(&mu_);
  if (crawls_.count(id) > 0) return true;  // finished but not reaped: reaped above, so this is a new run
  auto running = std::make_unique<Running>();
  running->id = id;
  Running* c = running.get();
  crawls_[id] = std::move(running);
  c->thread = std::thread([this, c] { RunCrawl(c); });
  return true;
}

void CrawlManager::ReapFinished() {
  std::vector<std::unique_ptr<Running>> done;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = crawls_.begin(); it != crawls_.end();) {
      if (it->second->finished) {
        done.push_back(std::move(it->second));
        it = crawls_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : done) {
    if (c->thread.joinable()) c->thread.join();
  }
}

absl::Status CrawlManager::InitCrawl(Running* c, const CrawlRow& row) {
  mv1::WorldInfo info;
  CallOutcome outcome;
  if (absl::Status st = client_->GetWorldInfo(&info, c->stop, &outcome); !st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("cannot ask the marketplace for its clock and sizes: ", st.message()));
  }
  std::optional<absl::Time> watermark;
  if (info.has_world_time()) {
    const absl::Duration overlap =
        std::max(options_.min_overlap, options_.overlap_real_time * std::max(0.0, info.clock_speed()));
    watermark = FromProto(info.world_time()) - overlap;
  }
  std::vector<std::string> names = row.resources.empty() ? ResourceNames() : row.resources;
  std::vector<CheckpointRow> checkpoints;
  for (const std::string& name : names) {
    const Resource* r = FindResource(name);
    if (r == nullptr) continue;
    CheckpointRow cp;
    cp.resource = name;
    if (row.mode == "incremental" && r->supports_since) {
      ASSIGN_OR_RETURN(std::optional<absl::Time> since, store_.IncrementalSince(name));
      cp.since = since;
    }
    cp.expected_items = cp.since.has_value() ? 0 : r->expected(info);
    cp.watermark = watermark;
    checkpoints.push_back(cp);
  }
  return store_.InitCheckpoints(row.id, checkpoints);
}

void CrawlManager::RunCrawl(Running* c) {
  logging::ScopedRequestId request_id(absl::StrCat("crawl-", c->id));
  metrics_->crawls_running.Increment();
  auto finish = [&] {
    metrics_->crawls_running.Decrement();
    c->finished = true;
  };
  absl::StatusOr<CrawlRow> row = store_.GetCrawl(c->id);
  if (!row.ok()) {
    logging::Error("cannot load crawl", {{"crawl_id", c->id}, {"error", row.status()}});
    finish();
    return;
  }
  absl::StatusOr<std::vector<CheckpointRow>> checkpoints = store_.GetCheckpoints(c->id);
  if (checkpoints.ok() && checkpoints->empty()) {
    absl::Status init = InitCrawl(c, *row);
    if (init.ok()) checkpoints = store_.GetCheckpoints(c->id);
    if (!init.ok()) checkpoints = init;
  }
  if (!checkpoints.ok()) {
    if (c->stop.stopped()) {
      if (c->shutting_down) (void)store_.ReleaseLease(c->id, options_.owner);
    } else {
      logging::Error("crawl failed to start", {{"crawl_id", c->id}, {"error", checkpoints.status()}});
      (void)store_.Finish(c->id, options_.owner, "failed", checkpoints.status().ToString());
    }
    finish();
    return;
  }
  int64_t already = 0;
  std::vector<std::string> walks;
  for (const CheckpointRow& cp : *checkpoints) {
    already += cp.pages;
    walks.push_back(absl::StrCat(cp.resource,
                                 cp.since.has_value() ? " since " + TimeText(cp.since) : " (full)",
                                 cp.done ? " done" : ""));
  }
  logging::Info(already > 0 || row->resumes > 0 ? "crawl resumed" : "crawl started",
                {{"crawl_id", c->id},
                 {"mode", row->mode},
                 {"resumes", row->resumes},
                 {"pages_before", already},
                 {"walks", absl::StrJoin(walks, "; ")}});

  std::vector<std::thread> threads;
  for (const CheckpointRow& cp : *checkpoints) {
    if (cp.done) continue;
    threads.emplace_back([this, c, &row, cp] { RunWalk(c, *row, cp); });
  }
  for (auto& t : threads) t.join();

  if (c->shutting_down) {
    (void)store_.ReleaseLease(c->id, options_.owner);
    logging::Info("crawl paused for shutdown; it resumes from its checkpoints", {{"crawl_id", c->id}});
  } else if (c->cancelled || c->lost) {
    logging::Info("crawl stopped here", {{"crawl_id", c->id}, {"reason", c->stop.reason()}});
  } else {
    std::vector<std::string> errors;
    {
      absl::MutexLock lock(&c->mu);
      errors = c->errors;
    }
    const std::string state = errors.empty() ? "succeeded" : "failed";
    absl::StatusOr<bool> done = store_.Finish(c->id, options_.owner, state, absl::StrJoin(errors, "; "));
    if (!done.ok()) {
      logging::Error("cannot record the end of the crawl", {{"crawl_id", c->id}, {"error", done.status()}});
    }
    absl::StatusOr<CrawlRow> end = store_.GetCrawl(c->id);
    if (end.ok()) {
      const double seconds = absl::ToDoubleSeconds(absl::Now() - end->started_at);
      logging::Info("crawl finished", {{"crawl_id", c->id},
                                       {"state", end->state},
                                       {"pages", end->pages},
                                       {"items", end->items},
                                       {"retries", end->retries},
                                       {"errors", end->errors},
                                       {"rate_limited", end->rate_limited},
                                       {"seconds", seconds},
                                       {"last_error", end->last_error}});
    }
    if (publisher_ != nullptr) publisher_->Wake();
  }
  finish();
}

void CrawlManager::RunWalk(Running* c, const CrawlRow& row, CheckpointRow cp) {
  logging::ScopedRequestId request_id(absl::StrCat("crawl-", c->id, "-", cp.resource));
  const Resource* resource = FindResource(cp.resource);
  if (resource == nullptr) return;
  std::string token = cp.page_token;
  bool restarted = false;
  int64_t pending_retries = 0;
  int64_t pending_rate_limited = 0;
  auto fail = [&](const absl::Status& error, int attempts) {
    metrics_->page_failures(cp.resource).Increment();
    logging::Error("crawl gave up on a page",
                   {{"crawl_id", c->id}, {"resource", cp.resource}, {"error", error}, {"tries", attempts}});
    absl::Status recorded = store_.RecordPageFailure(c->id, cp.resource, token, attempts, error,
                                                     pending_retries, pending_rate_limited);
    if (!recorded.ok()) logging::Error("cannot record the page failure", {{"error", recorded}});
    absl::MutexLock lock(&c->mu);
    c->errors.push_back(absl::StrCat(cp.resource, ": ", error.ToString()));
  };
  for (;;) {
    if (c->stop.stopped()) return;
    PageRequest request{token, cp.since, options_.page_size};
    Page page;
    CallOutcome outcome;
    absl::Status fetched = resource->fetch(*client_, request, &page, c->stop, &outcome);
    pending_retries += outcome.retries;
    pending_rate_limited += outcome.rate_limited;
    if (!fetched.ok()) {
      if (c->stop.stopped()) return;
      if (fetched.code() == absl::StatusCode::kInvalidArgument && !token.empty() && !restarted) {
        // The marketplace no longer accepts the stored token (e.g. it restarted with another key): walk the
        // resource again from its first page. Upserts make the repeated items harmless.
        logging::Warn("page token refused; restarting the walk from its first page",
                      {{"crawl_id", c->id}, {"resource", cp.resource}, {"error", fetched}});
        restarted = true;
        token.clear();
        (void)store_.ResetCheckpoint(c->id, cp.resource);
        continue;
      }
      fail(fetched, outcome.requests);
      return;
    }
    PageWrite write{c->id,      options_.owner,       resource,        std::move(page.items_json),
                    page.items, page.next_page_token, pending_retries, pending_rate_limited};
    absl::StatusOr<PageWriteResult> stored;
    const absl::Time give_up = absl::Now() + options_.store_retry_budget;
    for (int attempt = 0;; ++attempt) {
      stored = store_.StorePage(write);
      if (stored.ok()) break;
      if (c->stop.stopped()) return;
      if (absl::Now() >= give_up) break;
      logging::Warn("cannot store a crawled page; retrying",
                    {{"crawl_id", c->id}, {"resource", cp.resource}, {"error", stored.status()}});
      if (!c->stop.SleepFor(
              retry::FullJitterDelay({absl::Milliseconds(200), absl::Seconds(5), 2.0, 0}, attempt))) {
        return;
      }
    }
    if (!stored.ok()) {
      fail(
          absl::Status(stored.status().code(), absl::StrCat("storing the page: ", stored.status().message())),
          1);
      return;
    }
    if (!stored->owned) {
      c->lost = true;
      c->stop.Stop("the crawl was cancelled or taken over by another instance");
      return;
    }
    pending_retries = 0;
    pending_rate_limited = 0;
    metrics_->pages(cp.resource).Increment();
    metrics_->items(cp.resource).Increment(static_cast<double>(page.items));
    if (resource->name == "reviews" && stored->affected > 0 && publisher_ != nullptr) publisher_->Wake();
    token = page.next_page_token;
    if (token.empty()) {
      logging::Info("crawl walk done", {{"crawl_id", c->id}, {"resource", cp.resource}});
      return;
    }
  }
}

void CrawlManager::LogProgress(const std::string& id) {
  absl::StatusOr<CrawlRow> row = store_.GetCrawl(id);
  absl::StatusOr<std::vector<CheckpointRow>> cps = store_.GetCheckpoints(id);
  if (!row.ok() || !cps.ok()) return;
  int done = 0;
  for (const auto& cp : *cps) done += cp.done;
  const int64_t eta = EstimateEtaSeconds(*cps, rate_per_second(), options_.page_size);
  metrics_->crawl_eta_seconds.Set(static_cast<double>(eta));
  const double elapsed = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - row->started_at));
  logging::Info("crawl progress", {{"crawl_id", id},
                                   {"state", row->state},
                                   {"pages", row->pages},
                                   {"items", row->items},
                                   {"retries", row->retries},
                                   {"errors", row->errors},
                                   {"rate_limited", row->rate_limited},
                                   {"walks_done", absl::StrCat(done, "/", cps->size())},
                                   {"pages_per_second", static_cast<double>(row->pages) / elapsed},
                                   {"eta_seconds", eta}});
}

void CrawlManager::Loop() {
  absl::Time next_schedule = absl::InfiniteFuture();
  if (options_.schedule_interval > absl::ZeroDuration()) {
    absl::StatusOr<std::vector<CrawlRow>> last = store_.ListCrawls(1, std::nullopt);
    next_schedule =
        (last.ok() && !last->empty()) ? last->front().started_at + options_.schedule_interval : absl::Now();
    if (!last.ok()) next_schedule = absl::Now() + options_.tick;
  }
  absl::Time next_lag = absl::Now();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    ReapFinished();
    // Heartbeats (and noticing a crawl cancelled or taken over elsewhere).
    std::vector<Running*> running;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [id, c] : crawls_) {
        if (!c->finished) running.push_back(c.get());
      }
    }
    const absl::Time now = absl::Now();
    for (Running* c : running) {
      if (now - c->last_heartbeat >= options_.lease / 3) {
        absl::StatusOr<bool> alive = store_.Heartbeat(c->id, options_.owner);
        if (alive.ok()) {
          c->last_heartbeat = now;
          if (!*alive && !c->finished) {
            c->lost = true;
            c->stop.Stop("the crawl was cancelled or taken over by another instance");
          }
        }
      }
      if (now >= c->next_progress) {
        c->next_progress = now + options_.progress_interval;
        LogProgress(c->id);
      }
    }
    if (running.empty()) metrics_->crawl_eta_seconds.Set(-1);
    // Crawls left behind by a dead instance (or by this one before a restart).
    absl::StatusOr<std::vector<std::string>> orphans = store_.FindClaimable(options_.owner, options_.lease);
    if (orphans.ok()) {
      for (const std::string& id : *orphans) {
        absl::StatusOr<bool> launched = Launch(id);
        if (!launched.ok())
          logging::Warn("cannot take over crawl", {{"crawl_id", id}, {"error", launched.status()}});
      }
    }
    // The schedule.
    if (now >= next_schedule) {
      next_schedule = now + options_.schedule_interval;
      absl::StatusOr<CrawlRow> started = StartCrawl("incremental", {});
      if (started.ok()) {
        logging::Info("scheduled crawl started", {{"crawl_id", started->id}});
      } else if (started.status().code() != absl::StatusCode::kAlreadyExists) {
        logging::Warn("scheduled crawl not started", {{"error", started.status()}});
      }
    }
    // Lag per resource.
    if (now >= next_lag) {
      next_lag = now + absl::Seconds(5);
      absl::StatusOr<std::map<std::string, absl::Time>> walks = store_.LastCompletedWalks();
      if (walks.ok()) {
        for (const std::string& name : ResourceNames()) {
          auto it = walks->find(name);
          metrics_->lag(name).Set(it == walks->end() ? -1.0 : absl::ToDoubleSeconds(now - it->second));
        }
      }
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.tick);
  }
}

}  // namespace marketlens::collector
