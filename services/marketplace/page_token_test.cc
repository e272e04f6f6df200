#include "services/marketplace/page_token.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

TEST(PageTokenTest, RoundTrips) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("reviews", "product_id=B01", "R000000123");
  auto key = codec.Decode(token, "reviews", "product_id=B01");
  ASSERT_THAT(key, IsOk()) << key.status();
  EXPECT_EQ(*key, "R000000123");
}

TEST(PageTokenTest, IsOpaqueAndUrlSafe) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("products", "", "B0ABCDEF12");
  EXPECT_EQ(token.find("B0ABCDEF12"), std::string::npos);
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(PageTokenTest, EmptyAndOddKeys) {
  PageTokenCodec codec("k");
  for (std::string key : {std::string(""), std::string("a|b\0c", 5), std::string(300, 'x')}) {
    auto decoded = codec.Decode(codec.Encode("l", "f", key), "l", "f");
    ASSERT_THAT(decoded, IsOk()) << decoded.status();
    EXPECT_EQ(*decoded, key);
  }
}

TEST(PageTokenTest, RefusesEveryFlippedBit) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("reviews", "", "R000000123");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = raw;
      bad[i] ^= static_cast<char>(1 << bit);
      std::string bad_token;
      absl::WebSafeBase64Escape(bad, &bad_token);
      auto decoded = codec.Decode(bad_token, "reviews", "");
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << i << ":" << bit;
    }
  }
}

TEST(PageTokenTest, RefusesEveryChangedCharacter) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("reviews", "", "R000000123");
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : alphabet) {
      if (c == token[i]) continue;
      std::string bad = token;
      bad[i] = c;
      EXPECT_FALSE(codec.Decode(bad, "reviews", "").ok()) << i << c;
    }
  }
  EXPECT_FALSE(codec.Decode(token + "=", "reviews", "").ok());
}

TEST(PageTokenTest, RefusesOtherListsFiltersAndKeys) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("reviews", "since=1", "R1");
  EXPECT_EQ(codec.Decode(token, "products", "since=1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.Decode(token, "reviews", "since=2").status().code(), absl::StatusCode::kInvalidArgument);
  PageTokenCodec other("another secret");
  EXPECT_EQ(other.Decode(token, "reviews", "since=1").status().code(), absl::StatusCode::kInvalidArgument);
  // Two codecs with random keys never accept each other's tokens.
  PageTokenCodec random_a, random_b;
  EXPECT_FALSE(random_b.Decode(random_a.Encode("l", "", "k"), "l", "").ok());
  EXPECT_THAT(random_a.Decode(random_a.Encode("l", "", "k"), "l", ""), IsOk());
}

TEST(PageTokenTest, RefusesGarbage) {
  PageTokenCodec codec("secret");
  for (const char* bad : {"", "!!!", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a b c"}) {
    EXPECT_EQ(codec.Decode(bad, "l", "").status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(codec.Decode(std::string(5000, 'A'), "l", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketlens::marketplace
