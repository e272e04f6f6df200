#include "services/analyzer/rag/corpus_sync.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "pqxx/pqxx"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer::rag {
namespace {

using postgres::Tx;

constexpr char kReviewColumns[] =
    "r.id, r.product_id, r.customer_id, r.rating, r.title, r.text, r.version,"
    " (extract(epoch FROM r.created_at) * 1000000)::bigint";
constexpr char kContactColumns[] =
    "k.id, k.customer_id, k.product_id, k.topic, k.notes, COALESCE(p.title, ''),"
    " (extract(epoch FROM k.started_at) * 1000000)::bigint";
// A microsecond mark as a timestamptz, exactly (no floating point).
constexpr char kMarkTime[] = "('epoch'::timestamptz + $1::bigint * interval '1 microsecond')";

CorpusDoc ReviewDoc(const pqxx::row& row) {
  CorpusDoc d;
  d.source = Source::kReview;
  d.id = row[0].as<std::string>();
  d.product_id = row[1].as<std::string>();
  d.customer_id = row[2].as<std::string>();
  d.rating = row[3].as<int>();
  d.text = absl::StrCat(row[4].as<std::string>(), ". ", row[5].as<std::string>());
  d.version = row[6].as<int>();
  d.micros = row[7].as<int64_t>();
  return d;
}

CorpusDoc ContactDoc(const pqxx::row& row) {
  CorpusDoc d;
  d.source = Source::kContact;
  d.id = row[0].as<std::string>();
  d.customer_id = row[1].as<std::string>();
  d.product_id = row[2].as<std::string>();
  d.text =
      absl::StrCat(row[3].as<std::string>(), ". ", row[5].as<std::string>(), ". ", row[4].as<std::string>());
  d.micros = row[6].as<int64_t>();
  return d;
}

}  // namespace

CorpusSync::CorpusSync(postgres::PgPool* pool, CorpusIndex* index, CorpusSyncOptions options,
                       AnalyzerMetrics* metrics)
    : pool_(pool), index_(index), options_(options), metrics_(metrics) {}

CorpusSync::~CorpusSync() { Stop(); }

absl::Status CorpusSync::InitMarks() {
  {
    absl::MutexLock lock(&mu_);
    if (marks_set_) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto r, pool_->Exec("SELECT (extract(epoch FROM now()) * 1000000)::bigint"));
  const int64_t mark = r[0][0].as<int64_t>() - absl::ToInt64Microseconds(options_.commit_allowance);
  absl::MutexLock lock(&mu_);
  if (!marks_set_) {
    review_mark_ = contact_mark_ = mark;
    marks_set_ = true;
  }
  return absl::OkStatus();
}

absl::Status CorpusSync::IndexReviews(const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto r, pool_->Exec(absl::StrCat("SELECT ", kReviewColumns,
                                                    " FROM raw.reviews r WHERE r.id = ANY($1::text[])"),
                                       PgTextArray(ids)));
  std::vector<CorpusDoc> docs;
  docs.reserve(r.size());
  for (const auto& row : r) docs.push_back(ReviewDoc(row));
  index_->UpsertBatch(docs);
  return absl::OkStatus();
}

absl::Status CorpusSync::IndexContacts(const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      auto r, pool_->Exec(absl::StrCat("SELECT ", kContactColumns,
                                       " FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
                                       " WHERE k.id = ANY($1::text[])"),
                          PgTextArray(ids)));
  std::vector<CorpusDoc> docs;
  docs.reserve(r.size());
  for (const auto& row : r) docs.push_back(ContactDoc(row));
  index_->UpsertBatch(docs);
  return absl::OkStatus();
}

absl::Status CorpusSync::SyncAll() {
  const absl::Time start = absl::Now();
  absl::Status st = InitMarks();  // first, so that rows arriving during the scan are refreshed afterwards
  // Walks a table's ids in keyset order (`select` yields id first) and indexes the rows `needed` says the
  // index lacks, a batch at a time.
  auto index_missing = [&](const char* select, auto needed, auto index_ids) -> absl::Status {
    for (std::string after; !stop_.load();) {
      ASSIGN_OR_RETURN(auto rows, pool_->Exec(absl::StrCat(select, " WHERE id > $1 ORDER BY id LIMIT $2"),
                                              after, options_.batch));
      std::vector<std::string> need;
      for (const auto& row : rows) {
        if (needed(row)) need.push_back(row[0].as<std::string>());
      }
      RETURN_IF_ERROR((this->*index_ids)(need));
      if (rows.empty() || static_cast<int>(rows.size()) < options_.batch) break;
      after = rows[rows.size() - 1][0].as<std::string>();
    }
    return absl::OkStatus();
  };
  // Reviews missing or older in the index, by id.
  if (st.ok()) {
    st = index_missing(
        "SELECT id, version, (extract(epoch FROM created_at) * 1000000)::bigint FROM raw.reviews",
        [&](const pqxx::row& row) {
          return index_->IndexedVersion(Source::kReview, row[0].as<std::string>()) < row[1].as<int>() &&
                 index_->WouldKeep(row[2].as<int64_t>());
        },
        &CorpusSync::IndexReviews);
  }
  // Contacts missing from the index (they have no version).
  if (st.ok()) {
    st = index_missing(
        "SELECT id, (extract(epoch FROM started_at) * 1000000)::bigint FROM raw.contacts",
        [&](const pqxx::row& row) {
          return index_->IndexedVersion(Source::kContact, row[0].as<std::string>()) == 0 &&
                 index_->WouldKeep(row[1].as<int64_t>());
        },
        &CorpusSync::IndexContacts);
  }
  metrics_->retrieval_syncs("full", st.ok() ? "ok" : "error").Increment();
  if (!st.ok()) return st;
  if (stop_.load()) return absl::CancelledError("stopping");
  const bool first = !synced_.exchange(true);
  PublishStats();
  const CorpusStats s = index_->stats();
  logging::Info(first ? "retrieval index loaded" : "retrieval index reconciled",
                {{"reviews", static_cast<int64_t>(s.reviews)},
                 {"contacts", static_cast<int64_t>(s.contacts)},
                 {"terms", static_cast<int64_t>(s.terms)},
                 {"approx_mb", static_cast<double>(s.approx_bytes) / (1 << 20)},
                 {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
  return absl::OkStatus();
}

absl::Status CorpusSync::Refresh() {
  if (!refresh_mu_.TryLock()) return absl::OkStatus();  // another refresh is running
  absl::Status st = InitMarks();
  const int64_t allowance = absl::ToInt64Microseconds(options_.commit_allowance);
  // Keyset on (time, id): one transaction's rows share its time, and a batch may end inside them.
  struct Mark {
    int64_t micros;
    std::string id;
  };
  auto advance = [&](const std::string& sql, Mark* mark, auto index) -> absl::Status {
    for (int round = 0; round < 100 && !stop_.load(); ++round) {
      ASSIGN_OR_RETURN(auto now, pool_->Exec("SELECT (extract(epoch FROM now()) * 1000000)::bigint"));
      ASSIGN_OR_RETURN(auto rows, pool_->Exec(sql, mark->micros, mark->id, options_.batch));
      RETURN_IF_ERROR(index(rows));
      if (static_cast<int>(rows.size()) == options_.batch) {
        const auto& last = rows[rows.size() - 1];
        *mark = {last[2].as<int64_t>(), last[0].as<std::string>()};
        continue;
      }
      // Everything up to now is read; rows committed late may still carry a time up to `allowance` ago.
      const int64_t floor = now[0][0].as<int64_t>() - allowance;
      if (floor > mark->micros) *mark = {floor, ""};
      return absl::OkStatus();
    }
    return absl::OkStatus();
  };
  Mark reviews, contacts;
  {
    absl::MutexLock lock(&mu_);
    reviews = {review_mark_, review_mark_id_};
    contacts = {contact_mark_, contact_mark_id_};
  }
  if (st.ok()) {
    st = advance(
        absl::StrCat(
            "SELECT a.review_id, a.review_version, (extract(epoch FROM a.analyzed_at) * 1000000)::bigint"
            " FROM insights.review_analysis a WHERE (a.analyzed_at, a.review_id) > (",
            kMarkTime, ", $2) ORDER BY a.analyzed_at, a.review_id LIMIT $3"),
        &reviews, [&](const pqxx::result& rows) {
          std::vector<std::string> need;
          for (const auto& row : rows) {
            const std::string id = row[0].as<std::string>();
            if (index_->IndexedVersion(Source::kReview, id) < row[1].as<int>()) need.push_back(id);
          }
          return IndexReviews(need);
        });
  }
  if (st.ok()) {
    st = advance(absl::StrCat("SELECT k.id, 1, (extract(epoch FROM k.first_seen_at) * 1000000)::bigint"
                              " FROM raw.contacts k WHERE (k.first_seen_at, k.id) > (",
                              kMarkTime, ", $2) ORDER BY k.first_seen_at, k.id LIMIT $3"),
                 &contacts, [&](const pqxx::result& rows) {
                   std::vector<std::string> need;
                   for (const auto& row : rows) {
                     const std::string id = row[0].as<std::string>();
                     if (index_->IndexedVersion(Source::kContact, id) == 0) need.push_back(id);
                   }
                   return IndexContacts(need);
                 });
  }
  {
    absl::MutexLock lock(&mu_);
    // Marks only move forward (a failed pass keeps what it had read).
    review_mark_ = reviews.micros;
    review_mark_id_ = reviews.id;
    contact_mark_ = contacts.micros;
    contact_mark_id_ = contacts.id;
    last_refresh_ = absl::Now();
  }
  refresh_mu_.Unlock();
  metrics_->retrieval_syncs("refresh", st.ok() ? "ok" : "error").Increment();
  PublishStats();
  return st;
}

void CorpusSync::MaybeRefresh() {
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - last_refresh_ < options_.refresh_interval) return;
  }
  absl::Status st = Refresh();
  if (!st.ok()) logging::Warn("retrieval index refresh failed", {{"error", st}});
}

absl::Status CorpusSync::EnsureScope(bool product, const std::string& id, absl::Time deadline) {
  if (!background_.load()) MaybeRefresh();
  if (synced_.load() || id.empty()) return absl::OkStatus();
  const std::string key = absl::StrCat(product ? "p:" : "c:", id);
  {
    absl::MutexLock lock(&mu_);
    if (loaded_scopes_.contains(key)) return absl::OkStatus();
  }
  // The marks first: rows written after this load are the refresh's.
  RETURN_IF_ERROR(InitMarks());
  std::vector<CorpusDoc> docs;
  absl::Status st = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        docs.clear();
        ASSIGN_OR_RETURN(auto reviews,
                         tx.Exec(absl::StrCat("SELECT ", kReviewColumns, " FROM raw.reviews r WHERE ",
                                              product ? "r.product_id" : "r.customer_id",
                                              " = $1 ORDER BY r.created_at DESC LIMIT $2"),
                                 id, options_.scope_limit));
        for (const auto& row : reviews) docs.push_back(ReviewDoc(row));
        if (product) return absl::OkStatus();
        ASSIGN_OR_RETURN(
            auto contacts,
            tx.Exec(absl::StrCat("SELECT ", kContactColumns,
                                 " FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
                                 " WHERE k.customer_id = $1 ORDER BY k.started_at DESC LIMIT $2"),
                    id, options_.scope_limit));
        for (const auto& row : contacts) docs.push_back(ContactDoc(row));
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline));
  metrics_->retrieval_syncs("scope", st.ok() ? "ok" : "error").Increment();
  if (!st.ok()) return st;
  index_->UpsertBatch(docs);
  absl::MutexLock lock(&mu_);
  loaded_scopes_.insert(key);
  return absl::OkStatus();
}

absl::Status CorpusSync::EnsureProduct(const std::string& product_id, absl::Time deadline) {
  return EnsureScope(true, product_id, deadline);
}
absl::Status CorpusSync::EnsureCustomer(const std::string& customer_id, absl::Time deadline) {
  return EnsureScope(false, customer_id, deadline);
}

void CorpusSync::PublishStats() {
  const CorpusStats s = index_->stats();
  metrics_->retrieval_documents("review").Set(static_cast<double>(s.reviews));
  metrics_->retrieval_documents("contact").Set(static_cast<double>(s.contacts));
  metrics_->retrieval_index_bytes().Set(static_cast<double>(s.approx_bytes));
}

void CorpusSync::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  background_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void CorpusSync::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  background_ = false;
}

void CorpusSync::Loop() {
  absl::Time next_full = absl::InfinitePast();
  absl::Duration retry = absl::Seconds(1);
  while (!stop_.load()) {
    const absl::Time now = absl::Now();
    absl::Duration wait = options_.refresh_interval;
    if (now >= next_full) {
      absl::Status s = SyncAll();
      if (s.ok()) {
        next_full = now + options_.reconcile_interval;
        retry = absl::Seconds(1);
      } else if (!stop_.load()) {
        logging::Warn("retrieval index load failed; will retry", {{"error", s}});
        next_full = now + retry;
        wait = std::min(wait, retry);
        retry = std::min(retry * 2, absl::Minutes(1));
      }
    }
    if (synced_.load()) {
      absl::Status s = Refresh();
      if (!s.ok()) logging::Warn("retrieval index refresh failed", {{"error", s}});
    }
    for (const absl::Time until = absl::Now() + wait; !stop_.load() && absl::Now() < until;)
      absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace marketlens::analyzer::rag
