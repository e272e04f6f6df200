#include "services/collector/resources.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/collector/values.h"

namespace marketlens::collector {

namespace {

using Json = nlohmann::ordered_json;

// The page documents go to Postgres as jsonb: invalid UTF-8 is replaced, never an exception.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// SanitizeUtf8 drops NULs (jsonb refuses \u0000 in text) and invalid bytes.
Json JsonText(absl::string_view s) { return SanitizeUtf8(s, 1 << 20); }

Json JsonTime(const google::protobuf::Timestamp& ts, bool unset_is_null = true) {
  if (unset_is_null && ts.seconds() == 0 && ts.nanos() == 0) return nullptr;
  const absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

Json Double(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

void FinishPage(const Json& items, Page* page) {
  page->items = static_cast<int64_t>(items.size());
  page->items_json = Dump(items);
}

// Lower-case, without '#', no repeats, empty ones dropped (what raw.campaign_posts.hashtags holds).
std::vector<std::string> NormalizeHashtags(const google::protobuf::RepeatedPtrField<std::string>& tags) {
  std::vector<std::string> out;
  for (const std::string& raw : tags) {
    std::string tag = NormalizeHashtag(SanitizeUtf8(raw, 4 * kMaxHashtagBytes));
    if (!tag.empty() && std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
  }
  return out;
}

// ---- products ---------------------------------------------------------------------------------------------

absl::Status FetchProducts(MarketplaceClient& client, const PageRequest& request, Page* page,
                           StopSignal& stop, CallOutcome* outcome) {
  mv1::ListProductsRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_updated_since());
  mv1::ListProductsResponse resp;
  RETURN_IF_ERROR(client.ListProducts(req, &resp, stop, outcome));
  Json items = Json::array();
  for (const mv1::Product& p : resp.products()) {
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(p.id());
    o["title"] = JsonText(p.title());
    o["brand"] = JsonText(p.brand());
    o["category"] = JsonText(p.category());
    o["description"] = JsonText(p.description());
    o["price_cents"] = std::max<int64_t>(0, p.price_cents());
    std::string currency = absl::AsciiStrToUpper(p.currency());
    const bool currency_ok = currency.size() == 3 && absl::ascii_isalpha(currency[0]) &&
                             absl::ascii_isalpha(currency[1]) && absl::ascii_isalpha(currency[2]);
    o["currency"] = JsonText(currency_ok ? currency : "USD");
    o["stock"] = p.stock();
    o["margin"] = p.margin() >= 0 && p.margin() <= 1 ? Double(p.margin()) : Json(nullptr);
    o["launch_date"] = JsonTime(p.launch_date());
    o["rating_average"] = Double(std::clamp(p.rating_average(), 0.0, 5.0));
    o["rating_count"] = std::max(0, p.rating_count());
    Json& attributes = o["attributes"] = Json::object();
    for (const auto& [k, v] : p.attributes()) attributes[SanitizeUtf8(k, 1 << 20)] = JsonText(v);
    o["updated_at"] = JsonTime(p.updated_at());
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreProducts[] = R"sql(
WITH incoming AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id text, title text, brand text, category text, description text, price_cents bigint, currency text,
    stock integer, margin double precision, launch_date timestamptz, rating_average double precision,
    rating_count integer, attributes jsonb, updated_at timestamptz)
), old AS (
  SELECT p.id, p.price_cents, p.stock, p.rating_average, p.rating_count
  FROM raw.products p JOIN incoming i ON i.id = p.id
), up AS (
  INSERT INTO raw.products AS t (id, title, brand, category, description, price_cents, currency, stock, margin,
                                 launch_date, rating_average, rating_count, attributes, updated_at)
  SELECT id, title, brand, category, description, price_cents, currency, stock, margin, launch_date,
         rating_average, rating_count, attributes, COALESCE(updated_at, now())
  FROM incoming
  ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, brand = EXCLUDED.brand, category = EXCLUDED.category,
    description = EXCLUDED.description, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
    stock = EXCLUDED.stock, margin = EXCLUDED.margin, launch_date = EXCLUDED.launch_date,
    rating_average = EXCLUDED.rating_average, rating_count = EXCLUDED.rating_count,
    attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at, last_seen_at = now()
  RETURNING t.id
)
INSERT INTO raw.product_snapshots (product_id, seen_at, price_cents, stock, rating_average, rating_count,
                                   crawl_id, updated_at)
SELECT i.id, now(), i.price_cents, i.stock, i.rating_average, i.rating_count, $2::uuid, i.updated_at
FROM incoming i LEFT JOIN old o ON o.id = i.id
WHERE o.id IS NULL
   OR (o.price_cents, o.stock, o.rating_average, o.rating_count)
      IS DISTINCT FROM (i.price_cents, i.stock, i.rating_average, i.rating_count)
ON CONFLICT (product_id, seen_at) DO NOTHING
RETURNING 1
)sql";

// ---- reviews ----------------------------------------------------------------------------------------------

absl::Status FetchReviews(MarketplaceClient& client, const PageRequest& request, Page* page, StopSignal& stop,
                          CallOutcome* outcome) {
  mv1::ListReviewsRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_since());
  mv1::ListReviewsResponse resp;
  RETURN_IF_ERROR(client.ListReviews(req, &resp, stop, outcome));
  Json items = Json::array();
  for (const mv1::Review& r : resp.reviews()) {
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(r.id());
    o["product_id"] = JsonText(r.product_id());
    o["customer_id"] = JsonText(r.customer_id());
    o["rating"] = std::clamp(r.rating(), 1, 5);
    o["title"] = JsonText(r.title());
    o["text"] = JsonText(r.text());
    o["verified_purchase"] = r.verified_purchase();
    o["helpful_votes"] = std::max(0, r.helpful_votes());
    o["created_at"] = JsonTime(r.created_at(), false);
    o["updated_at"] = JsonTime(r.updated_at(), false);
    o["version"] = std::max(1, r.version());
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreReviews[] = R"sql(
WITH incoming AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id text, product_id text, customer_id text, rating smallint, title text, text text,
    verified_purchase boolean, helpful_votes integer, created_at timestamptz, updated_at timestamptz,
    version integer)
), old AS (
  SELECT r.id, r.version FROM raw.reviews r JOIN incoming i ON i.id = r.id
), up AS (
  INSERT INTO raw.reviews AS t (id, product_id, customer_id, rating, title, text, verified_purchase,
                                helpful_votes, created_at, updated_at, version)
  SELECT id, product_id,
         -- A forgotten reviewer's review keeps its text under a random id stored nowhere (docs/privacy.md).
         CASE WHEN privacy.is_erased(customer_id) THEN 'erased-' || substr(md5(random()::text), 1, 16)
              ELSE customer_id END,
         rating, title, text, verified_purchase, helpful_votes, created_at, updated_at, version
  FROM incoming
  ON CONFLICT (id) DO UPDATE SET
    product_id = EXCLUDED.product_id,
    customer_id = CASE WHEN EXCLUDED.customer_id LIKE 'erased-%' THEN t.customer_id ELSE EXCLUDED.customer_id END,
    rating = EXCLUDED.rating,
    title = EXCLUDED.title, text = EXCLUDED.text, verified_purchase = EXCLUDED.verified_purchase,
    helpful_votes = EXCLUDED.helpful_votes, created_at = EXCLUDED.created_at,
    updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, last_seen_at = now()
  WHERE t.version <= EXCLUDED.version
  RETURNING t.id
), versions AS (
  INSERT INTO raw.review_versions (review_id, version, rating, title, text, helpful_votes, updated_at)
  SELECT id, version, rating, title, text, helpful_votes, updated_at FROM incoming
  ON CONFLICT (review_id, version) DO NOTHING
  RETURNING review_id
)
INSERT INTO ops.review_outbox (review_id, product_id, version, event, crawl_id)
SELECT i.id, i.product_id, i.version, CASE WHEN o.id IS NULL THEN 'created' ELSE 'edited' END, $2::uuid
FROM incoming i LEFT JOIN old o ON o.id = i.id
WHERE o.id IS NULL OR o.version < i.version
ORDER BY i.id
RETURNING 1
)sql";

// ---- customers --------------------------------------------------------------------------------------------

absl::Status FetchCustomers(MarketplaceClient& client, const PageRequest& request, Page* page,
                            StopSignal& stop, CallOutcome* outcome) {
  mv1::ListCustomersRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_updated_since());
  mv1::ListCustomersResponse resp;
  RETURN_IF_ERROR(client.ListCustomers(req, &resp, stop, outcome));
  Json items = Json::array();
  for (const mv1::Customer& c : resp.customers()) {
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(c.id());
    o["name"] = JsonText(c.name());
    o["email"] = JsonText(c.email());
    o["occupation"] = JsonText(c.occupation());
    o["segment"] = JsonText(c.segment());
    o["region"] = JsonText(c.region());
    o["created_at"] = JsonTime(c.created_at());
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreCustomers[] = R"sql(
INSERT INTO raw.customers AS t (id, name, email, occupation, segment, region, created_at)
SELECT id, name, email, occupation, segment, region, created_at
FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text, email text, occupation text, segment text,
                                        region text, created_at timestamptz)
WHERE NOT privacy.is_erased(id)  -- a forgotten person stays forgotten (docs/privacy.md)
ON CONFLICT (id) DO UPDATE SET
  name = EXCLUDED.name, email = EXCLUDED.email, occupation = EXCLUDED.occupation, segment = EXCLUDED.segment,
  region = EXCLUDED.region, created_at = EXCLUDED.created_at, last_seen_at = now()
)sql";

// ---- interactions -----------------------------------------------------------------------------------------

const char* InteractionTypeText(mv1::InteractionType t) {
  switch (t) {
    case mv1::INTERACTION_TYPE_VIEW:
      return "view";
    case mv1::INTERACTION_TYPE_ADD_TO_CART:
      return "add_to_cart";
    case mv1::INTERACTION_TYPE_PURCHASE:
      return "purchase";
    case mv1::INTERACTION_TYPE_RATING:
      return "rating";
    default:
      return nullptr;
  }
}

absl::Status FetchInteractions(MarketplaceClient& client, const PageRequest& request, Page* page,
                               StopSignal& stop, CallOutcome* outcome) {
  mv1::ListInteractionsRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_since());
  mv1::ListInteractionsResponse resp;
  RETURN_IF_ERROR(client.ListInteractions(req, &resp, stop, outcome));
  Json items = Json::array();
  int64_t skipped = 0;
  for (const mv1::Interaction& i : resp.interactions()) {
    const char* type = InteractionTypeText(i.type());
    if (type == nullptr) {
      ++skipped;
      continue;
    }
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(i.id());
    o["customer_id"] = JsonText(i.customer_id());
    o["product_id"] = JsonText(i.product_id());
    o["type"] = JsonText(type);
    o["rating"] = i.rating() >= 1 && i.rating() <= 5 ? Json(i.rating()) : Json(nullptr);
    o["session_id"] = JsonText(i.session_id());
    o["device"] = JsonText(i.device());
    o["occurred_at"] = JsonTime(i.occurred_at(), false);
  }
  if (skipped > 0) {
    logging::Warn("interactions without a known type were not stored", {{"count", skipped}});
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreInteractions[] = R"sql(
INSERT INTO raw.interactions (id, customer_id, product_id, type, rating, session_id, device, occurred_at)
SELECT id, customer_id, product_id, type, rating, session_id, device, occurred_at
FROM jsonb_to_recordset($1::jsonb) AS x(id text, customer_id text, product_id text, type text, rating smallint,
                                        session_id text, device text, occurred_at timestamptz)
WHERE NOT privacy.is_erased(customer_id)
ON CONFLICT (id) DO NOTHING
)sql";

// ---- campaign posts ---------------------------------------------------------------------------------------

absl::Status FetchCampaignPosts(MarketplaceClient& client, const PageRequest& request, Page* page,
                                StopSignal& stop, CallOutcome* outcome) {
  mv1::ListCampaignPostsRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_updated_since());
  mv1::ListCampaignPostsResponse resp;
  RETURN_IF_ERROR(client.ListCampaignPosts(req, &resp, stop, outcome));
  Json items = Json::array();
  for (const mv1::CampaignPost& p : resp.posts()) {
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(p.id());
    o["campaign_id"] = JsonText(p.campaign_id());
    o["influencer"] = JsonText(p.influencer());
    o["platform"] = JsonText(p.platform());
    o["product_id"] = JsonText(p.product_id());
    o["views"] = std::max<int64_t>(0, p.views());
    o["likes"] = std::max<int64_t>(0, p.likes());
    o["comments"] = std::max<int64_t>(0, p.comments());
    o["shares"] = std::max<int64_t>(0, p.shares());
    o["posted_at"] = JsonTime(p.posted_at(), false);
    o["caption"] = JsonText(p.caption());
    // Stored as the marketplace documents them (lower-case, no '#'), normalised again in case it does not.
    Json& tags = o["hashtags"] = Json::array();
    for (const std::string& tag : NormalizeHashtags(p.hashtags())) tags.push_back(JsonText(tag));
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreCampaignPosts[] = R"sql(
INSERT INTO raw.campaign_posts AS t (id, campaign_id, influencer, platform, product_id, views, likes, comments,
                                     shares, posted_at, caption, hashtags)
SELECT id, campaign_id, influencer, platform, product_id, views, likes, comments, shares, posted_at,
       COALESCE(caption, ''), COALESCE(ARRAY(SELECT jsonb_array_elements_text(hashtags)), '{}')
FROM jsonb_to_recordset($1::jsonb) AS x(id text, campaign_id text, influencer text, platform text,
                                        product_id text, views bigint, likes bigint, comments bigint,
                                        shares bigint, posted_at timestamptz, caption text, hashtags jsonb)
ON CONFLICT (id) DO UPDATE SET
  campaign_id = EXCLUDED.campaign_id, influencer = EXCLUDED.influencer, platform = EXCLUDED.platform,
  product_id = EXCLUDED.product_id, views = EXCLUDED.views, likes = EXCLUDED.likes,
  comments = EXCLUDED.comments, shares = EXCLUDED.shares, posted_at = EXCLUDED.posted_at,
  caption = EXCLUDED.caption, hashtags = EXCLUDED.hashtags
WHERE (t.campaign_id, t.influencer, t.platform, t.product_id, t.views, t.likes, t.comments, t.shares, t.posted_at,
       t.caption, t.hashtags)
      IS DISTINCT FROM (EXCLUDED.campaign_id, EXCLUDED.influencer, EXCLUDED.platform, EXCLUDED.product_id,
                        EXCLUDED.views, EXCLUDED.likes, EXCLUDED.comments, EXCLUDED.shares, EXCLUDED.posted_at,
                        EXCLUDED.caption, EXCLUDED.hashtags)
)sql";

// ---- contacts ---------------------------------------------------------------------------------------------

absl::Status FetchContacts(MarketplaceClient& client, const PageRequest& request, Page* page,
                           StopSignal& stop, CallOutcome* outcome) {
  mv1::ListContactsRequest req;
  req.set_page_size(request.page_size);
  req.set_page_token(request.page_token);
  if (request.since) ToProto(*request.since, req.mutable_since());
  mv1::ListContactsResponse resp;
  RETURN_IF_ERROR(client.ListContacts(req, &resp, stop, outcome));
  Json items = Json::array();
  for (const mv1::Contact& c : resp.contacts()) {
    Json& o = items.emplace_back(Json::object());
    o["id"] = JsonText(c.id());
    o["customer_id"] = JsonText(c.customer_id());
    o["started_at"] = JsonTime(c.started_at(), false);
    o["channel"] = JsonText(c.channel());
    o["topic"] = JsonText(c.topic());
    o["sentiment"] = Double(std::clamp(c.sentiment(), -1.0, 1.0));
    o["notes"] = JsonText(c.notes());
    o["product_id"] = JsonText(c.product_id());
  }
  FinishPage(items, page);
  page->next_page_token = resp.next_page_token();
  return absl::OkStatus();
}

constexpr char kStoreContacts[] = R"sql(
INSERT INTO raw.contacts AS t (id, customer_id, started_at, channel, topic, sentiment, notes, product_id)
SELECT id, customer_id, started_at, channel, topic, sentiment, notes, product_id
FROM jsonb_to_recordset($1::jsonb) AS x(id text, customer_id text, started_at timestamptz, channel text,
                                        topic text, sentiment double precision, notes text, product_id text)
WHERE NOT privacy.is_erased(customer_id)
ON CONFLICT (id) DO UPDATE SET
  customer_id = EXCLUDED.customer_id, started_at = EXCLUDED.started_at, channel = EXCLUDED.channel,
  topic = EXCLUDED.topic, sentiment = EXCLUDED.sentiment, notes = EXCLUDED.notes, product_id = EXCLUDED.product_id
)sql";

}  // namespace

std::string JsonQuote(absl::string_view s) { return Dump(JsonText(s)); }

std::string JsonTimestamp(const google::protobuf::Timestamp& ts, bool unset_is_null) {
  return Dump(JsonTime(ts, unset_is_null));
}

const std::vector<Resource>& Resources() {
  static const auto* resources = new std::vector<Resource>{
      {"products", true, FetchProducts, kStoreProducts, true,
       [](const mv1::WorldInfo& w) { return w.products(); }},
      {"reviews", true, FetchReviews, kStoreReviews, true,
       [](const mv1::WorldInfo& w) { return w.reviews(); }},
      {"customers", true, FetchCustomers, kStoreCustomers, false,
       [](const mv1::WorldInfo& w) { return w.customers(); }},
      {"interactions", true, FetchInteractions, kStoreInteractions, false,
       [](const mv1::WorldInfo& w) { return w.interactions(); }},
      {"campaign_posts", true, FetchCampaignPosts, kStoreCampaignPosts, false,
       [](const mv1::WorldInfo& w) { return w.campaign_posts(); }},
      {"contacts", true, FetchContacts, kStoreContacts, false,
       [](const mv1::WorldInfo& w) { return w.contacts(); }},
  };
  return *resources;
}

const Resource* FindResource(absl::string_view name) {
  for (const Resource& r : Resources()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::vector<std::string> ResourceNames() {
  std::vector<std::string> names;
  for (const Resource& r : Resources()) names.push_back(r.name);
  return names;
}

}  // namespace marketlens::collector
