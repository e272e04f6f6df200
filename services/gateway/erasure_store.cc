#include "services/gateway/erasure_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::gateway {
namespace {

using privacy::v1::Erasure;

constexpr char kErasureColumns[] =
    "id::text, state, requested_by, (extract(epoch FROM requested_at) * 1000000)::bigint, "
    "COALESCE((extract(epoch FROM completed_at) * 1000000)::bigint, 0), array_to_string(steps, ','), "
    "array_to_string(steps_done, ','), "
    "COALESCE((SELECT string_agg(key || '=' || value, ';' ORDER BY key) FROM jsonb_each_text(erased)), ''), "
    "attempts, last_error";

std::vector<std::string> SplitList(const std::string& s, char sep) {
  if (s.empty()) return {};
  return absl::StrSplit(s, sep);
}

Erasure FromRow(const pqxx::row& row) {
  Erasure e;
  e.set_id(row[0].as<std::string>());
  e.set_state(row[1].as<std::string>());
  e.set_requested_by(row[2].as<std::string>());
  *e.mutable_requested_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(row[3].as<int64_t>());
  if (const int64_t done = row[4].as<int64_t>(); done != 0) {
    *e.mutable_completed_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(done);
  }
  const std::vector<std::string> steps = SplitList(row[5].as<std::string>(), ',');
  const std::vector<std::string> done = SplitList(row[6].as<std::string>(), ',');
  for (const std::string& s : steps) {
    if (std::find(done.begin(), done.end(), s) != done.end()) {
      e.add_steps_done(s);
    } else {
      e.add_steps_pending(s);
    }
  }
  for (const std::string& kv : SplitList(row[7].as<std::string>(), ';')) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    privacy::v1::ErasedData* d = e.add_erased();
    d->set_kind(p.first);
    int64_t n = 0;
    (void)absl::SimpleAtoi(p.second, &n);
    d->set_count(n);
  }
  e.set_attempts(row[8].as<int>());
  e.set_last_error(row[9].as<std::string>());
  return e;
}

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Erasure> ErasureStore::Create(const std::string& user_id, const std::string& requested_by,
                                             const std::vector<std::string>& steps) {
  if (user_id.empty()) return absl::InvalidArgumentError("user_id is required");
  Erasure out;
  RETURN_IF_ERROR(pool_->Transact([&](postgres::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        auto tomb,
        tx.Exec(
            "INSERT INTO privacy.tombstones (subject_hash) VALUES (privacy.subject_hash($1)) ON CONFLICT DO "
            "NOTHING",
            user_id));
    ASSIGN_OR_RETURN(auto created,
                     tx.Exec("INSERT INTO privacy.erasures (subject_hash, subject_id, requested_by, steps) "
                             "VALUES (privacy.subject_hash($1), $1, $2, string_to_array($3, ',')) "
                             "ON CONFLICT (subject_hash) WHERE state = 'pending' DO NOTHING",
                             user_id, requested_by, absl::StrJoin(steps, ",")));
    ASSIGN_OR_RETURN(
        auto job, tx.Exec(absl::StrCat("SELECT ", kErasureColumns,
                                       " FROM privacy.erasures WHERE subject_hash = privacy.subject_hash($1) "
                                       "AND state = 'pending'"),
                          user_id));
    if (job.empty()) return absl::InternalError("the erasure job was not created");
    out = FromRow(job[0]);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Erasure> ErasureStore::Get(const std::string& id) {
  if (!LooksLikeUuid(id)) return absl::NotFoundError(absl::StrCat("erasure ", id, " not found"));
  ASSIGN_OR_RETURN(auto r, pool_->Exec(absl::StrCat("SELECT ", kErasureColumns,
                                                    " FROM privacy.erasures WHERE id = $1::uuid"),
                                       id));
  if (r.empty()) return absl::NotFoundError(absl::StrCat("erasure ", id, " not found"));
  return FromRow(r[0]);
}

absl::StatusOr<std::vector<DueErasure>> ErasureStore::ClaimDue(absl::Duration lease, int limit) {
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec(
          "UPDATE privacy.erasures e SET next_try_at = now() + make_interval(secs => $1::double precision) "
          "WHERE e.id IN (SELECT id FROM privacy.erasures WHERE state = 'pending' AND next_try_at <= now() "
          "ORDER BY requested_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
          "RETURNING e.id::text, e.subject_id, array_to_string(e.steps, ','), array_to_string(e.steps_done, "
          "','), "
          "e.attempts",
          absl::ToDoubleSeconds(lease), limit));
  std::vector<DueErasure> out;
  for (const auto& row : r) {
    DueErasure d;
    d.id = row[0].as<std::string>();
    d.subject_id = row[1].is_null() ? "" : row[1].as<std::string>();
    d.steps = SplitList(row[2].as<std::string>(), ',');
    d.steps_done = SplitList(row[3].as<std::string>(), ',');
    d.attempts = row[4].as<int>();
    out.push_back(std::move(d));
  }
  return out;
}

absl::Status ErasureStore::RecordStep(const std::string& id, const std::string& step,
                                      const privacy::v1::EraseUserResponse& erased) {
  nlohmann::json counts = nlohmann::json::object();
  for (const privacy::v1::ErasedData& d : erased.erased())
    counts[absl::StrCat(step, "/", d.kind())] = d.count();
  const std::string kinds = counts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return pool_->Transact([&](postgres::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        auto r,
        tx.Exec(
            "UPDATE privacy.erasures SET steps_done = array_append(steps_done, $2::text), erased = erased || "
            "$3::jsonb, "
            "last_error = '', next_try_at = now() "
            "WHERE id = $1::uuid AND state = 'pending' AND NOT ($2::text = ANY(steps_done))",
            id, step, kinds));
    // The last step: the job becomes the audit record, without the person's id.
    auto done = tx.Exec(
        "UPDATE privacy.erasures SET state = 'completed', completed_at = now(), subject_id = NULL "
        "WHERE id = $1::uuid AND state = 'pending' AND steps_done @> steps",
        id);
    return done.status();
  });
}

absl::Status ErasureStore::RecordFailure(const std::string& id, const std::string& error,
                                         absl::Duration retry_in) {
  auto r = pool_->Exec(
      "UPDATE privacy.erasures SET attempts = attempts + 1, last_error = $2, "
      "next_try_at = now() + make_interval(secs => $3::double precision) WHERE id = $1::uuid AND state = "
      "'pending'",
      id, error.substr(0, 500), absl::ToDoubleSeconds(retry_in));
  return r.status();
}

}  // namespace marketlens::gateway
