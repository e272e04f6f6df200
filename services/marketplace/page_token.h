// Page tokens for keyset pagination. A token names the last item of the previous page (its key in the
// list's order), is opaque to clients (base64url) and tamper-evident: it carries an HMAC-SHA256 over the
// list name, the request's filters and the key, so a token that was edited, forged, or replayed with other
// filters (or against another list) is refused with INVALID_ARGUMENT instead of silently paging wrong.
//
// The key is per process by default (tokens die with the process, as with many real APIs) or configured
// (--page_token_key), so that tokens stay valid across restarts and replicas.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_PAGE_TOKEN_H_
#define MARKETLENS_SERVICES_MARKETPLACE_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::marketplace {

class PageTokenCodec {
 public:
  // Longest token accepted (keys are ids, far shorter).
  static constexpr size_t kMaxTokenLength = 1024;

  // HMAC key bytes; an empty key is replaced by 32 random bytes (per process).
  explicit PageTokenCodec(absl::string_view key = "");

  // A token for the page after the item with `last_key` in list `list`, requested with `filters` (a
  // canonical rendering of the request's filter fields; see FilterString).
  std::string Encode(absl::string_view list, absl::string_view filters, absl::string_view last_key) const;

  // The last key carried by `token`. INVALID_ARGUMENT when the token is malformed, was tampered with, or
  // was issued for another list or other filters.
  absl::StatusOr<std::string> Decode(absl::string_view token, absl::string_view list,
                                     absl::string_view filters) const;

 private:
  std::string Mac(absl::string_view list, absl::string_view filters, absl::string_view payload) const;

  std::string key_;
};

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_PAGE_TOKEN_H_
