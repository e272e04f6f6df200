// Value types for Redis streams (XADD / XREADGROUP / XAUTOCLAIM), and the parsing of their replies.
// The collector publishes work on a stream and the analyzer consumes it through a consumer group, so that
// an entry read but not yet acknowledged (XACK) is redelivered after a consumer crash.
#ifndef MARKETLENS_COMMON_REDIS_STREAMS_H_
#define MARKETLENS_COMMON_REDIS_STREAMS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/redis/reply.h"

namespace marketlens::redis {

// Field/value pairs of one stream entry, in the order they were added (names may repeat).
using StreamFields = std::vector<std::pair<std::string, std::string>>;

struct StreamEntry {
  std::string id;  // "1700000000000-0"
  StreamFields fields;
  // True for a pending entry whose message was deleted or trimmed away (the server returns nil
  // fields): it can only be acknowledged.
  bool deleted = false;

  // The value of the first field named `name`, or nullptr.
  const std::string* Find(absl::string_view name) const;
  friend bool operator==(const StreamEntry& a, const StreamEntry& b) {
    return a.id == b.id && a.fields == b.fields && a.deleted == b.deleted;
  }
};

struct AutoClaimResult {
  std::string next_start_id;             // "0-0" when the whole pending list was scanned.
  std::vector<StreamEntry> entries;      // Now owned by the claiming consumer.
  std::vector<std::string> deleted_ids;  // Were pending but no longer exist (removed from the PEL).
};

// [[id, [f, v, ...]], ...] -> entries.
absl::StatusOr<std::vector<StreamEntry>> ParseStreamEntries(const Reply& reply);
// XREAD/XREADGROUP reply for a single stream: nil (timeout) or [[stream, entries]].
absl::StatusOr<std::vector<StreamEntry>> ParseReadReply(const Reply& reply);
// XAUTOCLAIM reply: [next, entries, deleted_ids] (Redis >= 7) or [next, entries] (6.2).
absl::StatusOr<AutoClaimResult> ParseAutoClaimReply(const Reply& reply);

}  // namespace marketlens::redis

#endif  // MARKETLENS_COMMON_REDIS_STREAMS_H_
