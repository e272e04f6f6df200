#include "services/collector/crawl_store.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "services/collector/values.h"

namespace marketlens::collector {
namespace {

// Timestamps travel as microseconds since the epoch (exact both ways).
std::string Us(const std::string& column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}
constexpr char kFromUs[] = "('epoch'::timestamptz + (%s)::bigint * interval '1 microsecond')";
std::string FromUs(const std::string& param) { return absl::StrReplaceAll(kFromUs, {{"%s", param}}); }

absl::Time TimeOf(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }
std::optional<absl::Time> OptTimeOf(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return TimeOf(f);
}
std::optional<int64_t> OptUs(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return std::nullopt;
  return absl::ToUnixMicros(*t);
}

std::string CrawlColumns() {
  return absl::StrCat("id::text, mode, state, array_to_string(resources, ','), ", Us("started_at"), ", ",
                      Us("finished_at"), ", ", Us("heartbeat_at"),
                      ", pages, items, retries, errors, rate_limited, resumes, last_error, owner");
}

CrawlRow CrawlFrom(const pqxx::row& r) {
  CrawlRow c;
  c.id = r[0].as<std::string>();
  c.mode = r[1].as<std::string>();
  c.state = r[2].as<std::string>();
  for (absl::string_view s : absl::StrSplit(r[3].as<std::string>(), ',', absl::SkipEmpty())) {
    c.resources.emplace_back(s);
  }
  c.started_at = TimeOf(r[4]);
  c.finished_at = OptTimeOf(r[5]);
  c.heartbeat_at = TimeOf(r[6]);
  c.pages = r[7].as<int64_t>();
  c.items = r[8].as<int64_t>();
  c.retries = r[9].as<int64_t>();
  c.errors = r[10].as<int64_t>();
  c.rate_limited = r[11].as<int64_t>();
  c.resumes = r[12].as<int>();
  c.last_error = r[13].as<std::string>();
  c.owner = r[14].as<std::string>();
  return c;
}

std::string PgTextArray(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& s : items) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    q.push_back('"');
    quoted.push_back(q);
  }
  return absl::StrCat("{", absl::StrJoin(quoted, ","), "}");
}

}  // namespace

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<CrawlRow> CrawlStore::CreateCrawl(const std::string& mode,
                                                 const std::vector<std::string>& resources,
                                                 const std::string& owner) {
  auto r = pool_->Exec(absl::StrCat("INSERT INTO ops.crawls (mode, resources, owner, state) "
                                    "VALUES ($1, $2::text[], $3, 'pending') RETURNING ",
                                    CrawlColumns()),
                       mode, PgTextArray(resources), owner);
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kAlreadyExists) {
      auto active =
          pool_->Exec("SELECT id::text, state FROM ops.crawls WHERE state IN ('pending', 'running')");
      if (active.ok() && !active->empty()) {
        return absl::AlreadyExistsError(absl::StrCat("crawl ", (*active)[0][0].as<std::string>(),
                                                     " is already ", (*active)[0][1].as<std::string>(),
                                                     "; one crawl at a time (cancel it first)"));
      }
      return absl::AlreadyExistsError("another crawl is already active");
    }
    return r.status();
  }
  return CrawlFrom((*r)[0]);
}

absl::StatusOr<CrawlRow> CrawlStore::GetCrawl(const std::string& id) {
  if (!IsUuid(id)) return absl::InvalidArgumentError(absl::StrCat("crawl_id '", id, "' is not a UUID"));
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec(absl::StrCat("SELECT ", CrawlColumns(), " FROM ops.crawls WHERE id = $1::uuid"), id));
  if (r.empty()) return absl::NotFoundError(absl::StrCat("no crawl ", id));
  return CrawlFrom(r[0]);
}

absl::StatusOr<std::vector<CheckpointRow>> CrawlStore::GetCheckpoints(const std::string& id) {
  auto r = pool_->Exec(absl::StrCat("SELECT resource, page_token, pages, items, expected_items, done, ",
                                    Us("watermark"), ", ", Us("since"), ", error, ", Us("updated_at"),
                                    " FROM ops.crawl_checkpoints WHERE crawl_id = $1::uuid"),
                       id);
  if (!r.ok()) return r.status();
  std::vector<CheckpointRow> out;
  for (const auto& row : *r) {
    CheckpointRow c;
    c.resource = row[0].as<std::string>();
    c.page_token = row[1].as<std::string>();
    c.pages = row[2].as<int64_t>();
    c.items = row[3].as<int64_t>();
    c.expected_items = row[4].as<int64_t>();
    c.done = row[5].as<bool>();
    c.watermark = OptTimeOf(row[6]);
    c.since = OptTimeOf(row[7]);
    c.error = row[8].as<std::string>();
    c.updated_at = TimeOf(row[9]);
    out.push_back(std::move(c));
  }
  // In the resources' canonical order.
  std::vector<CheckpointRow> ordered;
  for (const std::string& name : ResourceNames()) {
    for (auto& c : out) {
      if (c.resource == name) ordered.push_back(c);
    }
  }
  return ordered;
}

absl::StatusOr<std::vector<CrawlRow>> CrawlStore::ListCrawls(
    int limit, std::optional<std::pair<absl::Time, std::string>> after) {
  absl::StatusOr<pqxx::result> r;
  if (after.has_value()) {
    r = pool_->Exec(absl::StrCat("SELECT ", CrawlColumns(), " FROM ops.crawls WHERE (started_at, id) < (",
                                 FromUs("$1"), ", $2::uuid) ORDER BY started_at DESC, id DESC LIMIT $3"),
                    absl::ToUnixMicros(after->first), after->second, limit);
  } else {
    r = pool_->Exec(absl::StrCat("SELECT ", CrawlColumns(),
                                 " FROM ops.crawls ORDER BY started_at DESC, id DESC LIMIT $1"),
                    limit);
  }
  if (!r.ok()) return r.status();
  std::vector<CrawlRow> out;
  for (const auto& row : *r) out.push_back(CrawlFrom(row));
  return out;
}

absl::StatusOr<bool> CrawlStore::Claim(const std::string& id, const std::string& owner,
                                       absl::Duration lease) {
  auto r = pool_->Exec(
      "UPDATE ops.crawls SET state = 'running', owner = $2, heartbeat_at = now(), "
      "  resumes = resumes + CASE WHEN state = 'running' THEN 1 ELSE 0 END "
      "WHERE id = $1::uuid AND ("
      "  (state = 'pending' AND (owner = $2 OR owner = '' OR heartbeat_at < now() - make_interval(secs => "
      "$3))) OR"
      "  (state = 'running' AND (owner = $2 OR heartbeat_at < now() - make_interval(secs => $3)))) "
      "RETURNING 1",
      id, owner, absl::ToDoubleSeconds(lease));
  if (!r.ok()) return r.status();
  return !r->empty();
}

absl::StatusOr<std::vector<std::string>> CrawlStore::FindClaimable(const std::string& owner,
                                                                   absl::Duration lease) {
  auto r = pool_->Exec(
      "SELECT id::text FROM ops.crawls WHERE state IN ('pending', 'running') AND "
      "(owner = $1 OR owner = '' OR heartbeat_at < now() - make_interval(secs => $2)) ORDER BY started_at",
      owner, absl::ToDoubleSeconds(lease));
  if (!r.ok()) return r.status();
  std::vector<std::string> ids;
  for (const auto& row : *r) ids.push_back(row[0].as<std::string>());
  return ids;
}

absl::StatusOr<bool> CrawlStore::Heartbeat(const std::string& id, const std::string& owner) {
  auto r = pool_->Exec(
      "UPDATE ops.crawls SET heartbeat_at = now() WHERE id = $1::uuid AND owner = $2 AND state = 'running' "
      "RETURNING 1",
      id, owner);
  if (!r.ok()) return r.status();
  return !r->empty();
}

absl::Status CrawlStore::ReleaseLease(const std::string& id, const std::string& owner) {
  return pool_
      ->Exec(
          "UPDATE ops.crawls SET heartbeat_at = 'epoch' WHERE id = $1::uuid AND owner = $2 AND state = "
          "'running'",
          id, owner)
      .status();
}

absl::StatusOr<std::optional<absl::Time>> CrawlStore::IncrementalSince(const std::string& resource) {
  auto r = pool_->Exec(
      absl::StrCat("SELECT ", Us("max(watermark)"),
                   " FROM ops.crawl_checkpoints WHERE resource = $1 AND done AND watermark IS NOT NULL"),
      resource);
  if (!r.ok()) return r.status();
  return OptTimeOf((*r)[0][0]);
}

absl::Status CrawlStore::InitCheckpoints(const std::string& id,
                                         const std::vector<CheckpointRow>& checkpoints) {
  return pool_->Transact([&](postgres::Tx& tx) -> absl::Status {
    for (const CheckpointRow& c : checkpoints) {
      auto r =
          tx.Exec(absl::StrCat("INSERT INTO ops.crawl_checkpoints (crawl_id, resource, since, watermark, "
                               "expected_items) VALUES ($1::uuid, $2, ",
                               FromUs("$3"), ", ", FromUs("$4"), ", $5) ON CONFLICT DO NOTHING"),
                  id, c.resource, OptUs(c.since), OptUs(c.watermark), c.expected_items);
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  });
}

absl::Status CrawlStore::ResetCheckpoint(const std::string& id, const std::string& resource) {
  return pool_
      ->Exec(
          "UPDATE ops.crawl_checkpoints SET page_token = '', updated_at = now() "
          "WHERE crawl_id = $1::uuid AND resource = $2",
          id, resource)
      .status();
}

absl::StatusOr<PageWriteResult> CrawlStore::StorePage(const PageWrite& w) {
  PageWriteResult result;
  absl::Status status = pool_->Transact([&](postgres::Tx& tx) -> absl::Status {
    result = PageWriteResult();
    auto owned = tx.Exec(
        "UPDATE ops.crawls SET pages = pages + 1, items = items + $2, retries = retries + $3, "
        "rate_limited = rate_limited + $4, heartbeat_at = now() "
        "WHERE id = $1::uuid AND state = 'running' AND owner = $5 RETURNING 1",
        w.crawl_id, w.items, w.retries, w.rate_limited, w.owner);
    if (!owned.ok()) return owned.status();
    if (owned->empty()) {
      result.owned = false;
      return absl::OkStatus();
    }
    if (w.items > 0) {
      absl::StatusOr<pqxx::result> stored = w.resource->store_uses_crawl_id
                                                ? tx.Exec(w.resource->store_sql, w.items_json, w.crawl_id)
                                                : tx.Exec(w.resource->store_sql, w.items_json);
      if (!stored.ok()) return stored.status();
      result.affected = static_cast<int64_t>(stored->size());
    }
    auto cp = tx.Exec(
        "UPDATE ops.crawl_checkpoints SET page_token = $3, pages = pages + 1, items = items + $4, done = $5, "
        "error = '', updated_at = now() WHERE crawl_id = $1::uuid AND resource = $2",
        w.crawl_id, w.resource->name, w.next_page_token, w.items, w.next_page_token.empty());
    return cp.status();
  });
  if (!status.ok()) return status;
  return result;
}

absl::Status CrawlStore::RecordPageFailure(const std::string& id, const std::string& resource,
                                           const std::string& page_token, int attempts,
                                           const absl::Status& error, int64_t retries, int64_t rate_limited) {
  const std::string message = SanitizeUtf8(error.message(), 2000);
  const std::string summary = SanitizeUtf8(absl::StrCat(resource, ": ", error.ToString()), 2000);
  return pool_->Transact([&](postgres::Tx& tx) -> absl::Status {
    auto a = tx.Exec(
        "INSERT INTO ops.crawl_errors (crawl_id, resource, page_token, attempts, code, message) "
        "VALUES ($1::uuid, $2, $3, $4, $5, $6)",
        id, resource, page_token, attempts, absl::StatusCodeToString(error.code()), message);
    if (!a.ok()) return a.status();
    auto b = tx.Exec(
        "UPDATE ops.crawl_checkpoints SET error = $3, updated_at = now() WHERE crawl_id = $1::uuid AND "
        "resource = $2",
        id, resource, summary);
    if (!b.ok()) return b.status();
    return tx
        .Exec(
            "UPDATE ops.crawls SET errors = errors + 1, last_error = $2, retries = retries + $3, "
            "rate_limited = rate_limited + $4 WHERE id = $1::uuid",
            id, summary, retries, rate_limited)
        .status();
  });
}

absl::StatusOr<bool> CrawlStore::Finish(const std::string& id, const std::string& owner,
                                        const std::string& state, const std::string& last_error) {
  auto r = pool_->Exec(
      "UPDATE ops.crawls SET state = $3, finished_at = now(), "
      "last_error = CASE WHEN $4 <> '' THEN $4 ELSE last_error END "
      "WHERE id = $1::uuid AND owner = $2 AND state = 'running' RETURNING 1",
      id, owner, state, SanitizeUtf8(last_error, 2000));
  if (!r.ok()) return r.status();
  return !r->empty();
}

absl::StatusOr<CrawlRow> CrawlStore::Cancel(const std::string& id) {
  if (!IsUuid(id)) return absl::InvalidArgumentError(absl::StrCat("crawl_id '", id, "' is not a UUID"));
  auto r = pool_->Exec(absl::StrCat("UPDATE ops.crawls SET state = 'cancelled', finished_at = now() "
                                    "WHERE id = $1::uuid AND state IN ('pending', 'running') RETURNING ",
                                    CrawlColumns()),
                       id);
  if (!r.ok()) return r.status();
  if (!r->empty()) return CrawlFrom((*r)[0]);
  ASSIGN_OR_RETURN(auto crawl, GetCrawl(id));
  if (crawl.state == "cancelled") return crawl;
  return absl::FailedPreconditionError(absl::StrCat("crawl ", id, " already ", crawl.state));
}

absl::StatusOr<std::map<std::string, absl::Time>> CrawlStore::LastCompletedWalks() {
  auto r = pool_->Exec(absl::StrCat("SELECT resource, ", Us("max(updated_at)"),
                                    " FROM ops.crawl_checkpoints WHERE done GROUP BY resource"));
  if (!r.ok()) return r.status();
  std::map<std::string, absl::Time> out;
  for (const auto& row : *r) out[row[0].as<std::string>()] = TimeOf(row[1]);
  return out;
}

int64_t EstimateEtaSeconds(const std::vector<CheckpointRow>& checkpoints, double rate_per_second,
                           int page_size) {
  int64_t pages = 0;
  for (const CheckpointRow& c : checkpoints) {
    if (c.done || !c.error.empty()) continue;
    if (c.since.has_value()) return -1;  // an incremental walk: its size is not known ahead
    const int64_t remaining = std::max<int64_t>(0, c.expected_items - c.items);
    pages += std::max<int64_t>(1, (remaining + page_size - 1) / page_size);
  }
  if (rate_per_second <= 0) return -1;
  return static_cast<int64_t>(std::ceil(static_cast<double>(pages) / rate_per_second));
}

}  // namespace marketlens::collector
