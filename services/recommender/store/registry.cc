#include "services/recommender/store/registry.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/recommender/store/artifact_store.h"

namespace marketlens::recommender {
namespace {

using postgres::Tx;

constexpr char kSelect[] =
    "SELECT version, algorithm, extract(epoch FROM trained_at)::float8, extract(epoch FROM "
    "data_from)::float8, "
    "extract(epoch FROM data_to)::float8, artifact_uri, promoted, "
    "(SELECT coalesce(json_agg(json_build_array(key, value)), '[]')::text FROM jsonb_each_text(params)), "
    "(SELECT coalesce(json_agg(json_build_array(key, value)), '[]')::text FROM jsonb_each_text(metrics)) "
    "FROM recsys.models";

// Parses the [[key, value], ...] text built by kSelect (strings only; values are JSON strings).
std::vector<std::pair<std::string, std::string>> ParsePairs(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> strings;
  std::string current;
  bool in = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in) {
      if (c == '"') {
        in = true;
        current.clear();
      }
      continue;
    }
    if (c == '\\' && i + 1 < text.size()) {
      const char e = text[++i];
      switch (e) {
        case 'n':
          current.push_back('\n');
          break;
        case 't':
          current.push_back('\t');
          break;
        case 'r':
          current.push_back('\r');
          break;
        case 'b':
          current.push_back('\b');
          break;
        case 'f':
          current.push_back('\f');
          break;
        case 'u': {
          // Only ASCII escapes are produced for our own keys; anything else is kept as '?'.
          unsigned v = 0;
          if (i + 4 < text.size() && absl::SimpleHexAtoi(text.substr(i + 1, 4), &v) && v < 0x80) {
            current.push_back(static_cast<char>(v));
          } else {
            current.push_back('?');
          }
          i += 4;
          break;
        }
        default:
          current.push_back(e);
      }
      continue;
    }
    if (c == '"') {
      in = false;
      strings.push_back(current);
      continue;
    }
    current.push_back(c);
  }
  for (size_t i = 0; i + 1 < strings.size(); i += 2) out.emplace_back(strings[i], strings[i + 1]);
  return out;
}

ModelRecord FromRow(const pqxx::row& row) {
  ModelRecord r;
  r.version = row[0].as<std::string>();
  r.algorithm = row[1].as<std::string>();
  r.trained_at = absl::FromUnixMicros(static_cast<int64_t>(row[2].as<double>() * 1e6));
  if (!row[3].is_null()) r.data_from = absl::FromUnixSeconds(static_cast<int64_t>(row[3].as<double>()));
  if (!row[4].is_null()) r.data_to = absl::FromUnixSeconds(static_cast<int64_t>(row[4].as<double>()));
  r.artifact_uri = row[5].as<std::string>();
  r.promoted = row[6].as<bool>();
  for (auto& [k, v] : ParsePairs(row[7].as<std::string>())) r.params[k] = v;
  for (auto& [k, v] : ParsePairs(row[8].as<std::string>())) {
    double d = 0;
    if (absl::SimpleAtod(v, &d)) r.metrics[k] = d;
  }
  return r;
}

absl::StatusOr<ModelRecord> GetIn(Tx& tx, const std::string& version) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(absl::StrCat(kSelect, " WHERE version = $1"), version));
  if (rows.empty())
    return absl::NotFoundError(absl::StrCat("model version `", version, "` is not registered"));
  return FromRow(rows[0]);
}

absl::Status SetPromoted(Tx& tx, const std::string& version, const char* reason) {
  RETURN_IF_ERROR(
      tx.Exec("UPDATE recsys.models SET promoted = false WHERE promoted AND version <> $1", version));
  RETURN_IF_ERROR(tx.Exec("UPDATE recsys.models SET promoted = true WHERE version = $1", version));
  RETURN_IF_ERROR(tx.Exec("INSERT INTO recsys.model_promotions (version, reason) VALUES ($1, $2)", version,
                          std::string(reason)));
  return absl::OkStatus();
}

}  // namespace

std::string ParamsToJson(const std::map<std::string, std::string>& params) {
  return nlohmann::json(params).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::ordered_json MetricsJson(const std::map<std::string, double>& metrics) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metrics) {
    if (std::isfinite(v)) out[k] = v;  // JSON has no NaN or infinity
  }
  return out;
}

std::string MetricsToJson(const std::map<std::string, double>& metrics) {
  return MetricsJson(metrics).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ModelRecord RecordFromBundle(const ModelBundle& b, const std::string& artifact_uri) {
  ModelRecord r;
  r.version = b.version;
  r.algorithm = b.algorithm;
  r.trained_at = absl::FromUnixSeconds(b.trained_at);
  if (b.data_from != 0 || b.data_to != 0) {
    r.data_from = absl::FromUnixSeconds(b.data_from);
    r.data_to = absl::FromUnixSeconds(b.data_to);
  }
  r.params = b.params;
  r.metrics = b.metrics;
  r.artifact_uri = artifact_uri;
  return r;
}

namespace {

absl::Status RegisterIn(Tx& tx, const ModelRecord& r) {
  if (r.version.empty() || r.artifact_uri.empty()) {
    return absl::InvalidArgumentError("registry: version and artifact_uri are required");
  }
  std::optional<double> from, to;
  if (r.data_from) from = absl::ToDoubleSeconds(*r.data_from - absl::UnixEpoch());
  if (r.data_to) to = absl::ToDoubleSeconds(*r.data_to - absl::UnixEpoch());
  auto result = tx.Exec(
      "INSERT INTO recsys.models (version, algorithm, trained_at, data_from, data_to, params, metrics, "
      "artifact_uri) "
      "VALUES ($1, $2, to_timestamp($3), to_timestamp($4), to_timestamp($5), $6::jsonb, $7::jsonb, $8)",
      r.version, r.algorithm, absl::ToDoubleSeconds(r.trained_at - absl::UnixEpoch()), from, to,
      ParamsToJson(r.params), MetricsToJson(r.metrics), r.artifact_uri);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kAlreadyExists) {
      return absl::AlreadyExistsError(absl::StrCat("model version `", r.version, "` is already registered"));
    }
    return result.status();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ModelRegistry::Register(const ModelRecord& r) {
  return pool_->Transact([&](Tx& tx) { return RegisterIn(tx, r); });
}

absl::StatusOr<ModelRecord> ModelRegistry::RegisterWithArtifact(const ModelBundle& bundle) {
  if (bundle.version.empty()) return absl::InvalidArgumentError("registry: the bundle has no version");
  ModelRecord record = RecordFromBundle(bundle, PgArtifactUri(bundle.version));
  const std::string bytes = SerializeBundle(bundle);
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        RETURN_IF_ERROR(RegisterIn(tx, record));
        return ArtifactStore::PutIn(tx, bundle.version, bytes);
      },
      {.timeout = absl::Minutes(2)}));
  return record;
}

absl::StatusOr<std::vector<ModelRecord>> ModelRegistry::List() {
  ASSIGN_OR_RETURN(auto rows, pool_->Exec(absl::StrCat(kSelect, " ORDER BY trained_at DESC, version DESC")));
  std::vector<ModelRecord> out;
  for (const auto& row : rows) out.push_back(FromRow(row));
  return out;
}

absl::StatusOr<ModelRecord> ModelRegistry::Get(const std::string& version) {
  ModelRecord out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto r, GetIn(tx, version));
        out = std::move(r);
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = absl::Seconds(5)}));
  return out;
}

absl::StatusOr<std::optional<ModelRecord>> ModelRegistry::Promoted() {
  ASSIGN_OR_RETURN(auto rows, pool_->Exec(absl::StrCat(kSelect, " WHERE promoted")));
  if (rows.empty()) return std::optional<ModelRecord>();
  return std::optional<ModelRecord>(FromRow(rows[0]));
}

absl::StatusOr<ModelRecord> ModelRegistry::Promote(const std::string& version) {
  ModelRecord out;
  RETURN_IF_ERROR(pool_->Transact([&](Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock($1)", kPromotionLockKey));
    ASSIGN_OR_RETURN(auto record, GetIn(tx, version));
    if (!record.promoted) {
      RETURN_IF_ERROR(SetPromoted(tx, version, "promote"));
      record.promoted = true;
    }
    out = std::move(record);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ModelRecord> ModelRegistry::Rollback() {
  ModelRecord out;
  RETURN_IF_ERROR(pool_->Transact([&](Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock($1)", kPromotionLockKey));
    ASSIGN_OR_RETURN(auto stack, tx.Exec("SELECT id, version FROM recsys.model_promotions WHERE reason = "
                                         "'promote' AND rolled_back_at IS NULL "
                                         "ORDER BY id DESC LIMIT 2"));
    if (stack.size() < 2) {
      return absl::FailedPreconditionError("no earlier promoted model to roll back to");
    }
    const int64_t top = stack[0][0].as<int64_t>();
    const std::string target = stack[1][1].as<std::string>();
    RETURN_IF_ERROR(tx.Exec("UPDATE recsys.model_promotions SET rolled_back_at = now() WHERE id = $1", top));
    RETURN_IF_ERROR(SetPromoted(tx, target, "rollback"));
    ASSIGN_OR_RETURN(auto record, GetIn(tx, target));
    out = std::move(record);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<ModelRecord>> ModelRegistry::Prune(int keep) {
  if (keep < 1) return absl::InvalidArgumentError("prune: keep must be >= 1");
  std::vector<ModelRecord> deleted;
  RETURN_IF_ERROR(pool_->Transact([&](Tx& tx) -> absl::Status {
    deleted.clear();
    RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock($1)", kPromotionLockKey));
    // Versions a running experiment serves.
    ASSIGN_OR_RETURN(
        auto rows,
        tx.Exec(absl::StrCat(
                    kSelect,
                    " WHERE NOT promoted AND version NOT IN (SELECT version FROM recsys.models ORDER BY "
                    "trained_at DESC, "
                    "version DESC LIMIT $1) AND version NOT IN (SELECT v->>'model_version' FROM "
                    "recsys.experiments e, "
                    "jsonb_array_elements(e.variants) v WHERE e.state = 'running' AND v ? 'model_version')"),
                keep));
    for (const auto& row : rows) {
      ModelRecord r = FromRow(row);
      RETURN_IF_ERROR(tx.Exec("DELETE FROM recsys.model_promotions WHERE version = $1", r.version));
      // Its stored artifact (ON DELETE CASCADE would do it too; explicit so the intent reads here).
      RETURN_IF_ERROR(tx.Exec("DELETE FROM recsys.model_artifacts WHERE version = $1", r.version));
      RETURN_IF_ERROR(tx.Exec("DELETE FROM recsys.models WHERE version = $1", r.version));
      deleted.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace marketlens::recommender
