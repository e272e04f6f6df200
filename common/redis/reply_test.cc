#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include "common/redis/streams.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::redis {
namespace {

using ::marketlens::testing::IsOk;

TEST(ErrorReplyToStatusTest, MapsPrefixes) {
  struct Case {
    const char* error;
    absl::StatusCode code;
  } cases[] = {
      {"WRONGTYPE Operation against a key holding the wrong kind of value",
       absl::StatusCode::kFailedPrecondition},
      {"NOGROUP No such key 's' or consumer group 'g'", absl::StatusCode::kNotFound},
      {"BUSYGROUP Consumer Group name already exists", absl::StatusCode::kAlreadyExists},
      {"NOAUTH Authentication required.", absl::StatusCode::kUnauthenticated},
      {"WRONGPASS invalid username-password pair", absl::StatusCode::kUnauthenticated},
      {"NOPERM this user has no permissions", absl::StatusCode::kPermissionDenied},
      {"OOM command not allowed when used memory > 'maxmemory'.", absl::StatusCode::kResourceExhausted},
      {"EXECABORT Transaction discarded", absl::StatusCode::kAborted},
      {"LOADING Redis is loading the dataset in memory", absl::StatusCode::kUnavailable},
      {"BUSY Redis is busy running a script", absl::StatusCode::kUnavailable},
      {"READONLY You can't write against a read only replica.", absl::StatusCode::kUnavailable},
      {"ERR unknown command 'FOO'", absl::StatusCode::kUnimplemented},
      {"ERR value is not an integer or out of range", absl::StatusCode::kInvalidArgument},
      {"ERR syntax error", absl::StatusCode::kInvalidArgument},
      {"SOMETHINGNEW happened", absl::StatusCode::kUnknown},
  };
  for (const Case& c : cases) {
    absl::Status s = ErrorReplyToStatus(c.error);
    EXPECT_EQ(s.code(), c.code) << c.error;
    EXPECT_EQ(s.message(), std::string("redis: ") + c.error);
  }
}

TEST(ReplyTest, CopiesHiredisRepliesIncludingNuls) {
  redisReply str{};
  str.type = REDIS_REPLY_STRING;
  char bytes[] = {'a', '\0', 'b'};
  str.str = bytes;
  str.len = 3;
  redisReply integer{};
  integer.type = REDIS_REPLY_INTEGER;
  integer.integer = -42;
  redisReply nil{};
  nil.type = REDIS_REPLY_NIL;
  redisReply* elements[] = {&str, &integer, &nil};
  redisReply array{};
  array.type = REDIS_REPLY_ARRAY;
  array.elements = 3;
  array.element = elements;

  Reply r = Reply::FromHiredis(&array);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].str(), std::string("a\0b", 3));
  EXPECT_EQ(r[1].integer(), -42);
  EXPECT_TRUE(r[2].is_nil());
  EXPECT_EQ(r, Reply::Array({Reply::String(std::string("a\0b", 3)), Reply::Integer(-42), Reply::Nil()}));
  EXPECT_EQ(r.DebugString(), "[\"a\\000b\", -42, nil]");
  EXPECT_TRUE(Reply::FromHiredis(nullptr).is_nil());
}

TEST(StreamParseTest, ReadReplyNilIsEmpty) {
  auto entries = ParseReadReply(Reply::Nil());
  ASSERT_THAT(entries, IsOk());
  EXPECT_TRUE(entries->empty());
}

TEST(StreamParseTest, ReadReplyWithEntriesAndDeletedEntry) {
  Reply reply = Reply::Array({Reply::Array({
      Reply::String("s"),
      Reply::Array({
          Reply::Array({Reply::String("1-0"), Reply::Array({Reply::String("k"), Reply::String("v"),
                                                            Reply::String("k2"), Reply::String("v2")})}),
          Reply::Array({Reply::String("2-0"), Reply::Nil()}),
      }),
  })});
  auto entries = ParseReadReply(reply);
  ASSERT_THAT(entries, IsOk()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].id, "1-0");
  ASSERT_NE((*entries)[0].Find("k2"), nullptr);
  EXPECT_EQ(*(*entries)[0].Find("k2"), "v2");
  EXPECT_EQ((*entries)[0].Find("nope"), nullptr);
  EXPECT_FALSE((*entries)[0].deleted);
  EXPECT_TRUE((*entries)[1].deleted);
}

TEST(StreamParseTest, MalformedRepliesAreInternalErrors) {
  EXPECT_EQ(ParseReadReply(Reply::Integer(1)).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ParseStreamEntries(Reply::Array({Reply::String("x")})).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(ParseAutoClaimReply(Reply::Array({})).status().code(), absl::StatusCode::kInternal);
}

TEST(StreamParseTest, AutoClaimReply) {
  Reply reply = Reply::Array({
      Reply::String("0-0"),
      Reply::Array(
          {Reply::Array({Reply::String("5-0"), Reply::Array({Reply::String("a"), Reply::String("b")})})}),
      Reply::Array({Reply::String("3-0")}),
  });
  auto result = ParseAutoClaimReply(reply);
  ASSERT_THAT(result, IsOk()) << result.status();
  EXPECT_EQ(result->next_start_id, "0-0");
  ASSERT_EQ(result->entries.size(), 1u);
  EXPECT_EQ(result->entries[0].id, "5-0");
  EXPECT_EQ(result->deleted_ids, std::vector<std::string>{"3-0"});
}

}  // namespace
}  // namespace marketlens::redis
