#include "services/collector/dashboard_queries.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status/macros.h"

namespace marketlens::collector {
namespace {

// Timestamps cross the SQL boundary as microseconds since the epoch (exact both
// ways).

std::string MicrosOf(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}
std::string FromMicros(int param) {
  return absl::StrCat("'epoch'::timestamptz + ($", param, "::bigint * interval '1 microsecond')");
}

void SetMicros(int64_t us, google::protobuf::Timestamp* out) {
  int64_t seconds = us / 1000000;
  int64_t rest = us % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::StatusOr<std::optional<int64_t>> MicrosOfField(const google::protobuf::Timestamp& t, bool present,
                                                     absl::string_view field) {
  if (!present) return std::optional<int64_t>();
  // The range protobuf's JSON mapping accepts: 0001-01-01 .. 9999-12-31.
  if (t.seconds() < -62135596800 || t.seconds() > 253402300799 || t.nanos() < 0 || t.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid timestamp"));
  }
  return std::optional<int64_t>(t.seconds() * 1000000 + t.nanos() / 1000);
}

absl::StatusOr<int> PageSize(int32_t requested, int default_size, int max_size) {
  if (requested < 0 || requested > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be 0..", max_size, " (0: ", default_size, "), got ", requested));
  }
  return requested == 0 ? default_size : requested;
}

// Tokens are "<kind>:<payload>", web-safe base64; the kind binds a token to the
// list (and product) it came from.
std::string EncodeToken(absl::string_view kind, absl::string_view payload) {
  return absl::WebSafeBase64Escape(absl::StrCat(kind, ":", payload));
}

// The payload of a token of `kind`; nullopt for an empty token.
absl::StatusOr<std::optional<std::string>> DecodeToken(const std::string& token, absl::string_view kind) {
  if (token.empty()) return std::optional<std::string>();
  std::string raw;
  const std::string prefix = absl::StrCat(kind, ":");
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(token, &raw) || !absl::StartsWith(raw, prefix) ||
      raw.size() == prefix.size()) {
    return absl::InvalidArgumentError("page_token is not valid for this list");
  }
  return std::optional<std::string>(raw.substr(prefix.size()));
}

postgres::TxOptions ReadOnly(absl::Duration timeout) {
  postgres::TxOptions o;
  o.read_only = true;
  o.timeout = timeout > absl::ZeroDuration() ? std::min(timeout, absl::Seconds(30)) : absl::Seconds(10);
  return o;
}

}  // namespace

absl::StatusOr<v1::ListPriceHistoryResponse> DashboardQueries::ListPriceHistory(
    const v1::ListPriceHistoryRequest& request, absl::Duration timeout) const {
  if (request.product_id().empty()) return absl::InvalidArgumentError("product_id is required");
  if (request.product_id().size() > 256) return absl::InvalidArgumentError("product_id is too long");
  absl::StatusOr<int> size =
      PageSize(request.page_size(), kDefaultPriceHistoryPageSize, kMaxPriceHistoryPageSize);
  if (!size.ok()) return size.status();
  ASSIGN_OR_RETURN(std::optional<int64_t> since,
                   MicrosOfField(request.since(), request.has_since(), "since"));
  ASSIGN_OR_RETURN(std::optional<int64_t> until,
                   MicrosOfField(request.until(), request.has_until(), "until"));
  if (since.has_value() && until.has_value() && *since >= *until) {
    return absl::InvalidArgumentError("until must be after since");
  }
  // The token: "<micros of the last point>/<product id>", so it cannot be used
  // for another product.
  ASSIGN_OR_RETURN(std::optional<std::string> payload, DecodeToken(request.page_token(), "ph"));
  std::optional<int64_t> before;
  if (payload.has_value()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(*payload, absl::MaxSplits('/', 1));
    int64_t us = 0;
    if (!absl::SimpleAtoi(parts.first, &us) || parts.second != request.product_id()) {
      return absl::InvalidArgumentError("page_token is not valid for this product");
    }
    before = us;
  }

  v1::ListPriceHistoryResponse response;
  const std::string sql = absl::StrCat("SELECT ", MicrosOf("seen_at"),
                                       ", price_cents, stock, rating_average, rating_count FROM "
                                       "raw.product_snapshots"
                                       " WHERE product_id = $1"
                                       " AND ($2::bigint IS NULL OR seen_at >= ",
                                       FromMicros(2), ") AND ($3::bigint IS NULL OR seen_at < ",
                                       FromMicros(3), ") AND ($4::bigint IS NULL OR seen_at < ",
                                       FromMicros(4), ") ORDER BY seen_at DESC LIMIT $5");
  absl::Status st = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        response.Clear();
        absl::StatusOr<pqxx::result> product =
            tx.Exec("SELECT currency FROM raw.products WHERE id = $1", request.product_id());
        if (!product.ok()) return product.status();
        if (product->empty()) {
          return absl::NotFoundError(
              absl::StrCat("product_id \"", request.product_id(), "\" is not a known product"));
        }
        response.set_product_id(request.product_id());
        response.set_currency((*product)[0][0].as<std::string>());
        absl::StatusOr<pqxx::result> rows =
            tx.Exec(sql, request.product_id(), since, until, before, static_cast<int64_t>(*size) + 1);
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) {
          if (response.points_size() == *size) {
            const v1::PricePoint& last = response.points(response.points_size() - 1);
            const int64_t last_us = last.seen_at().seconds() * 1000000 + last.seen_at().nanos() / 1000;
            response.set_next_page_token(EncodeToken("ph", absl::StrCat(last_us, "/", request.product_id())));
            break;
          }
          v1::PricePoint* p = response.add_points();
          SetMicros(row[0].as<int64_t>(), p->mutable_seen_at());
          p->set_price_cents(row[1].as<int64_t>());
          p->set_price(static_cast<double>(p->price_cents()) / 100.0);
          p->set_stock(row[2].as<int32_t>());
          p->set_rating_average(row[3].as<double>());
          p->set_rating_count(row[4].as<int32_t>());
        }
        return absl::OkStatus();
      },
      ReadOnly(timeout));
  if (!st.ok()) return st;
  return response;
}

absl::StatusOr<v1::ListShoppersResponse> DashboardQueries::ListShoppers(
    const v1::ListShoppersRequest& request, absl::Duration timeout) const {
  ASSIGN_OR_RETURN(int size, PageSize(request.page_size(), kDefaultShopperPageSize, kMaxShopperPageSize));
  if (request.segment().size() > 128) return absl::InvalidArgumentError("segment is too long");
  // The token: "<segment>/<last id>" (the segment first: ids may contain '/').
  ASSIGN_OR_RETURN(std::optional<std::string> payload, DecodeToken(request.page_token(), "sh"));
  std::optional<std::string> after;
  if (payload.has_value()) {
    const size_t slash = payload->find('/');
    if (slash == std::string::npos || payload->substr(0, slash) != request.segment() ||
        slash + 1 == payload->size()) {
      return absl::InvalidArgumentError("page_token is not valid for this segment");
    }
    after = payload->substr(slash + 1);
  }
  v1::ListShoppersResponse response;
  const std::string sql =
      absl::StrCat("SELECT c.id, c.name, c.segment, c.region, c.occupation, ", MicrosOf("c.created_at"),
                   ", (SELECT count(*) FROM raw.interactions i WHERE i.customer_id = c.id)"
                   " FROM raw.customers c"
                   " WHERE ($1 = '' OR c.segment = $1) AND ($2::text IS NULL OR c.id > $2)"
                   " ORDER BY c.id LIMIT $3");
  absl::Status st = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        response.Clear();
        absl::StatusOr<pqxx::result> rows =
            tx.Exec(sql, request.segment(), after, static_cast<int64_t>(size) + 1);
        if (!rows.ok()) return rows.status();
        for (const auto& row : *rows) {
          if (response.shoppers_size() == size) {
            response.set_next_page_token(EncodeToken(
                "sh",
                absl::StrCat(request.segment(), "/", response.shoppers(response.shoppers_size() - 1).id())));
            break;
          }
          v1::Shopper* s = response.add_shoppers();
          s->set_id(row[0].as<std::string>());
          s->set_name(row[1].as<std::string>());
          s->set_segment(row[2].as<std::string>());
          s->set_region(row[3].as<std::string>());
          s->set_occupation(row[4].as<std::string>());
          if (!row[5].is_null()) SetMicros(row[5].as<int64_t>(), s->mutable_created_at());
          s->set_interactions(row[6].as<int64_t>());
        }
        return absl::OkStatus();
      },
      ReadOnly(timeout));
  if (!st.ok()) return st;
  return response;
}

absl::StatusOr<v1::ListCampaignsResponse> DashboardQueries::ListCampaigns(
    const v1::ListCampaignsRequest& request, absl::Duration timeout) const {
  ASSIGN_OR_RETURN(int size, PageSize(request.page_size(), kDefaultCampaignPageSize, kMaxCampaignPageSize));
  ASSIGN_OR_RETURN(std::optional<std::string> after, DecodeToken(request.page_token(), "ca"));
  v1::ListCampaignsResponse response;
  const std::string sql = absl::StrCat(
      "SELECT campaign_id, count(*), count(DISTINCT influencer), "
      "coalesce(sum(views), 0)::bigint,"
      " coalesce(avg(engagement_rate), 0)::double precision, ",
      MicrosOf("min(posted_at)"), ", ", MicrosOf("max(posted_at)"),
      " FROM raw.campaign_posts WHERE ($1::text IS NULL OR campaign_id > $1)"
      " GROUP BY campaign_id ORDER BY campaign_id LIMIT $2");
  absl::Status st = pool_->Transact(
      [&](postgres::Tx& tx) -> absl::Status {
        response.Clear();
        ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec(sql, after, static_cast<int64_t>(size) + 1));
        for (const auto& row : rows) {
          if (response.campaigns_size() == size) {
            response.set_next_page_token(
                EncodeToken("ca", response.campaigns(response.campaigns_size() - 1).campaign_id()));
            break;
          }
          v1::Campaign* c = response.add_campaigns();
          c->set_campaign_id(row[0].as<std::string>());
          c->set_posts(row[1].as<int64_t>());
          c->set_influencers(row[2].as<int64_t>());
          c->set_total_views(row[3].as<int64_t>());
          c->set_mean_engagement_rate(row[4].as<double>());
          SetMicros(row[5].as<int64_t>(), c->mutable_first_post_at());
          SetMicros(row[6].as<int64_t>(), c->mutable_last_post_at());
        }
        return absl::OkStatus();
      },
      ReadOnly(timeout));
  if (!st.ok()) return st;
  return response;
}

}  // namespace marketlens::collector
