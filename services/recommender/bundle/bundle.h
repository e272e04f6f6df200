// ModelBundle: everything the serving path needs from one training run, as one versioned artifact file.
//   - ids of the users and items it knows, each user's history (weights and the strongest event kind per
//     item, for "because you bought X" reasons and the already-bought rule);
//   - ALS factors (personal scores; fold-in of new feedback), item-kNN neighbour lists (session context,
//     SimilarItems, reasons), co-purchase lists (FrequentlyBoughtTogether);
//   - popularity tables: all time, the most recent window ("this week"), per part of the day and per
//     region, for cold start in context;
//   - NCF's scoring parts when the algorithm is "ncf";
//   - the blend weights and the registry metadata (algorithm, data window, parameters, offline metrics).
// File format: "MLRECB01", payload length, FNV-1a-64 checksum of the payload, then the payload (fields in
// a fixed order, little-endian). Format 2 appends the NCF section; format 1 files still load (no NCF). A
// truncated or corrupted file is DATA_LOSS, never a crash, so a bad artifact can not take the serving path
// down: it keeps the model it has.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_BUNDLE_H_
#define MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_BUNDLE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/recommender/data/ids.h"
#include "services/recommender/data/matrix.h"

namespace marketlens::recommender {

// The strongest thing a user did with an item (ordered: a later kind outranks an earlier one).
enum class ItemKind : uint8_t { kNone = 0, kViewed, kRated, kLiked, kCarted, kBought };
inline constexpr int kItemKinds = 6;      // the values above
const char* ItemKindVerb(ItemKind kind);  // "viewed", "rated", "liked", "added to cart", "bought"

inline constexpr int kDayparts = 4;  // night 0-6, morning 6-12, afternoon 12-18, evening 18-24 (UTC hours)
int DaypartOfHour(int hour);
const char* DaypartName(int daypart);  // "at night", "this morning", "this afternoon", "this evening"

struct ModelBundle {
  // Registry metadata.
  std::string version;
  std::string algorithm;   // "hybrid", "als", "item_knn", "popularity"
  int64_t trained_at = 0;  // unix seconds
  int64_t data_from = 0;
  int64_t data_to = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;

  IdMap users;
  IdMap items;
  CsrMatrix user_items;                    // users x items, weights
  std::vector<uint8_t> user_item_kind;     // parallel to user_items.values (ItemKind)
  std::vector<std::string> item_category;  // at training time ("" unknown)

  // ALS (factors == 0: none).
  int32_t factors = 0;
  float als_alpha = 0;
  float als_regularization = 0;
  std::vector<float> user_factors;  // users x factors, row-major
  std::vector<float> item_factors;  // items x factors

  CsrMatrix item_neighbors;  // item-kNN, best first
  CsrMatrix copurchase;      // co-purchase lift lists, best first

  std::vector<float> pop_all;
  std::vector<float> pop_recent;
  int64_t recent_window_seconds = 0;
  std::array<std::vector<float>, kDayparts> pop_daypart;
  std::map<std::string, std::vector<float>> pop_region;

  // NCF (ncf_factors == 0: none; algo/ncf.h NcfScorer's parts). When present it gives the personal
  // collaborative score instead of the factor dot product (w_als weighs it).
  int32_t ncf_factors = 0;
  int32_t ncf_hidden = 0;
  std::vector<float> ncf_user_gmf;     // users x ncf_factors
  std::vector<float> ncf_user_hidden;  // users x ncf_hidden
  std::vector<float> ncf_item_gmf;     // items x ncf_factors
  std::vector<float> ncf_item_hidden;  // items x ncf_hidden
  std::vector<float> ncf_w_mlp;        // ncf_hidden
  std::vector<float> ncf_item_bias;    // items

  // Blend of the personal score (normalised per signal).
  float w_als = 1;
  float w_item_knn = 0.5f;
  float w_popularity = 0.1f;

  int32_t num_users() const { return users.size(); }
  int32_t num_items() const { return items.size(); }
  // Checks that every array has the size the ids imply (after loading or building).
  absl::Status Validate() const;
};

std::string SerializeBundle(const ModelBundle& bundle);
absl::StatusOr<ModelBundle> ParseBundle(const std::string& bytes);

// Writes to `path` atomically (temp file, fsync, rename), creating no directories.
absl::Status WriteBundleFile(const ModelBundle& bundle, const std::string& path);
absl::StatusOr<ModelBundle> ReadBundleFile(const std::string& path);
// The same for raw artifact bytes (local caches of artifacts stored in Postgres).
absl::Status WriteFileAtomically(const std::string& bytes, const std::string& path);
// NOT_FOUND when absent, UNAVAILABLE when reading fails (common/files/read_file.h).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// "file:///a/b" or "/a/b" -> "/a/b"; other schemes are UNIMPLEMENTED here (artifacts stored in Postgres,
// "pg://recsys.model_artifacts/<version>", are read through store/artifact_store.h).
absl::StatusOr<std::string> ArtifactPath(const std::string& uri);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_BUNDLE_BUNDLE_H_
