// The rows the grounded content reads (content_service.h), each query a named constant in
// content_store.cc: a customer with their contacts, reviews and shop activity; contacts and reviews by id
// (what the retrieval index found); a product's rating and praised aspects; everything a brief reads about a
// product, its buyers and a platform's campaign posts. All reads are read-only transactions bounded by the
// request's deadline.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_STORE_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_STORE_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/analyzer/rag/brief_tools.h"

namespace marketlens::analyzer::rag {

struct Contact {
  std::string id, channel, topic, notes, product_id, product_title;
  int64_t micros = 0;
  bool has_sentiment = false;
  double sentiment = 0;
};
struct Review {
  std::string id, product_id, product_title, title, text;
  int rating = 0;
  int64_t micros = 0;
};
struct Activity {
  std::string product_id, title, category, last_id;
  int views = 0, carts = 0, purchases = 0;
  int64_t last_micros = 0;
};
struct Customer {
  std::string id, name, segment, region;
  std::string occupation;              // from the marketplace or an ingested customers sheet
  std::vector<std::string> discussed;  // products of discussion in the months of their contacts
  int64_t contacts_total = 0, shop_interactions = 0, reviews_total = 0;
  std::vector<Contact> contacts;   // newest first
  std::vector<Review> reviews;     // newest first
  std::vector<Activity> activity;  // most recent first
};

// A product's review figures and the aspects reviewers praise (polarity >= 0.3, >= 2 mentions), best first.
struct ProductPraise {
  double rating = 0;
  int review_count = 0;
  std::vector<std::string> praised;  // at most 2 aspects
};

// What a brief reads: the product that best matches the request, what reviewers say about it, who buys it,
// and the platform's campaign posts.
struct BriefData {
  struct Product {
    std::string id, title, brand, category;
    double rating = 0;
    int reviews = 0;
  } product;                                                            // id "" when nothing matched
  std::vector<std::pair<std::string, std::pair<int, double>>> praised;  // aspect -> (mentions, polarity)
  std::vector<std::pair<std::string, double>> issues;                   // category -> share
  double platform_er = -1, overall_er = -1;                             // engagement rates (-1: no views)
  int platform_posts = 0;
  std::vector<std::tuple<std::string, double, std::string>> top_influencers;  // (name, er, best post id)
  std::string segment, region;  // the buyers' largest segment and region
  double segment_share = 0;
  std::vector<CampaignPost> posts;  // the platform's, newest first
};

class ContentStore {
 public:
  explicit ContentStore(postgres::PgPool* pool) : pool_(pool) {}

  // NOT_FOUND when nothing at all is known about the customer.
  absl::StatusOr<Customer> LoadCustomer(const std::string& id, absl::Time deadline) const;
  // Rows the index found, read by id (the index keeps no texts). Unknown ids are skipped.
  absl::StatusOr<std::vector<Contact>> LoadContacts(const std::vector<std::string>& ids,
                                                    absl::Time deadline) const;
  absl::StatusOr<std::vector<Review>> LoadReviews(const std::vector<std::string>& ids,
                                                  absl::Time deadline) const;
  // Zero figures when the product has no insights yet.
  absl::StatusOr<ProductPraise> LoadProductPraise(const std::string& product_id, absl::Time deadline) const;
  // id -> title of the products that exist.
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> LoadTitles(
      const std::vector<std::string>& ids, absl::Time deadline) const;
  // `product` matches a title (substring) or an id, `brand` a brand; either may be empty. `platform` is
  // lower-case.
  absl::StatusOr<BriefData> LoadBriefData(const std::string& product, const std::string& brand,
                                          const std::string& platform, absl::Time deadline) const;

 private:
  postgres::PgPool* pool_;
};

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_STORE_H_
