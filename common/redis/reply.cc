#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace marketlens::redis {

Reply Reply::FromHiredis(const redisReply* reply) {
  if (reply == nullptr) return Reply();
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply->str, reply->len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply->str, reply->len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply->str, reply->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        elements.push_back(FromHiredis(reply->element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return Reply();
  }
}

std::string Reply::DebugString() const {
  switch (type_) {
    case Type::kNil:
      return "nil";
    case Type::kString:
      return absl::StrCat("\"", absl::CEscape(str_), "\"");
    case Type::kStatus:
      return absl::StrCat("+", str_);
    case Type::kError:
      return absl::StrCat("-", str_);
    case Type::kInteger:
      return absl::StrCat(integer_);
    case Type::kArray:
      return absl::StrCat(
          "[",
          absl::StrJoin(elements_, ", ",
                        [](std::string* out, const Reply& r) { out->append(r.DebugString()); }),
          "]");
  }
  return "?";
}

absl::string_view ErrorPrefix(absl::string_view error) {
  size_t space = error.find(' ');
  return space == absl::string_view::npos ? error : error.substr(0, space);
}

absl::Status ErrorReplyToStatus(absl::string_view error) {
  std::string message = absl::StrCat("redis: ", error);
  absl::string_view prefix = ErrorPrefix(error);
  if (prefix == "WRONGTYPE") return absl::FailedPreconditionError(message);
  if (prefix == "NOGROUP" || prefix == "NOSCRIPT") return absl::NotFoundError(message);
  if (prefix == "BUSYGROUP") return absl::AlreadyExistsError(message);
  if (prefix == "NOAUTH" || prefix == "WRONGPASS") return absl::UnauthenticatedError(message);
  if (prefix == "NOPERM") return absl::PermissionDeniedError(message);
  if (prefix == "OOM") return absl::ResourceExhaustedError(message);
  if (prefix == "EXECABORT") return absl::AbortedError(message);
  if (prefix == "LOADING" || prefix == "BUSY" || prefix == "MASTERDOWN" || prefix == "TRYAGAIN" ||
      prefix == "CLUSTERDOWN" || prefix == "READONLY") {
    return absl::UnavailableError(message);
  }
  if (prefix == "ERR") {
    if (absl::StartsWith(error, "ERR unknown command")) return absl::UnimplementedError(message);
    return absl::InvalidArgumentError(message);
  }
  return absl::UnknownError(message);
}

}  // namespace marketlens::redis
