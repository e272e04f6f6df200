// The marketplace's data in memory, served by keyset pagination. Every list is ordered by a key that never
// changes (the item id; ids are assigned in creation order), so a walk that resumes "after key K" returns
// every item that existed when it started exactly once, whatever the simulated clock adds or edits in
// between (edits change updated_at, never the position). Filters are applied during the walk; `since`
// filters on append-only, time-ordered lists (interactions, contacts) start with a binary search.
//
// Thread-safe: any number of readers run concurrently with the simulated clock's writes (absl::Mutex in
// reader/writer mode). Readers get copies, so nothing they hold changes under them.
#ifndef MARKETLENS_SERVICES_MARKETPLACE_WORLD_H_
#define MARKETLENS_SERVICES_MARKETPLACE_WORLD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "marketlens/marketplace/v1/marketplace.pb.h"

namespace marketlens::marketplace {

namespace v1 = ::marketlens::marketplace::v1;

// An interaction, compactly (a default world has hundreds of thousands). Its id is its position:
// InteractionId(i) = "I" + 10 digits of i + 1.
struct InteractionRecord {
  int64_t time_us = 0;    // occurred_at, microseconds since the Unix epoch
  uint32_t customer = 0;  // index into the customers (id order)
  uint32_t product = 0;   // index into the products (id order)
  uint32_t session = 0;   // 0: no session; else session_id "S" + 9 digits
  uint8_t type = 0;       // v1::InteractionType
  uint8_t rating = 0;     // 1..5 for RATING events
  uint8_t device = 0;     // 0 none, 1 mobile, 2 desktop, 3 tablet
};

std::string InteractionId(size_t index);
std::string SessionId(uint32_t session);
std::string ReviewId(size_t index);   // "R" + 9 digits of index + 1
std::string ContactId(size_t index);  // "K" + 9 digits of index + 1
absl::string_view DeviceName(uint8_t device);
absl::string_view InteractionTypeName(int type);  // "view", "add_to_cart", "purchase", "rating"

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& ts);

// Everything a world is made of, as produced by the generator or the replay. Each list is in id order
// (ids strictly increasing); reviews use ReviewId(i) and contacts ContactId(i); interactions and contacts
// are in time order too. Truth lists are empty (replay) or parallel to their lists.
struct WorldData {
  std::string source = "generator";  // or "replay"
  uint64_t seed = 0;
  absl::Time now = absl::UnixEpoch();  // the world's clock: no item is newer
  std::vector<v1::Product> products;
  std::vector<v1::Customer> customers;
  std::vector<v1::Review> reviews;
  std::vector<InteractionRecord> interactions;
  std::vector<v1::CampaignPost> posts;
  std::vector<v1::Contact> contacts;
  std::vector<v1::ProductTruth> product_truth;
  std::vector<v1::CustomerTruth> customer_truth;
  std::vector<v1::ReviewTruth> review_truth;
  std::vector<v1::InfluencerTruth> influencer_truth;  // in influencer order
  std::vector<v1::CaptionTruth> caption_truth;        // in (platform, angle) order
  std::vector<v1::ReplayFileStats> replay_files;
};

// One page: the items and, when more items match, the key to resume after.
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_after;  // empty on the last page
};

class World {
 public:
  // Checks the invariants above, fills products' rating_average/rating_count from the reviews and builds
  // the indexes. INVALID_ARGUMENT naming the first broken invariant.
  static absl::StatusOr<std::unique_ptr<World>> Create(WorldData data);

  // ---- reads (thread-safe) ------------------------------------------------------------------------------
  // `after` is the key of the last item of the previous page ("" for the first page); `limit` >= 1.
  struct ProductQuery {
    std::string category;                     // "" = all
    std::optional<absl::Time> updated_since;  // updated_at >= since
    std::string after;
    int limit = 100;
  };
  Page<v1::Product> ListProducts(const ProductQuery& q) const;
  std::optional<v1::Product> GetProduct(absl::string_view id) const;
  bool HasProduct(absl::string_view id) const;
  bool HasCustomer(absl::string_view id) const;

  struct ReviewQuery {
    std::string product_id;           // "" = all products
    std::optional<absl::Time> since;  // updated_at >= since
    std::string after;
    int limit = 100;
  };
  Page<v1::Review> ListReviews(const ReviewQuery& q) const;

  // updated_since: only customers with updated_at >= it (created_at when never changed).
  Page<v1::Customer> ListCustomers(absl::string_view after, int limit,
                                   std::optional<absl::Time> updated_since = std::nullopt) const;

  struct InteractionQuery {
    std::string customer_id;          // "" = everyone
    std::optional<absl::Time> since;  // occurred_at >= since
    std::string after;
    int limit = 100;
  };
  Page<v1::Interaction> ListInteractions(const InteractionQuery& q) const;

  // updated_since: only posts with updated_at >= it (posted_at when their counts never changed).
  Page<v1::CampaignPost> ListCampaignPosts(absl::string_view campaign_id, absl::string_view after, int limit,
                                           std::optional<absl::Time> updated_since = std::nullopt) const;

  struct ContactQuery {
    std::string customer_id;
    std::optional<absl::Time> since;  // started_at >= since
    std::string after;
    int limit = 100;
  };
  Page<v1::Contact> ListContacts(const ContactQuery& q) const;

  bool has_truth() const { return has_truth_; }
  Page<v1::ProductTruth> ListProductTruth(absl::string_view after, int limit) const;
  Page<v1::ReviewTruth> ListReviewTruth(absl::string_view product_id, absl::string_view after,
                                        int limit) const;
  Page<v1::CustomerTruth> ListCustomerTruth(absl::string_view after, int limit) const;
  Page<v1::InfluencerTruth> ListInfluencerTruth(absl::string_view after, int limit) const;
  // Keyed by "platform/angle".
  Page<v1::CaptionTruth> ListCaptionTruth(absl::string_view after, int limit) const;

  // Source, seed, counts, now, categories and replay statistics (clock_speed is left 0).
  v1::WorldInfo Info() const;
  absl::Time Now() const;
  // A consistent copy of everything (for exports and tests).
  WorldData Snapshot() const;

  // Sizes and single items by position, for the simulated clock.
  size_t product_count() const;
  size_t customer_count() const;
  size_t review_count() const;
  size_t interaction_count() const;
  size_t post_count() const;
  std::optional<v1::CampaignPost> PostAt(size_t index) const;
  std::optional<v1::Product> ProductAt(size_t index) const;
  std::optional<v1::ProductTruth> ProductTruthAt(size_t index) const;
  std::optional<v1::CustomerTruth> CustomerTruthAt(size_t index) const;
  std::optional<v1::Customer> CustomerAt(size_t index) const;
  struct ReviewWithTruth {
    v1::Review review;
    std::optional<v1::ReviewTruth> truth;
  };
  std::optional<ReviewWithTruth> ReviewAt(size_t index) const;
  std::optional<InteractionRecord> InteractionAt(size_t index) const;
  // Every product's stock, by position.
  std::vector<int32_t> Stocks() const;
  // The highest session number used so far.
  uint32_t max_session() const;
  // Activity since `since`: reviews created, interactions by type (index = v1::InteractionType).
  struct Activity {
    int64_t reviews = 0;
    int64_t interactions[5] = {0, 0, 0, 0, 0};
  };
  Activity ActivitySince(absl::Time since) const;

  // ---- writes (the simulated clock) ----------------------------------------------------------------
  // Moves the clock forward (never back).
  void AdvanceTo(absl::Time t);
  // Appends a review (id, created_at, updated_at, version are set here, at `at`) and its truth (if this
  // world has truth). The product's rating and updated_at follow. Returns the new id, or NOT_FOUND for an
  // unknown product.
  absl::StatusOr<std::string> AddReview(v1::Review review, std::optional<v1::ReviewTruth> truth,
                                        absl::Time at);
  // Replaces a review's rating/title/text, bumps its version and updated_at.
  absl::Status EditReview(size_t index, int rating, absl::string_view title, absl::string_view text,
                          std::optional<v1::ReviewTruth> truth, absl::Time at);
  // Appends an interaction (its time is raised to the last one's, so the list stays in time order). A
  // purchase takes one item of stock (never below zero).
  absl::Status AddInteraction(InteractionRecord record);
  // New price and/or stock.
  absl::Status UpdateProduct(size_t index, std::optional<int64_t> price_cents, std::optional<int32_t> stock,
                             absl::Time at);
  // A customer's new segment (e.g. "new" -> "regular" after a first purchase); updated_at = at.
  absl::Status UpdateCustomerSegment(size_t index, absl::string_view segment, absl::Time at);
  // A post's counts grow as it keeps being seen (never shrink); updated_at = at.
  absl::Status UpdatePostCounts(size_t index, int64_t views, int64_t likes, int64_t comments, int64_t shares,
                                absl::Time at);
  // Appends a contact (id is set here; started_at raised to keep time order).
  absl::StatusOr<std::string> AddContact(v1::Contact contact);

 private:
  World() = default;
  absl::Status BuildIndexes() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Interaction InteractionProto(size_t index) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void RecomputeRating(size_t product) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  WorldData d_ ABSL_GUARDED_BY(mu_);
  bool has_truth_ = false;
  absl::flat_hash_map<std::string, uint32_t> product_index_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> customer_index_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<uint32_t>> products_by_category_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint32_t>> reviews_by_product_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint32_t>> interactions_by_customer_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint32_t>> contacts_by_customer_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<uint32_t>> posts_by_campaign_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> rating_sum_ ABSL_GUARDED_BY(mu_);
  std::vector<int32_t> rating_count_ ABSL_GUARDED_BY(mu_);
  uint32_t max_session_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_WORLD_H_
