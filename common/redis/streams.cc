#include "common/redis/streams.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace marketlens::redis {
namespace {

absl::Status Malformed(absl::string_view what, const Reply& reply) {
  return absl::InternalError(absl::StrCat("redis: unexpected ", what, " reply: ", reply.DebugString()));
}

absl::StatusOr<StreamEntry> ParseEntry(const Reply& reply) {
  if (!reply.is_array() || reply.size() != 2 || !reply[0].is_string()) {
    return Malformed("stream entry", reply);
  }
  StreamEntry entry;
  entry.id = reply[0].str();
  const Reply& fields = reply[1];
  if (fields.is_nil()) {
    entry.deleted = true;
    return entry;
  }
  if (!fields.is_array() || fields.size() % 2 != 0) return Malformed("stream fields", reply);
  entry.fields.reserve(fields.size() / 2);
  for (size_t i = 0; i < fields.size(); i += 2) {
    entry.fields.emplace_back(fields[i].str(), fields[i + 1].str());
  }
  return entry;
}

}  // namespace

const std::string* StreamEntry::Find(absl::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::vector<StreamEntry>> ParseStreamEntries(const Reply& reply) {
  std::vector<StreamEntry> entries;
  if (reply.is_nil()) return entries;
  if (!reply.is_array()) return Malformed("stream entries", reply);
  entries.reserve(reply.size());
  for (const Reply& r : reply.elements()) {
    ASSIGN_OR_RETURN(StreamEntry entry, ParseEntry(r));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<StreamEntry>> ParseReadReply(const Reply& reply) {
  if (reply.is_nil()) return std::vector<StreamEntry>();  // BLOCK timed out.
  if (!reply.is_array()) return Malformed("XREADGROUP", reply);
  std::vector<StreamEntry> all;
  for (const Reply& stream : reply.elements()) {
    if (!stream.is_array() || stream.size() != 2) return Malformed("XREADGROUP stream", reply);
    ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(stream[1]));
    for (StreamEntry& e : entries) all.push_back(std::move(e));
  }
  return all;
}

absl::StatusOr<AutoClaimResult> ParseAutoClaimReply(const Reply& reply) {
  if (!reply.is_array() || reply.size() < 2 || !reply[0].is_string()) {
    return Malformed("XAUTOCLAIM", reply);
  }
  AutoClaimResult result;
  result.next_start_id = reply[0].str();
  ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, ParseStreamEntries(reply[1]));
  for (StreamEntry& e : entries) {
    if (e.deleted) {
      result.deleted_ids.push_back(e.id);  // Redis 6.2 reports deleted entries inline.
    } else {
      result.entries.push_back(std::move(e));
    }
  }
  if (reply.size() >= 3 && reply[2].is_array()) {
    for (const Reply& id : reply[2].elements()) result.deleted_ids.push_back(id.str());
  }
  return result;
}

}  // namespace marketlens::redis
