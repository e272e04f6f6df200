// A Redis reply as a plain value (nil / string / integer / array / status / error), copied out of hiredis'
// redisReply so that callers never touch hiredis memory, plus the mapping of Redis error replies to
// absl::Status codes. Strings are binary-safe (std::string with explicit length, embedded NULs kept).
#ifndef MARKETLENS_COMMON_REDIS_REPLY_H_
#define MARKETLENS_COMMON_REDIS_REPLY_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

struct redisReply;

namespace marketlens::redis {

class Reply {
 public:
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };

  Reply() = default;  // nil
  static Reply Nil() { return Reply(); }
  static Reply String(std::string s) { return Reply(Type::kString, std::move(s)); }
  static Reply Status(std::string s) { return Reply(Type::kStatus, std::move(s)); }
  static Reply Error(std::string s) { return Reply(Type::kError, std::move(s)); }
  static Reply Integer(int64_t v) {
    Reply r;
    r.type_ = Type::kInteger;
    r.integer_ = v;
    return r;
  }
  static Reply Array(std::vector<Reply> elements) {
    Reply r;
    r.type_ = Type::kArray;
    r.elements_ = std::move(elements);
    return r;
  }
  // Deep copy of a hiredis reply (nullptr -> nil).
  static Reply FromHiredis(const redisReply* reply);

  Type type() const { return type_; }
  bool is_nil() const { return type_ == Type::kNil; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_integer() const { return type_ == Type::kInteger; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_status() const { return type_ == Type::kStatus; }
  bool is_error() const { return type_ == Type::kError; }

  // The bytes of a string, status ("OK") or error ("WRONGTYPE ...") reply; empty for other types.
  const std::string& str() const { return str_; }
  // The value of an integer reply; 0 for other types.
  int64_t integer() const { return integer_; }
  // The elements of an array reply; empty for other types.
  const std::vector<Reply>& elements() const { return elements_; }
  size_t size() const { return elements_.size(); }
  const Reply& operator[](size_t i) const { return elements_[i]; }

  // Debug rendering, e.g. `["a", 1, nil]`.
  std::string DebugString() const;

  friend bool operator==(const Reply& a, const Reply& b) {
    return a.type_ == b.type_ && a.str_ == b.str_ && a.integer_ == b.integer_ && a.elements_ == b.elements_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Reply& r) { return os << r.DebugString(); }

 private:
  Reply(Type type, std::string s) : type_(type), str_(std::move(s)) {}

  Type type_ = Type::kNil;
  std::string str_;
  int64_t integer_ = 0;
  std::vector<Reply> elements_;
};

// Maps a Redis error reply ("PREFIX message") to a Status whose message is the full error text:
//   WRONGTYPE -> FAILED_PRECONDITION   NOGROUP -> NOT_FOUND            BUSYGROUP -> ALREADY_EXISTS
//   NOAUTH, WRONGPASS -> UNAUTHENTICATED                              NOPERM -> PERMISSION_DENIED
//   OOM -> RESOURCE_EXHAUSTED          EXECABORT -> ABORTED             NOSCRIPT -> NOT_FOUND
//   LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY -> UNAVAILABLE (transient / failover)
//   "ERR unknown command" -> UNIMPLEMENTED, other ERR -> INVALID_ARGUMENT (bad arguments, value not an
//   integer, syntax error), anything else -> UNKNOWN.
absl::Status ErrorReplyToStatus(absl::string_view error);

// The first word of an error reply ("WRONGTYPE"), for callers that need to look at it.
absl::string_view ErrorPrefix(absl::string_view error);

}  // namespace marketlens::redis

#endif  // MARKETLENS_COMMON_REDIS_REPLY_H_
