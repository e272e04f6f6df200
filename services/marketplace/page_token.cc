#include "services/marketplace/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace marketlens::marketplace {
namespace {

constexpr char kVersion = 1;
constexpr size_t kMacBytes = 16;  // truncated HMAC-SHA256: 128 bits is plenty against forgery

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid page_token: ", why));
}

std::string RandomKey() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    std::random_device rd;  // OpenSSL's RNG failing is nearly impossible; still never use a fixed key
    for (char& c : key) c = static_cast<char>(rd());
  }
  return key;
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool ReadVarint(absl::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

PageTokenCodec::PageTokenCodec(absl::string_view key) : key_(key.empty() ? RandomKey() : std::string(key)) {}

std::string PageTokenCodec::Mac(absl::string_view list, absl::string_view filters,
                                absl::string_view payload) const {
  // Length-prefixed fields, so that ("ab","c") and ("a","bc") cannot collide.
  std::string message = "marketlens.page_token.v1";
  for (absl::string_view part : {list, filters, payload}) {
    AppendVarint(&message, part.size());
    message.append(part.data(), part.size());
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view list, absl::string_view filters,
                                   absl::string_view last_key) const {
  std::string payload;
  payload.push_back(kVersion);
  AppendVarint(&payload, last_key.size());
  payload.append(last_key.data(), last_key.size());
  std::string raw = payload + Mac(list, filters, payload);
  std::string token;
  absl::WebSafeBase64Escape(raw, &token);
  return token;
}

absl::StatusOr<std::string> PageTokenCodec::Decode(absl::string_view token, absl::string_view list,
                                                   absl::string_view filters) const {
  if (token.size() > kMaxTokenLength) return Invalid("too long");
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return Invalid("not base64url");
  // Only the canonical spelling: the unused low bits of the last character (or padding) must not let
  // two different strings pass as the same token.
  std::string canonical;
  absl::WebSafeBase64Escape(raw, &canonical);
  if (canonical != token) return Invalid("not canonical base64url");
  if (raw.size() < 1 + 1 + kMacBytes) return Invalid("too short");
  const absl::string_view payload(raw.data(), raw.size() - kMacBytes);
  const absl::string_view mac(raw.data() + payload.size(), kMacBytes);
  const std::string expected = Mac(list, filters, payload);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) != 0) {
    return Invalid("it was modified, or issued for a different list or different filters");
  }
  absl::string_view in = payload;
  if (in.front() != kVersion) return Invalid("unknown version");
  in.remove_prefix(1);
  uint64_t len = 0;
  if (!ReadVarint(&in, &len) || len != in.size()) return Invalid("corrupt");
  return std::string(in);
}

}  // namespace marketlens::marketplace
