#include "services/recommender/serving/experiment_store.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"

namespace marketlens::recommender {
namespace {

using postgres::Tx;

std::string VariantsJson(const std::vector<ExperimentVariantSpec>& variants) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : variants) {
    out.push_back({{"name", v.name}, {"weight", v.weight}, {"model_version", v.model_version}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string StringsJson(const std::vector<std::string>& values) {
  return nlohmann::json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr char kSelect[] =
    "SELECT id, name, description, state, salt, traffic, "
    "extract(epoch FROM created_at)::float8, extract(epoch FROM started_at)::float8, "
    "extract(epoch FROM stopped_at)::float8 FROM recsys.experiments";

absl::Time FromSeconds(double s) { return absl::FromUnixMicros(static_cast<int64_t>(s * 1e6)); }

// Reads the rows of a kSelect result plus their variants and surfaces.
absl::StatusOr<std::vector<ExperimentRow>> ReadRows(Tx& tx, const pqxx::result& rows) {
  std::vector<ExperimentRow> out;
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<std::string> ids;
  for (const auto& r : rows) {
    ExperimentRow row;
    row.spec.id = r[0].as<std::string>();
    row.name = r[1].as<std::string>();
    row.description = r[2].as<std::string>();
    row.state = r[3].as<std::string>();
    row.spec.salt = r[4].as<std::string>();
    row.spec.traffic = r[5].as<double>();
    row.created_at = FromSeconds(r[6].as<double>());
    if (!r[7].is_null()) row.started_at = FromSeconds(r[7].as<double>());
    if (!r[8].is_null()) row.stopped_at = FromSeconds(r[8].as<double>());
    index[row.spec.id] = out.size();
    ids.push_back(row.spec.id);
    out.push_back(std::move(row));
  }
  if (out.empty()) return out;
  const std::string ids_json = StringsJson(ids);
  ASSIGN_OR_RETURN(
      auto variants,
      tx.Exec(
          "SELECT e.id, v->>'name', coalesce((v->>'weight')::float8, 1), coalesce(v->>'model_version', '') "
          "FROM recsys.experiments e, jsonb_array_elements(e.variants) WITH ORDINALITY AS t(v, ord) "
          "WHERE e.id IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY e.id, ord",
          ids_json));
  for (const auto& r : variants) {
    out[index[r[0].as<std::string>()]].spec.variants.push_back(
        {r[1].is_null() ? "" : r[1].as<std::string>(), r[2].as<double>(), r[3].as<std::string>()});
  }
  ASSIGN_OR_RETURN(auto surfaces, tx.Exec("SELECT e.id, s FROM recsys.experiments e, unnest(e.surfaces) AS s "
                                          "WHERE e.id IN (SELECT jsonb_array_elements_text($1::jsonb))",
                                          ids_json));
  for (const auto& r : surfaces)
    out[index[r[0].as<std::string>()]].spec.surfaces.push_back(r[1].as<std::string>());
  return out;
}

absl::StatusOr<ExperimentRow> GetIn(Tx& tx, const std::string& id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(absl::StrCat(kSelect, " WHERE id = $1"), id));
  ASSIGN_OR_RETURN(auto read, ReadRows(tx, rows));
  if (read.empty()) return absl::NotFoundError(absl::StrCat("unknown experiment `", id, "`"));
  return read[0];
}

}  // namespace

absl::StatusOr<ExperimentRow> ExperimentStore::Create(ExperimentRow row) {
  if (row.spec.salt.empty()) row.spec.salt = row.spec.id;
  if (row.spec.traffic == 0) row.spec.traffic = 1;
  if (row.state.empty()) row.state = "draft";
  if (row.state != "draft" && row.state != "running") {
    return absl::InvalidArgumentError("a new experiment is `draft` or `running`");
  }
  RETURN_IF_ERROR(row.spec.Validate());
  ExperimentRow out;
  absl::Status s = pool_->Transact([&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        auto r,
        tx.Exec(
            "INSERT INTO recsys.experiments (id, name, description, variants, state, salt, traffic, "
            "surfaces, "
            "started_at) "
            "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), "
            "CASE WHEN $5 = 'running' THEN now() END)",
            row.spec.id, row.name, row.description, VariantsJson(row.spec.variants), row.state, row.spec.salt,
            row.spec.traffic, StringsJson(row.spec.surfaces)));
    ASSIGN_OR_RETURN(auto got, GetIn(tx, row.spec.id));
    out = std::move(got);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(absl::StrCat("experiment `", row.spec.id, "` already exists"));
  }
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<ExperimentRow>> ExperimentStore::List() {
  std::vector<ExperimentRow> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto rows, tx.Exec(absl::StrCat(kSelect, " ORDER BY created_at, id")));
        ASSIGN_OR_RETURN(auto read, ReadRows(tx, rows));
        out = std::move(read);
        return absl::OkStatus();
      },
      {.read_only = true}));
  return out;
}

absl::StatusOr<ExperimentRow> ExperimentStore::Get(const std::string& id) {
  ExperimentRow out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto got, GetIn(tx, id));
        out = std::move(got);
        return absl::OkStatus();
      },
      {.read_only = true}));
  return out;
}

absl::StatusOr<ExperimentRow> ExperimentStore::SetState(const std::string& id, const std::string& state) {
  if (state != "running" && state != "stopped") {
    return absl::InvalidArgumentError(
        absl::StrCat("state must be `running` or `stopped`, got `", state, "`"));
  }
  ExperimentRow out;
  absl::Status s = pool_->Transact([&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto current,
                     tx.Exec("SELECT state FROM recsys.experiments WHERE id = $1 FOR UPDATE", id));
    if (current.empty()) return absl::NotFoundError(absl::StrCat("unknown experiment `", id, "`"));
    const std::string from = current[0][0].as<std::string>();
    if (from != state) {
      if (from == "stopped" || (from == "running" && state == "running")) {
        return absl::FailedPreconditionError(
            absl::StrCat("experiment `", id, "` is ", from, "; it cannot become ", state));
      }
      ASSIGN_OR_RETURN(
          auto r,
          tx.Exec("UPDATE recsys.experiments SET state = $2, "
                  "started_at = CASE WHEN $2 = 'running' THEN now() ELSE started_at END, "
                  "stopped_at = CASE WHEN $2 = 'stopped' THEN now() ELSE stopped_at END WHERE id = $1",
                  id, state));
    }
    ASSIGN_OR_RETURN(auto got, GetIn(tx, id));
    out = std::move(got);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<ExperimentSpec>> ExperimentStore::Running() {
  std::vector<ExperimentSpec> out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(absl::StrCat(kSelect, " WHERE state = 'running' ORDER BY id")));
        ASSIGN_OR_RETURN(auto read, ReadRows(tx, rows));
        for (auto& r : read) {
          if (r.spec.Validate().ok()) out.push_back(std::move(r.spec));
        }
        return absl::OkStatus();
      },
      {.read_only = true, .timeout = absl::Seconds(5)}));
  return out;
}

absl::StatusOr<std::vector<VariantCounts>> ExperimentStore::Counts(const std::string& id) {
  std::vector<VariantCounts> out;
  absl::Status s = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto row, GetIn(tx, id));
        out.clear();
        absl::flat_hash_map<std::string, size_t> index;
        for (const auto& v : row.spec.variants) {
          index[v.name] = out.size();
          out.push_back({.name = v.name, .model_version = v.model_version});
        }
        ASSIGN_OR_RETURN(
            auto users,
            tx.Exec(
                "SELECT variant, count(*) FROM recsys.assignments WHERE experiment_id = $1 GROUP BY variant",
                id));
        for (const auto& r : users) {
          if (auto it = index.find(r[0].as<std::string>()); it != index.end())
            out[it->second].users = r[1].as<int64_t>();
        }
        ASSIGN_OR_RETURN(
            auto shown,
            tx.Exec(
                "SELECT variant, count(*) FROM recsys.exposures WHERE experiment_id = $1 GROUP BY variant",
                id));
        for (const auto& r : shown) {
          if (auto it = index.find(r[0].as<std::string>()); it != index.end())
            out[it->second].impressions = r[1].as<int64_t>();
        }
        // Conversions count only users assigned to the variant (events carrying a stale variant are ignored).
        ASSIGN_OR_RETURN(
            auto events,
            tx.Exec(
                "SELECT e.variant, count(*) FILTER (WHERE e.event = 'click'), count(*) FILTER (WHERE e.event "
                "= "
                "'purchase'), "
                "count(DISTINCT e.user_id) FILTER (WHERE e.event = 'purchase') "
                "FROM recsys.events e JOIN recsys.assignments a "
                "ON a.experiment_id = e.experiment_id AND a.user_id = e.user_id AND a.variant = e.variant "
                "WHERE e.experiment_id = $1 GROUP BY e.variant",
                id));
        for (const auto& r : events) {
          if (auto it = index.find(r[0].as<std::string>()); it != index.end()) {
            out[it->second].clicks = r[1].as<int64_t>();
            out[it->second].purchases = r[2].as<int64_t>();
            out[it->second].converted_users = r[3].as<int64_t>();
          }
        }
        return absl::OkStatus();
      },
      {.isolation = postgres::IsolationLevel::kRepeatableRead, .read_only = true});
  if (!s.ok()) return s;
  return out;
}

}  // namespace marketlens::recommender
