#include "services/analyzer/rag/content_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/privacy/person_rows.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer::rag {
namespace {

using postgres::Tx;

// The newest posts of a platform read to learn what performs there.
constexpr int kMaxBriefPosts = 10000;

// The columns ContactFromRow and ReviewFromRow read, in order (k: raw.contacts, r: raw.reviews, p: the
// LEFT JOINed raw.products); any column after them is the caller's.
#define CONTACT_COLUMNS                                                                                   \
  "k.id, (extract(epoch FROM k.started_at) * 1000000)::bigint, k.channel, k.topic, k.sentiment, k.notes," \
  " k.product_id, COALESCE(p.title, '')"
#define REVIEW_COLUMNS                                                    \
  "r.id, r.product_id, COALESCE(p.title, ''), r.rating, r.title, r.text," \
  " (extract(epoch FROM r.created_at) * 1000000)::bigint"

constexpr char kCustomerSql[] = "SELECT name, segment, region, occupation FROM raw.customers WHERE id = $1";
// What was being discussed (raw.discussed_products) in the months the customer contacted us.
constexpr char kDiscussedInContactMonthsSql[] =
    "SELECT COALESCE(NULLIF(d.product_id, ''), d.product) AS p FROM raw.discussed_products d"
    " WHERE d.month IN (SELECT DISTINCT date_trunc('month', k.started_at AT TIME ZONE 'UTC')::date"
    " FROM raw.contacts k WHERE k.customer_id = $1) GROUP BY p ORDER BY count(*) DESC, p LIMIT 5";
constexpr char kCustomerContactsSql[] =
    "SELECT " CONTACT_COLUMNS
    ", count(*) OVER () FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id"
    " WHERE k.customer_id = $1 ORDER BY k.started_at DESC, k.id LIMIT 200";
constexpr char kCustomerReviewsSql[] =
    "SELECT " REVIEW_COLUMNS
    ", count(*) OVER () FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id"
    " WHERE r.customer_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 20";
// Per product: views, carts and purchases, the newest interaction; and the customer's total.
constexpr char kCustomerActivitySql[] =
    "SELECT i.product_id, COALESCE(p.title, ''), COALESCE(p.category, ''),"
    " count(*) FILTER (WHERE i.type = 'view'), count(*) FILTER (WHERE i.type = 'add_to_cart'),"
    " count(*) FILTER (WHERE i.type = 'purchase'), (extract(epoch FROM max(i.occurred_at)) * "
    "1000000)::bigint,"
    " (array_agg(i.id ORDER BY i.occurred_at DESC))[1], sum(count(*)) OVER ()"
    " FROM raw.interactions i LEFT JOIN raw.products p ON p.id = i.product_id"
    " WHERE i.customer_id = $1 GROUP BY i.product_id, p.title, p.category"
    " ORDER BY max(i.occurred_at) DESC LIMIT 20";
constexpr char kContactsByIdSql[] =
    "SELECT " CONTACT_COLUMNS
    " FROM raw.contacts k LEFT JOIN raw.products p ON p.id = k.product_id WHERE k.id = ANY($1::text[])";
constexpr char kReviewsByIdSql[] =
    "SELECT " REVIEW_COLUMNS
    " FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id WHERE r.id = ANY($1::text[])";
constexpr char kProductSummarySql[] =
    "SELECT average_rating, review_count, features::text FROM insights.product_summary WHERE product_id = $1";
constexpr char kTitlesSql[] = "SELECT id, title FROM raw.products WHERE id = ANY($1::text[])";
// The product of a brief: the best match of title (and brand) with the most reviews.
constexpr char kBriefProductSql[] =
    "SELECT p.id, p.title, p.brand, p.category, COALESCE(s.average_rating, 0), COALESCE(s.review_count, 0),"
    " COALESCE(s.features::text, '[]'), COALESCE(s.issues::text, '[]')"
    " FROM raw.products p LEFT JOIN insights.product_summary s ON s.product_id = p.id"
    " WHERE ($1 = '' OR p.title ILIKE '%' || $1 || '%' OR p.id = $1) AND ($2 = '' OR p.brand ILIKE $2)"
    " ORDER BY (p.id = $1) DESC, COALESCE(s.review_count, 0) DESC, p.id LIMIT 1";
// Who buys it: the largest (segment, region) of its purchases and its share.
constexpr char kBuyerSegmentSql[] =
    "SELECT c.segment, c.region, count(*)::float8 / sum(count(*)) OVER () FROM raw.interactions i"
    " JOIN raw.customers c ON c.id = i.customer_id WHERE i.product_id = $1 AND i.type = 'purchase'"
    " GROUP BY c.segment, c.region ORDER BY count(*) DESC, c.segment LIMIT 1";
// Engagement on the platform and across platforms, and the platform's post count.
constexpr char kEngagementSql[] =
    "SELECT COALESCE(sum(likes + comments + shares) FILTER (WHERE lower(platform) = $1)::float8"
    "   / NULLIF(sum(views) FILTER (WHERE lower(platform) = $1), 0), -1),"
    " COALESCE(sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0), -1),"
    " count(*) FILTER (WHERE lower(platform) = $1) FROM raw.campaign_posts";
constexpr char kTopInfluencersSql[] =
    "SELECT influencer, sum(likes + comments + shares)::float8 / NULLIF(sum(views), 0) AS er,"
    " (array_agg(id ORDER BY COALESCE(engagement_rate, 0) DESC))[1]"
    " FROM raw.campaign_posts WHERE lower(platform) = $1 GROUP BY influencer HAVING sum(views) > 0"
    " ORDER BY er DESC, influencer LIMIT 3";
// The platform's posts with their captions and hashtags: what performs there (brief_tools.h).
constexpr char kPlatformPostsSql[] =
    "SELECT id, influencer, product_id, left(caption, 300), array_to_string(hashtags, ' '), views,"
    " likes + comments + shares, COALESCE(engagement_rate, -1) FROM raw.campaign_posts"
    " WHERE lower(platform) = $1 ORDER BY posted_at DESC, id LIMIT $2";

#undef CONTACT_COLUMNS
#undef REVIEW_COLUMNS

Contact ContactFromRow(const pqxx::row& row) {
  Contact k;
  k.id = row[0].as<std::string>();
  k.micros = row[1].as<int64_t>();
  k.channel = row[2].as<std::string>();
  k.topic = row[3].as<std::string>();
  k.has_sentiment = !row[4].is_null();
  if (k.has_sentiment) k.sentiment = row[4].as<double>();
  k.notes = row[5].as<std::string>();
  k.product_id = row[6].as<std::string>();
  k.product_title = row[7].as<std::string>();
  return k;
}

Review ReviewFromRow(const pqxx::row& row) {
  Review r;
  r.id = row[0].as<std::string>();
  r.product_id = row[1].as<std::string>();
  r.product_title = row[2].as<std::string>();
  r.rating = row[3].as<int>();
  r.title = row[4].as<std::string>();
  r.text = row[5].as<std::string>();
  r.micros = row[6].as<int64_t>();
  return r;
}

// insights.product_summary's jsonb arrays (features, issues) as text; an empty array when unreadable.
nlohmann::json JsonArray(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_array() ? j : nlohmann::json::array();
}
double Number(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : 0;
}
std::string String(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}
// A feature reviewers praise: clearly positive and mentioned more than once.
bool Praised(const nlohmann::json& feature) {
  return Number(feature, "polarity") >= 0.3 && Number(feature, "mentions") >= 2;
}

}  // namespace

absl::StatusOr<Customer> ContentStore::LoadCustomer(const std::string& id, absl::Time deadline) const {
  Customer c;
  bool known = false;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        c = Customer();
        c.id = id;
        // A forgotten person (privacy.tombstones) is unknown here even before every service erased them.
        ASSIGN_OR_RETURN(auto erased, privacy::IsErased(tx, id));
        if (erased) return absl::NotFoundError(absl::StrCat("customer ", id, " not found"));
        ASSIGN_OR_RETURN(auto cust, tx.Exec(kCustomerSql, id));
        known = !cust.empty();
        if (known) {
          c.name = cust[0][0].as<std::string>();
          c.segment = cust[0][1].as<std::string>();
          c.region = cust[0][2].as<std::string>();
          c.occupation = cust[0][3].as<std::string>();
        }
        ASSIGN_OR_RETURN(auto discussed, tx.Exec(kDiscussedInContactMonthsSql, id));
        for (const auto& row : discussed) c.discussed.push_back(row[0].as<std::string>());
        ASSIGN_OR_RETURN(auto contacts, tx.Exec(kCustomerContactsSql, id));
        for (const auto& row : contacts) {
          c.contacts_total = row[8].as<int64_t>();
          c.contacts.push_back(ContactFromRow(row));
        }
        ASSIGN_OR_RETURN(auto reviews, tx.Exec(kCustomerReviewsSql, id));
        for (const auto& row : reviews) {
          c.reviews_total = row[7].as<int64_t>();
          c.reviews.push_back(ReviewFromRow(row));
        }
        ASSIGN_OR_RETURN(auto activity, tx.Exec(kCustomerActivitySql, id));
        for (const auto& row : activity) {
          Activity a;
          a.product_id = row[0].as<std::string>();
          a.title = row[1].as<std::string>();
          a.category = row[2].as<std::string>();
          a.views = row[3].as<int>();
          a.carts = row[4].as<int>();
          a.purchases = row[5].as<int>();
          a.last_micros = row[6].as<int64_t>();
          a.last_id = row[7].as<std::string>();
          c.shop_interactions = row[8].as<int64_t>();
          c.activity.push_back(std::move(a));
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  if (!known && c.contacts.empty() && c.reviews.empty() && c.activity.empty()) {
    return absl::NotFoundError(absl::StrCat("customer ", id, " not found"));
  }
  return c;
}

absl::StatusOr<std::vector<Contact>> ContentStore::LoadContacts(const std::vector<std::string>& ids,
                                                                absl::Time deadline) const {
  std::vector<Contact> out;
  if (ids.empty()) return out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kContactsByIdSql, PgTextArray(ids)));
        for (const auto& row : rows) out.push_back(ContactFromRow(row));
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

absl::StatusOr<std::vector<Review>> ContentStore::LoadReviews(const std::vector<std::string>& ids,
                                                              absl::Time deadline) const {
  std::vector<Review> out;
  if (ids.empty()) return out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kReviewsByIdSql, PgTextArray(ids)));
        for (const auto& row : rows) out.push_back(ReviewFromRow(row));
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

absl::StatusOr<ProductPraise> ContentStore::LoadProductPraise(const std::string& product_id,
                                                              absl::Time deadline) const {
  ProductPraise out;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        out = ProductPraise();
        ASSIGN_OR_RETURN(auto s, tx.Exec(kProductSummarySql, product_id));
        if (s.empty()) return absl::OkStatus();
        out.rating = s[0][0].as<double>();
        out.review_count = s[0][1].as<int>();
        for (const nlohmann::json& f : JsonArray(s[0][2].as<std::string>())) {
          if (Praised(f) && out.praised.size() < 2) out.praised.push_back(String(f, "aspect"));
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return out;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ContentStore::LoadTitles(
    const std::vector<std::string>& ids, absl::Time deadline) const {
  absl::flat_hash_map<std::string, std::string> titles;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        titles.clear();
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kTitlesSql, PgTextArray(ids)));
        for (const auto& row : rows) titles[row[0].as<std::string>()] = row[1].as<std::string>();
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return titles;
}

absl::StatusOr<BriefData> ContentStore::LoadBriefData(const std::string& product, const std::string& brand,
                                                      const std::string& platform,
                                                      absl::Time deadline) const {
  BriefData d;
  RETURN_IF_ERROR(pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        d = BriefData();
        ASSIGN_OR_RETURN(auto p, tx.Exec(kBriefProductSql, product, brand));
        if (!p.empty()) {
          const auto& row = p[0];
          d.product = {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>(), row[4].as<double>(),      row[5].as<int>()};
          for (const nlohmann::json& f : JsonArray(row[6].as<std::string>())) {
            if (Praised(f) && d.praised.size() < 3) {
              d.praised.push_back(
                  {String(f, "aspect"), {static_cast<int>(Number(f, "mentions")), Number(f, "polarity")}});
            }
          }
          for (const nlohmann::json& i : JsonArray(row[7].as<std::string>())) {
            if (d.issues.size() < 2 && Number(i, "share") >= 0.03) {
              d.issues.push_back({String(i, "category"), Number(i, "share")});
            }
          }
          ASSIGN_OR_RETURN(auto seg, tx.Exec(kBuyerSegmentSql, d.product.id));
          if (!seg.empty()) {
            d.segment = seg[0][0].as<std::string>();
            d.region = seg[0][1].as<std::string>();
            d.segment_share = seg[0][2].as<double>();
          }
        }
        ASSIGN_OR_RETURN(auto er, tx.Exec(kEngagementSql, platform));
        d.platform_er = er[0][0].as<double>();
        d.overall_er = er[0][1].as<double>();
        d.platform_posts = er[0][2].as<int>();
        ASSIGN_OR_RETURN(auto inf, tx.Exec(kTopInfluencersSql, platform));
        for (const auto& row : inf) {
          d.top_influencers.emplace_back(row[0].as<std::string>(), row[1].as<double>(),
                                         row[2].as<std::string>());
        }
        ASSIGN_OR_RETURN(auto rows, tx.Exec(kPlatformPostsSql, platform, kMaxBriefPosts));
        d.posts.reserve(rows.size());
        for (const auto& row : rows) {
          CampaignPost post;
          post.id = row[0].as<std::string>();
          post.influencer = row[1].as<std::string>();
          post.product_id = row[2].as<std::string>();
          post.caption = row[3].as<std::string>();
          post.hashtags = absl::StrSplit(row[4].as<std::string>(), ' ', absl::SkipEmpty());
          post.views = row[5].as<int64_t>();
          post.engagements = row[6].as<int64_t>();
          post.engagement_rate = row[7].as<double>();
          d.posts.push_back(std::move(post));
        }
        return absl::OkStatus();
      },
      postgres::ReadOnlyUntil(deadline)));
  return d;
}

}  // namespace marketlens::analyzer::rag
