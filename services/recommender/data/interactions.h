// Interaction events as the recommender sees them, whatever their source: MovieLens-style rating files
// (`user item rating timestamp`, u.data), the marketplace's raw.interactions and the feedback in
// recsys.events. Ids are interned (ids.h) so a million events stay compact (24 bytes each).
//
// File formats read here:
//   interactions: one event per line, `user item rating [timestamp]`, separated by tabs, spaces or commas
//                 (u.data is tab-separated; ml-latest's ratings.csv has a header line, which is skipped).
//                 An optional fifth field names the event type (view, click, add_to_cart, purchase, like,
//                 skip, do_not_show, rating); without it every line is a rating.
//   items:        MovieLens u.item (`id|title|date|video date|url|19 genre flags`, genres become the
//                 category and text) or a TSV `item<TAB>category<TAB>title[<TAB>description[<TAB>k=v;k=v]]`.
// A malformed line is an INVALID_ARGUMENT naming the file, the line number and what is wrong.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_INTERACTIONS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_INTERACTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/recommender/data/ids.h"

namespace marketlens::recommender {

enum class EventType : uint8_t {
  kRating = 0,
  kView,
  kClick,
  kAddToCart,
  kPurchase,
  kLike,
  kSkip,
  kDoNotShow,
};
inline constexpr int kEventTypeCount = 8;

// "rating", "view", "click", "add_to_cart", "purchase", "like", "skip", "do_not_show".
absl::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(absl::string_view name);

struct Event {
  int32_t user = 0;
  int32_t item = 0;
  int64_t timestamp = 0;  // seconds since the Unix epoch
  int32_t session = -1;   // index into InteractionLog::sessions, -1: none
  float value = 1;        // the rating for kRating (e.g. 1..5), 1 otherwise
  EventType type = EventType::kRating;
};

struct InteractionLog {
  IdMap users;
  IdMap items;
  IdMap sessions;
  std::vector<Event> events;

  // Adds one event, interning the ids ("" session: none).
  void Add(absl::string_view user, absl::string_view item, EventType type, float value, int64_t timestamp,
           absl::string_view session = "");
  // Earliest and latest timestamps (0, 0 when empty).
  std::pair<int64_t, int64_t> TimeRange() const;
};

// What is known about an item besides its interactions: content features for content-based similarity,
// the category for per-category popularity and diversity.
struct ItemInfo {
  std::string title;
  std::string category;
  std::string brand;
  std::string description;
  std::vector<std::pair<std::string, std::string>> attributes;
};
using ItemCatalog = absl::flat_hash_map<std::string, ItemInfo>;

struct ReadOptions {
  // Lines whose rating is below this are dropped while reading (0 keeps all). With MovieLens data,
  // --min_rating=4 keeps the "liked" ratings only.
  float min_rating = 0;
};

absl::StatusOr<InteractionLog> ReadInteractionsFile(const std::string& path, const ReadOptions& options = {});
// The same from text in memory (`name` is used in error messages).
absl::StatusOr<InteractionLog> ParseInteractions(absl::string_view text, absl::string_view name,
                                                 const ReadOptions& options = {});
// u.data format: `user<TAB>item<TAB>rating<TAB>timestamp` (+ `<TAB>type` for events other than ratings).
std::string FormatUData(const InteractionLog& log);
absl::Status WriteUDataFile(const std::string& path, const InteractionLog& log);

absl::StatusOr<ItemCatalog> ReadItemsFile(const std::string& path);

// The whole file: NOT_FOUND when it cannot be opened, DATA_LOSS when reading fails
// (common/files/read_file.h).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
absl::StatusOr<ItemCatalog> ParseItems(absl::string_view text, absl::string_view name);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_INTERACTIONS_H_
