#include "services/marketplace/world.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/macros.h"

namespace marketlens::marketplace {
namespace {

// First position p in [0, n) whose key is > after (keys ascending); 0 when after is empty.
template <typename KeyFn>
size_t FirstAfter(size_t n, absl::string_view after, KeyFn key) {
  if (after.empty()) return 0;
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (absl::string_view(key(mid)) > after) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// First position p in [0, n) with time(p) >= since (times ascending).
template <typename TimeFn>
size_t FirstSince(size_t n, int64_t since_us, TimeFn time_us) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (time_us(mid) >= since_us) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// Walks positions [begin, end), keeps up to `limit` matches and looks ahead for one more: if there is one,
// next_after is the key of the last kept item.
template <typename T, typename MatchFn, typename MakeFn, typename KeyFn>
Page<T> Collect(size_t begin, size_t end, int limit, MatchFn match, MakeFn make, KeyFn key) {
  Page<T> page;
  if (limit < 1) limit = 1;
  page.items.reserve(std::min<size_t>(limit, end > begin ? end - begin : 0));
  size_t last = 0;
  for (size_t p = begin; p < end; ++p) {
    if (!match(p)) continue;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_after = std::string(key(last));
      return page;
    }
    page.items.push_back(make(p));
    last = p;
  }
  return page;
}

int64_t Micros(const google::protobuf::Timestamp& ts) { return ts.seconds() * 1000000 + ts.nanos() / 1000; }

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

absl::Status Invalid(absl::string_view what, absl::string_view id) {
  return absl::InvalidArgumentError(absl::StrCat("world: ", what, " (at id \"", id, "\")"));
}

template <typename T>
absl::Status CheckIdOrder(const std::vector<T>& items, absl::string_view list) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].id().empty()) return Invalid(absl::StrCat(list, ": empty id"), "");
    if (i > 0 && !(items[i - 1].id() < items[i].id())) {
      return Invalid(absl::StrCat(list, ": ids not strictly increasing"), items[i].id());
    }
  }
  return absl::OkStatus();
}

std::string CaptionKey(const v1::CaptionTruth& t) { return absl::StrCat(t.platform(), "/", t.angle()); }

}  // namespace

std::string InteractionId(size_t index) { return absl::StrFormat("I%010d", index + 1); }
std::string SessionId(uint32_t session) {
  return session == 0 ? std::string() : absl::StrFormat("S%09d", session);
}
std::string ReviewId(size_t index) { return absl::StrFormat("R%09d", index + 1); }
std::string ContactId(size_t index) { return absl::StrFormat("K%09d", index + 1); }

absl::string_view DeviceName(uint8_t device) {
  switch (device) {
    case 1:
      return "mobile";
    case 2:
      return "desktop";
    case 3:
      return "tablet";
    default:
      return "";
  }
}

absl::string_view InteractionTypeName(int type) {
  switch (type) {
    case v1::INTERACTION_TYPE_VIEW:
      return "view";
    case v1::INTERACTION_TYPE_ADD_TO_CART:
      return "add_to_cart";
    case v1::INTERACTION_TYPE_PURCHASE:
      return "purchase";
    case v1::INTERACTION_TYPE_RATING:
      return "rating";
    default:
      return "unspecified";
  }
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t us = absl::ToUnixMicros(t);
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<std::unique_ptr<World>> World::Create(WorldData data) {
  std::unique_ptr<World> w(new World());
  absl::MutexLock lock(&w->mu_);
  w->d_ = std::move(data);
  RETURN_IF_ERROR(w->BuildIndexes());
  w->has_truth_ = !w->d_.product_truth.empty();
  return w;
}

absl::Status World::BuildIndexes() {
  WorldData& d = d_;
  RETURN_IF_ERROR(CheckIdOrder(d.products, "products"));
  RETURN_IF_ERROR(CheckIdOrder(d.customers, "customers"));
  RETURN_IF_ERROR(CheckIdOrder(d.posts, "campaign_posts"));
  for (size_t i = 0; i < d.reviews.size(); ++i) {
    if (d.reviews[i].id() != ReviewId(i))
      return Invalid("reviews: id must be ReviewId(position)", d.reviews[i].id());
  }
  for (size_t i = 0; i < d.contacts.size(); ++i) {
    if (d.contacts[i].id() != ContactId(i))
      return Invalid("contacts: id must be ContactId(position)", d.contacts[i].id());
    if (i > 0 && Micros(d.contacts[i].started_at()) < Micros(d.contacts[i - 1].started_at())) {
      return Invalid("contacts: not in time order", d.contacts[i].id());
    }
  }
  if (!d.product_truth.empty() && d.product_truth.size() != d.products.size()) {
    return Invalid("product_truth must be parallel to products", "");
  }
  if (!d.customer_truth.empty() && d.customer_truth.size() != d.customers.size()) {
    return Invalid("customer_truth must be parallel to customers", "");
  }
  if (!d.review_truth.empty() && d.review_truth.size() != d.reviews.size()) {
    return Invalid("review_truth must be parallel to reviews", "");
  }
  for (size_t i = 1; i < d.caption_truth.size(); ++i) {
    if (!(CaptionKey(d.caption_truth[i - 1]) < CaptionKey(d.caption_truth[i]))) {
      return Invalid("caption_truth: not in (platform, angle) order", CaptionKey(d.caption_truth[i]));
    }
  }
  // A change time for every customer and post (never changed: when they appeared).
  for (v1::Customer& c : d.customers) {
    if (!c.has_updated_at()) *c.mutable_updated_at() = c.created_at();
  }
  for (v1::CampaignPost& p : d.posts) {
    if (!p.has_updated_at()) *p.mutable_updated_at() = p.posted_at();
  }
  for (size_t i = 1; i < d.influencer_truth.size(); ++i) {
    if (!(d.influencer_truth[i - 1].influencer() < d.influencer_truth[i].influencer())) {
      return Invalid("influencer_truth: not in influencer order", d.influencer_truth[i].influencer());
    }
  }

  product_index_.clear();
  products_by_category_.clear();
  for (uint32_t i = 0; i < d.products.size(); ++i) {
    product_index_[d.products[i].id()] = i;
    products_by_category_[d.products[i].category()].push_back(i);
  }
  customer_index_.clear();
  for (uint32_t i = 0; i < d.customers.size(); ++i) customer_index_[d.customers[i].id()] = i;

  reviews_by_product_.assign(d.products.size(), {});
  rating_sum_.assign(d.products.size(), 0);
  rating_count_.assign(d.products.size(), 0);
  for (uint32_t i = 0; i < d.reviews.size(); ++i) {
    auto it = product_index_.find(d.reviews[i].product_id());
    if (it == product_index_.end()) return Invalid("review of an unknown product", d.reviews[i].id());
    reviews_by_product_[it->second].push_back(i);
    rating_sum_[it->second] += d.reviews[i].rating();
    rating_count_[it->second] += 1;
  }
  for (size_t p = 0; p < d.products.size(); ++p) RecomputeRating(p);

  interactions_by_customer_.assign(d.customers.size(), {});
  for (uint32_t i = 0; i < d.interactions.size(); ++i) {
    const InteractionRecord& r = d.interactions[i];
    if (r.customer >= d.customers.size() || r.product >= d.products.size()) {
      return Invalid("interaction refers to an unknown customer or product", InteractionId(i));
    }
    if (i > 0 && r.time_us < d.interactions[i - 1].time_us) {
      return Invalid("interactions: not in time order", InteractionId(i));
    }
    interactions_by_customer_[r.customer].push_back(i);
    max_session_ = std::max(max_session_, r.session);
  }
  contacts_by_customer_.assign(d.customers.size(), {});
  for (uint32_t i = 0; i < d.contacts.size(); ++i) {
    auto it = customer_index_.find(d.contacts[i].customer_id());
    if (it != customer_index_.end()) contacts_by_customer_[it->second].push_back(i);
  }
  posts_by_campaign_.clear();
  for (uint32_t i = 0; i < d.posts.size(); ++i) posts_by_campaign_[d.posts[i].campaign_id()].push_back(i);
  return absl::OkStatus();
}

void World::RecomputeRating(size_t product) {
  v1::Product& p = d_.products[product];
  const int32_t n = rating_count_[product];
  p.set_rating_count(n);
  p.set_rating_average(n == 0 ? 0.0 : std::round(100.0 * rating_sum_[product] / n) / 100.0);
}

// ---- reads
// -------------------------------------------------------------------------------------------------

Page<v1::Product> World::ListProducts(const ProductQuery& q) const {
  absl::ReaderMutexLock lock(&mu_);
  const std::optional<int64_t> since =
      q.updated_since ? std::optional<int64_t>(Micros(*q.updated_since)) : std::nullopt;
  auto match = [&](const v1::Product& p) { return !since || Micros(p.updated_at()) >= *since; };
  if (q.category.empty()) {
    const auto& all = d_.products;
    const size_t begin =
        FirstAfter(all.size(), q.after, [&](size_t i) -> const std::string& { return all[i].id(); });
    return Collect<v1::Product>(
        begin, all.size(), q.limit, [&](size_t i) { return match(all[i]); }, [&](size_t i) { return all[i]; },
        [&](size_t i) -> const std::string& { return all[i].id(); });
  }
  auto it = products_by_category_.find(q.category);
  if (it == products_by_category_.end()) return {};
  const std::vector<uint32_t>& list = it->second;
  auto id = [&](size_t i) -> const std::string& { return d_.products[list[i]].id(); };
  const size_t begin = FirstAfter(list.size(), q.after, id);
  return Collect<v1::Product>(
      begin, list.size(), q.limit, [&](size_t i) { return match(d_.products[list[i]]); },
      [&](size_t i) { return d_.products[list[i]]; }, id);
}

std::optional<v1::Product> World::GetProduct(absl::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = product_index_.find(id);
  if (it == product_index_.end()) return std::nullopt;
  return d_.products[it->second];
}

bool World::HasProduct(absl::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  return product_index_.contains(id);
}

bool World::HasCustomer(absl::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  return customer_index_.contains(id);
}

Page<v1::Review> World::ListReviews(const ReviewQuery& q) const {
  absl::ReaderMutexLock lock(&mu_);
  const std::optional<int64_t> since = q.since ? std::optional<int64_t>(Micros(*q.since)) : std::nullopt;
  auto match = [&](const v1::Review& r) { return !since || Micros(r.updated_at()) >= *since; };
  const auto& all = d_.reviews;
  if (q.product_id.empty()) {
    auto id = [&](size_t i) -> const std::string& { return all[i].id(); };
    return Collect<v1::Review>(
        FirstAfter(all.size(), q.after, id), all.size(), q.limit, [&](size_t i) { return match(all[i]); },
        [&](size_t i) { return all[i]; }, id);
  }
  auto it = product_index_.find(q.product_id);
  if (it == product_index_.end()) return {};
  const std::vector<uint32_t>& list = reviews_by_product_[it->second];
  auto id = [&](size_t i) -> const std::string& { return all[list[i]].id(); };
  return Collect<v1::Review>(
      FirstAfter(list.size(), q.after, id), list.size(), q.limit,
      [&](size_t i) { return match(all[list[i]]); }, [&](size_t i) { return all[list[i]]; }, id);
}

Page<v1::Customer> World::ListCustomers(absl::string_view after, int limit,
                                        std::optional<absl::Time> updated_since) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.customers;
  const int64_t since = updated_since ? Micros(*updated_since) : std::numeric_limits<int64_t>::min();
  auto id = [&](size_t i) -> const std::string& { return all[i].id(); };
  return Collect<v1::Customer>(
      FirstAfter(all.size(), after, id), all.size(), limit,
      [&](size_t i) { return Micros(all[i].updated_at()) >= since; }, [&](size_t i) { return all[i]; }, id);
}

v1::Interaction World::InteractionProto(size_t index) const {
  const InteractionRecord& r = d_.interactions[index];
  v1::Interaction out;
  out.set_id(InteractionId(index));
  out.set_customer_id(d_.customers[r.customer].id());
  out.set_product_id(d_.products[r.product].id());
  out.set_type(static_cast<v1::InteractionType>(r.type));
  if (r.rating > 0) out.set_rating(r.rating);
  out.set_session_id(SessionId(r.session));
  out.set_device(std::string(DeviceName(r.device)));
  ToProto(absl::FromUnixMicros(r.time_us), out.mutable_occurred_at());
  return out;
}

Page<v1::Interaction> World::ListInteractions(const InteractionQuery& q) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.interactions;
  if (q.customer_id.empty()) {
    size_t begin = FirstAfter(all.size(), q.after, [](size_t i) { return InteractionId(i); });
    if (q.since) {
      const int64_t since = Micros(*q.since);
      begin = std::max(begin, FirstSince(all.size(), since, [&](size_t i) { return all[i].time_us; }));
    }
    return Collect<v1::Interaction>(
        begin, all.size(), q.limit, [](size_t) { return true; },
        [&](size_t i) { return InteractionProto(i); }, [](size_t i) { return InteractionId(i); });
  }
  auto it = customer_index_.find(q.customer_id);
  if (it == customer_index_.end()) return {};
  const std::vector<uint32_t>& list = interactions_by_customer_[it->second];
  size_t begin = FirstAfter(list.size(), q.after, [&](size_t i) { return InteractionId(list[i]); });
  if (q.since) {
    const int64_t since = Micros(*q.since);
    begin = std::max(begin, FirstSince(list.size(), since, [&](size_t i) { return all[list[i]].time_us; }));
  }
  return Collect<v1::Interaction>(
      begin, list.size(), q.limit, [](size_t) { return true; },
      [&](size_t i) { return InteractionProto(list[i]); }, [&](size_t i) { return InteractionId(list[i]); });
}

Page<v1::CampaignPost> World::ListCampaignPosts(absl::string_view campaign_id, absl::string_view after,
                                                int limit, std::optional<absl::Time> updated_since) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.posts;
  const int64_t since = updated_since ? Micros(*updated_since) : std::numeric_limits<int64_t>::min();
  auto changed = [&](size_t i) { return Micros(all[i].updated_at()) >= since; };
  if (campaign_id.empty()) {
    auto id = [&](size_t i) -> const std::string& { return all[i].id(); };
    return Collect<v1::CampaignPost>(
        FirstAfter(all.size(), after, id), all.size(), limit, changed, [&](size_t i) { return all[i]; }, id);
  }
  auto it = posts_by_campaign_.find(campaign_id);
  if (it == posts_by_campaign_.end()) return {};
  const std::vector<uint32_t>& list = it->second;
  auto id = [&](size_t i) -> const std::string& { return all[list[i]].id(); };
  return Collect<v1::CampaignPost>(
      FirstAfter(list.size(), after, id), list.size(), limit, [&](size_t i) { return changed(list[i]); },
      [&](size_t i) { return all[list[i]]; }, id);
}

Page<v1::Contact> World::ListContacts(const ContactQuery& q) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.contacts;
  if (q.customer_id.empty()) {
    auto id = [&](size_t i) -> const std::string& { return all[i].id(); };
    size_t begin = FirstAfter(all.size(), q.after, id);
    if (q.since) {
      const int64_t since = Micros(*q.since);
      begin = std::max(begin,
                       FirstSince(all.size(), since, [&](size_t i) { return Micros(all[i].started_at()); }));
    }
    return Collect<v1::Contact>(
        begin, all.size(), q.limit, [](size_t) { return true; }, [&](size_t i) { return all[i]; }, id);
  }
  auto it = customer_index_.find(q.customer_id);
  if (it == customer_index_.end()) return {};
  const std::vector<uint32_t>& list = contacts_by_customer_[it->second];
  auto id = [&](size_t i) -> const std::string& { return all[list[i]].id(); };
  size_t begin = FirstAfter(list.size(), q.after, id);
  if (q.since) {
    const int64_t since = Micros(*q.since);
    begin = std::max(
        begin, FirstSince(list.size(), since, [&](size_t i) { return Micros(all[list[i]].started_at()); }));
  }
  return Collect<v1::Contact>(
      begin, list.size(), q.limit, [](size_t) { return true; }, [&](size_t i) { return all[list[i]]; }, id);
}

Page<v1::ProductTruth> World::ListProductTruth(absl::string_view after, int limit) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.product_truth;
  auto id = [&](size_t i) -> const std::string& { return all[i].product_id(); };
  return Collect<v1::ProductTruth>(
      FirstAfter(all.size(), after, id), all.size(), limit, [](size_t) { return true; },
      [&](size_t i) { return all[i]; }, id);
}

Page<v1::ReviewTruth> World::ListReviewTruth(absl::string_view product_id, absl::string_view after,
                                             int limit) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.review_truth;
  if (all.empty()) return {};
  if (product_id.empty()) {
    auto id = [&](size_t i) -> const std::string& { return all[i].review_id(); };
    return Collect<v1::ReviewTruth>(
        FirstAfter(all.size(), after, id), all.size(), limit, [](size_t) { return true; },
        [&](size_t i) { return all[i]; }, id);
  }
  auto it = product_index_.find(product_id);
  if (it == product_index_.end()) return {};
  const std::vector<uint32_t>& list = reviews_by_product_[it->second];
  auto id = [&](size_t i) -> const std::string& { return all[list[i]].review_id(); };
  return Collect<v1::ReviewTruth>(
      FirstAfter(list.size(), after, id), list.size(), limit, [](size_t) { return true; },
      [&](size_t i) { return all[list[i]]; }, id);
}

Page<v1::CustomerTruth> World::ListCustomerTruth(absl::string_view after, int limit) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.customer_truth;
  auto id = [&](size_t i) -> const std::string& { return all[i].customer_id(); };
  return Collect<v1::CustomerTruth>(
      FirstAfter(all.size(), after, id), all.size(), limit, [](size_t) { return true; },
      [&](size_t i) { return all[i]; }, id);
}

Page<v1::InfluencerTruth> World::ListInfluencerTruth(absl::string_view after, int limit) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.influencer_truth;
  auto id = [&](size_t i) -> const std::string& { return all[i].influencer(); };
  return Collect<v1::InfluencerTruth>(
      FirstAfter(all.size(), after, id), all.size(), limit, [](size_t) { return true; },
      [&](size_t i) { return all[i]; }, id);
}

Page<v1::CaptionTruth> World::ListCaptionTruth(absl::string_view after, int limit) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto& all = d_.caption_truth;
  auto id = [&](size_t i) { return CaptionKey(all[i]); };
  return Collect<v1::CaptionTruth>(
      FirstAfter(all.size(), after, id), all.size(), limit, [](size_t) { return true; },
      [&](size_t i) { return all[i]; }, id);
}

v1::WorldInfo World::Info() const {
  absl::ReaderMutexLock lock(&mu_);
  v1::WorldInfo info;
  info.set_source(d_.source);
  info.set_seed(d_.seed);
  ToProto(d_.now, info.mutable_world_time());
  info.set_products(d_.products.size());
  info.set_reviews(d_.reviews.size());
  info.set_customers(d_.customers.size());
  info.set_interactions(d_.interactions.size());
  info.set_campaign_posts(d_.posts.size());
  info.set_contacts(d_.contacts.size());
  for (const auto& f : d_.replay_files) *info.add_replay_files() = f;
  std::vector<std::string> categories;
  for (const auto& [name, list] : products_by_category_) categories.push_back(name);
  std::sort(categories.begin(), categories.end());
  for (auto& c : categories) info.add_categories(std::move(c));
  return info;
}

absl::Time World::Now() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.now;
}

WorldData World::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_;
}

size_t World::product_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.products.size();
}
size_t World::customer_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.customers.size();
}
size_t World::review_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.reviews.size();
}
size_t World::interaction_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.interactions.size();
}

size_t World::post_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return d_.posts.size();
}

std::optional<v1::CampaignPost> World::PostAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.posts.size()) return std::nullopt;
  return d_.posts[index];
}

std::optional<v1::Product> World::ProductAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.products.size()) return std::nullopt;
  return d_.products[index];
}
std::optional<v1::ProductTruth> World::ProductTruthAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.product_truth.size()) return std::nullopt;
  return d_.product_truth[index];
}
std::optional<v1::CustomerTruth> World::CustomerTruthAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.customer_truth.size()) return std::nullopt;
  return d_.customer_truth[index];
}
std::optional<v1::Customer> World::CustomerAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.customers.size()) return std::nullopt;
  return d_.customers[index];
}
std::optional<World::ReviewWithTruth> World::ReviewAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.reviews.size()) return std::nullopt;
  ReviewWithTruth out{d_.reviews[index], std::nullopt};
  if (index < d_.review_truth.size()) out.truth = d_.review_truth[index];
  return out;
}
std::optional<InteractionRecord> World::InteractionAt(size_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index >= d_.interactions.size()) return std::nullopt;
  return d_.interactions[index];
}

std::vector<int32_t> World::Stocks() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<int32_t> out;
  out.reserve(d_.products.size());
  for (const auto& p : d_.products) out.push_back(p.stock());
  return out;
}

uint32_t World::max_session() const {
  absl::ReaderMutexLock lock(&mu_);
  return max_session_;
}

World::Activity World::ActivitySince(absl::Time since) const {
  absl::ReaderMutexLock lock(&mu_);
  Activity a;
  const int64_t us = Micros(since);
  for (const auto& r : d_.reviews) a.reviews += Micros(r.created_at()) >= us;
  const auto& all = d_.interactions;
  for (size_t i = FirstSince(all.size(), us, [&](size_t k) { return all[k].time_us; }); i < all.size(); ++i) {
    if (all[i].type < 5) a.interactions[all[i].type]++;
  }
  return a;
}

// ---- writes -----------------------------------------------------------------------------------------------

void World::AdvanceTo(absl::Time t) {
  absl::MutexLock lock(&mu_);
  if (t > d_.now) d_.now = t;
}

absl::StatusOr<std::string> World::AddReview(v1::Review review, std::optional<v1::ReviewTruth> truth,
                                             absl::Time at) {
  absl::MutexLock lock(&mu_);
  auto it = product_index_.find(review.product_id());
  if (it == product_index_.end())
    return absl::NotFoundError(absl::StrCat("no product ", review.product_id()));
  const size_t index = d_.reviews.size();
  const std::string id = ReviewId(index);
  review.set_id(id);
  review.set_version(1);
  ToProto(at, review.mutable_created_at());
  ToProto(at, review.mutable_updated_at());
  const uint32_t product = it->second;
  rating_sum_[product] += review.rating();
  rating_count_[product] += 1;
  d_.reviews.push_back(std::move(review));
  if (has_truth_) {
    v1::ReviewTruth t = truth.value_or(v1::ReviewTruth());
    t.set_review_id(id);
    t.set_product_id(d_.reviews.back().product_id());
    t.set_version(1);
    d_.review_truth.push_back(std::move(t));
  }
  reviews_by_product_[product].push_back(static_cast<uint32_t>(index));
  RecomputeRating(product);
  ToProto(at, d_.products[product].mutable_updated_at());
  if (at > d_.now) d_.now = at;
  return id;
}

absl::Status World::EditReview(size_t index, int rating, absl::string_view title, absl::string_view text,
                               std::optional<v1::ReviewTruth> truth, absl::Time at) {
  absl::MutexLock lock(&mu_);
  if (index >= d_.reviews.size()) return absl::NotFoundError("no such review");
  v1::Review& r = d_.reviews[index];
  const uint32_t product = product_index_.at(r.product_id());
  rating_sum_[product] += rating - r.rating();
  r.set_rating(rating);
  r.set_title(std::string(title));
  r.set_text(std::string(text));
  r.set_version(r.version() + 1);
  ToProto(at, r.mutable_updated_at());
  if (has_truth_ && index < d_.review_truth.size()) {
    v1::ReviewTruth t = truth.value_or(d_.review_truth[index]);
    t.set_review_id(r.id());
    t.set_product_id(r.product_id());
    t.set_version(r.version());
    d_.review_truth[index] = std::move(t);
  }
  RecomputeRating(product);
  ToProto(at, d_.products[product].mutable_updated_at());
  if (at > d_.now) d_.now = at;
  return absl::OkStatus();
}

absl::Status World::AddInteraction(InteractionRecord record) {
  absl::MutexLock lock(&mu_);
  if (record.customer >= d_.customers.size() || record.product >= d_.products.size()) {
    return absl::InvalidArgumentError("interaction refers to an unknown customer or product");
  }
  if (!d_.interactions.empty() && record.time_us < d_.interactions.back().time_us) {
    record.time_us = d_.interactions.back().time_us;
  }
  const uint32_t index = static_cast<uint32_t>(d_.interactions.size());
  if (record.type == v1::INTERACTION_TYPE_PURCHASE) {
    v1::Product& p = d_.products[record.product];
    if (p.stock() > 0) {
      p.set_stock(p.stock() - 1);
      ToProto(absl::FromUnixMicros(record.time_us), p.mutable_updated_at());
    }
  }
  max_session_ = std::max(max_session_, record.session);
  d_.interactions.push_back(record);
  interactions_by_customer_[record.customer].push_back(index);
  const absl::Time t = absl::FromUnixMicros(record.time_us);
  if (t > d_.now) d_.now = t;
  return absl::OkStatus();
}

absl::Status World::UpdateProduct(size_t index, std::optional<int64_t> price_cents,
                                  std::optional<int32_t> stock, absl::Time at) {
  absl::MutexLock lock(&mu_);
  if (index >= d_.products.size()) return absl::NotFoundError("no such product");
  v1::Product& p = d_.products[index];
  if (price_cents) p.set_price_cents(std::max<int64_t>(0, *price_cents));
  if (stock) p.set_stock(std::max<int32_t>(0, *stock));
  ToProto(at, p.mutable_updated_at());
  if (at > d_.now) d_.now = at;
  return absl::OkStatus();
}

absl::Status World::UpdateCustomerSegment(size_t index, absl::string_view segment, absl::Time at) {
  absl::MutexLock lock(&mu_);
  if (index >= d_.customers.size()) return absl::NotFoundError("no such customer");
  v1::Customer& c = d_.customers[index];
  c.set_segment(std::string(segment));
  ToProto(at, c.mutable_updated_at());
  if (at > d_.now) d_.now = at;
  return absl::OkStatus();
}

absl::Status World::UpdatePostCounts(size_t index, int64_t views, int64_t likes, int64_t comments,
                                     int64_t shares, absl::Time at) {
  absl::MutexLock lock(&mu_);
  if (index >= d_.posts.size()) return absl::NotFoundError("no such campaign post");
  v1::CampaignPost& p = d_.posts[index];
  p.set_views(std::max(p.views(), views));
  p.set_likes(std::max(p.likes(), likes));
  p.set_comments(std::max(p.comments(), comments));
  p.set_shares(std::max(p.shares(), shares));
  ToProto(at, p.mutable_updated_at());
  if (at > d_.now) d_.now = at;
  return absl::OkStatus();
}

absl::StatusOr<std::string> World::AddContact(v1::Contact contact) {
  absl::MutexLock lock(&mu_);
  const size_t index = d_.contacts.size();
  const std::string id = ContactId(index);
  contact.set_id(id);
  if (!d_.contacts.empty() && Micros(contact.started_at()) < Micros(d_.contacts.back().started_at())) {
    *contact.mutable_started_at() = d_.contacts.back().started_at();
  }
  auto it = customer_index_.find(contact.customer_id());
  if (it != customer_index_.end()) contacts_by_customer_[it->second].push_back(static_cast<uint32_t>(index));
  const absl::Time t = FromProto(contact.started_at());
  d_.contacts.push_back(std::move(contact));
  if (t > d_.now) d_.now = t;
  return id;
}

}  // namespace marketlens::marketplace
