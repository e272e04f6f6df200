#include "services/collector/person_data.h"

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/privacy/person_rows.h"

namespace marketlens::collector {
namespace {

using privacy::v1::EraseUserResponse;
using privacy::v1::ExportUserResponse;

// A refused ingest line names the person when one of its comma-separated cells is their id.
constexpr char kRejectNamesPerson[] =
    "EXISTS (SELECT 1 FROM unnest(string_to_array(r.raw_line, ',')) x WHERE btrim(x, ' \"') = $1)";

}  // namespace

absl::StatusOr<EraseUserResponse> ErasePerson(postgres::PgPool& pool, const std::string& user_id) {
  if (user_id.empty()) return absl::InvalidArgumentError("user_id is required");
  EraseUserResponse out;
  absl::Status s = pool.Transact([&](postgres::Tx& tx) -> absl::Status {
    out.Clear();
    for (const auto& [kind, sql] : std::vector<std::pair<const char*, std::string>>{
             {"raw.customers", "DELETE FROM raw.customers WHERE id = $1"},
             {"raw.contacts", "DELETE FROM raw.contacts WHERE customer_id = $1"},
             {"raw.interactions", "DELETE FROM raw.interactions WHERE customer_id = $1"},
             {"ingest.rejects", absl::StrCat("DELETE FROM ingest.rejects r WHERE ", kRejectNamesPerson)}}) {
      if (auto st = privacy::EraseRows(tx, kind, sql, user_id, &out); !st.ok()) return st;
    }
    // Reviews keep their text; the link to the person becomes a random id per review, stored nowhere.
    auto reviews = tx.Exec(
        "UPDATE raw.reviews SET customer_id = 'erased-' || substr(md5(random()::text || $1), 1, 16) "
        "WHERE customer_id = $1",
        user_id);
    if (!reviews.ok()) return reviews.status();
    privacy::RecordErased("raw.reviews:pseudonymised", reviews->affected_rows(), &out);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<ExportUserResponse> ExportPerson(postgres::PgPool& pool, const std::string& user_id) {
  if (user_id.empty()) return absl::InvalidArgumentError("user_id is required");
  ExportUserResponse out;
  absl::Status s = pool.Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        out.Clear();
        out.set_service("collector");
        for (const auto& [name, sql] : std::vector<std::pair<const char*, std::string>>{
                 {"raw.customers", "SELECT row_to_json(t)::text FROM raw.customers t WHERE t.id = $1"},
                 {"raw.contacts",
                  "SELECT row_to_json(t)::text FROM raw.contacts t WHERE t.customer_id = $1 ORDER BY t.id"},
                 {"raw.interactions",
                  "SELECT row_to_json(t)::text FROM raw.interactions t WHERE t.customer_id = $1 ORDER BY "
                  "t.id"},
                 {"raw.reviews",
                  "SELECT row_to_json(t)::text FROM raw.reviews t WHERE t.customer_id = $1 ORDER BY t.id"},
                 {"ingest.rejects", absl::StrCat("SELECT row_to_json(r)::text FROM ingest.rejects r WHERE ",
                                                 kRejectNamesPerson, " ORDER BY r.id")}}) {
          if (auto st = privacy::ExportRows(tx, name, sql, user_id, &out); !st.ok()) return st;
        }
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = absl::Seconds(30)});
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<RetentionResult> EnforceRetention(postgres::PgPool& pool, absl::Duration keep) {
  if (keep <= absl::ZeroDuration()) return absl::InvalidArgumentError("retention_days must be positive");
  RetentionResult out;
  const int64_t seconds = absl::ToInt64Seconds(keep);
  absl::Status s = pool.Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        auto contacts = tx.Exec(
            "DELETE FROM raw.contacts WHERE started_at < now() - make_interval(secs => $1::bigint)", seconds);
        if (!contacts.ok()) return contacts.status();
        out.contacts = contacts->affected_rows();
        auto interactions = tx.Exec(
            "DELETE FROM raw.interactions WHERE occurred_at < now() - make_interval(secs => $1::bigint)",
            seconds);
        if (!interactions.ok()) return interactions.status();
        out.interactions = interactions->affected_rows();
        return absl::OkStatus();
      },
      {.timeout = absl::Minutes(10)});
  if (!s.ok()) return s;
  return out;
}

RetentionLoop::RetentionLoop(postgres::PgPool* pool, absl::Duration keep, absl::Duration every)
    : pool_(pool), keep_(keep), every_(every) {}

RetentionLoop::~RetentionLoop() { Stop(); }

void RetentionLoop::Start() {
  thread_ = std::thread([this] {
    while (true) {
      auto done = EnforceRetention(*pool_, keep_);
      if (done.ok()) {
        logging::Info("retention enforced",
                      {{"contacts_deleted", done->contacts}, {"interactions_deleted", done->interactions}});
      } else {
        logging::Warn("retention failed; trying again later", {{"error", done.status()}});
      }
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), every_)) return;
    }
  });
}

void RetentionLoop::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace marketlens::collector
