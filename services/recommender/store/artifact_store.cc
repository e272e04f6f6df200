#include "services/recommender/store/artifact_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/migrate/sha256.h"
#include "common/status/macros.h"

namespace marketlens::recommender {

std::string PgArtifactUri(absl::string_view version) { return absl::StrCat(kPgArtifactPrefix, version); }

std::optional<std::string> PgArtifactVersion(absl::string_view uri) {
  if (!absl::StartsWith(uri, kPgArtifactPrefix)) return std::nullopt;
  std::string version(uri.substr(sizeof(kPgArtifactPrefix) - 1));
  if (version.empty()) return std::nullopt;
  return version;
}

std::string ArtifactChecksum(absl::string_view bytes) { return migrate::Sha256Hex(bytes); }

absl::Status ArtifactStore::PutIn(postgres::Tx& tx, const std::string& version, const std::string& bytes,
                                  int64_t chunk_bytes) {
  if (version.empty()) return absl::InvalidArgumentError("artifact: version is required");
  if (chunk_bytes < 1) return absl::InvalidArgumentError("artifact: chunk_bytes must be >= 1");
  const std::string sha = ArtifactChecksum(bytes);
  const int64_t chunks = (static_cast<int64_t>(bytes.size()) + chunk_bytes - 1) / chunk_bytes;
  ASSIGN_OR_RETURN(auto existing,
                   tx.Exec("SELECT sha256 FROM recsys.model_artifacts WHERE version = $1", version));
  if (!existing.empty()) {
    if (existing[0][0].as<std::string>() == sha) return absl::OkStatus();
    return absl::AlreadyExistsError(
        absl::StrCat("model version `", version, "` already has a different artifact"));
  }
  ASSIGN_OR_RETURN(auto header, tx.Exec("INSERT INTO recsys.model_artifacts (version, size_bytes, sha256, "
                                        "chunks) VALUES ($1, $2, $3, $4)",
                                        version, static_cast<int64_t>(bytes.size()), sha, chunks));
  for (int64_t seq = 0; seq < chunks; ++seq) {
    const size_t from = static_cast<size_t>(seq * chunk_bytes);
    const size_t len = std::min(bytes.size() - from, static_cast<size_t>(chunk_bytes));
    // Binary parameter: no escaping, no doubling in transit.
    ASSIGN_OR_RETURN(
        auto r, tx.Exec("INSERT INTO recsys.model_artifact_chunks (version, seq, data) VALUES "
                        "($1, $2, $3)",
                        version, static_cast<int32_t>(seq), pqxx::binarystring(bytes.data() + from, len)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ArtifactInfo> ArtifactStore::Stat(const std::string& version) {
  ASSIGN_OR_RETURN(auto rows, pool_->Exec("SELECT size_bytes, sha256, chunks, extract(epoch FROM "
                                          "created_at)::float8 FROM recsys.model_artifacts "
                                          "WHERE version = $1",
                                          version));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("model version `", version, "` has no stored artifact"));
  }
  const pqxx::row& row = rows[0];
  ArtifactInfo info;
  info.version = version;
  info.size_bytes = row[0].as<int64_t>();
  info.sha256 = row[1].as<std::string>();
  info.chunks = row[2].as<int32_t>();
  info.created_at = absl::FromUnixMicros(static_cast<int64_t>(row[3].as<double>() * 1e6));
  return info;
}

absl::StatusOr<std::string> ArtifactStore::Get(const std::string& version) {
  std::string bytes;
  ArtifactInfo info;
  // One snapshot for the header and every chunk; one chunk per statement keeps each result small.
  RETURN_IF_ERROR(pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        bytes.clear();
        ASSIGN_OR_RETURN(auto header, tx.Exec("SELECT size_bytes, sha256, chunks FROM recsys.model_artifacts "
                                              "WHERE version = $1",
                                              version));
        if (header.empty()) {
          return absl::NotFoundError(absl::StrCat("model version `", version, "` has no stored artifact"));
        }
        info.size_bytes = header[0][0].as<int64_t>();
        info.sha256 = header[0][1].as<std::string>();
        info.chunks = header[0][2].as<int32_t>();
        bytes.reserve(static_cast<size_t>(std::max<int64_t>(info.size_bytes, 0)));
        for (int32_t seq = 0; seq < info.chunks; ++seq) {
          ASSIGN_OR_RETURN(auto chunk,
                           tx.Exec("SELECT data FROM recsys.model_artifact_chunks WHERE version = "
                                   "$1 AND seq = $2",
                                   version, seq));
          if (chunk.empty()) {
            return absl::DataLossError(
                absl::StrCat("artifact of `", version, "`: chunk ", seq, " of ", info.chunks, " is missing"));
          }
          const pqxx::binarystring data(chunk[0][0]);
          bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
        }
        return absl::OkStatus();
      },
      {.isolation = postgres::IsolationLevel::kRepeatableRead,
       .read_only = true,
       .timeout = options_.timeout}));
  if (static_cast<int64_t>(bytes.size()) != info.size_bytes) {
    return absl::DataLossError(absl::StrCat("artifact of `", version, "` has ", bytes.size(),
                                            " bytes, the registry recorded ", info.size_bytes));
  }
  if (ArtifactChecksum(bytes) != info.sha256) {
    return absl::DataLossError(absl::StrCat("artifact of `", version, "` fails its SHA-256 check"));
  }
  return bytes;
}

absl::StatusOr<bool> ArtifactStore::Delete(const std::string& version) {
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec("DELETE FROM recsys.model_artifacts WHERE version = $1 RETURNING version", version));
  return !r.empty();
}

}  // namespace marketlens::recommender
