// Test helpers shared by the analyzer's integration tests: a fresh database with the real migrations, and
// hand-made raw.* rows (products, reviews with chosen ratings and texts and dates, customers, contacts,
// interactions, campaign posts).
#ifndef MARKETLENS_SERVICES_ANALYZER_RAW_DATA_FIXTURE_H_
#define MARKETLENS_SERVICES_ANALYZER_RAW_DATA_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "common/testing/postgres_fixture.h"

namespace marketlens::analyzer::testing {

absl::Status AddProduct(postgres::PgPool& pool, const std::string& id, const std::string& title,
                        const std::string& brand, const std::string& category, int64_t price_cents = 1999);
absl::Status AddReview(postgres::PgPool& pool, const std::string& id, const std::string& product_id,
                       int rating, const std::string& title, const std::string& text, absl::Time created_at,
                       int version = 1, const std::string& customer_id = "");

// `n` plausible reviews of a product between `from` and `to` (evenly spaced), good (4-5 stars, praise) or bad
// (1-2 stars, complaints incl. an issue phrase), ids prefix-0..n-1.
absl::Status AddReviews(postgres::PgPool& pool, const std::string& prefix, const std::string& product_id,
                        int n, bool good, absl::Time from, absl::Time to, int seed = 1);

// `n` reviews whose opinion only words the general lexicon lacks carry (a clasp that "clicks shut" and
// "stays put", or "unlatches" and "slides off"), alternating good (5 stars) and bad (1 star), with neutral
// titles: rules alone cannot tell them apart, a model trained on the ratings can, so its gate lets it go
// live.
absl::Status AddDomainWordReviews(postgres::PgPool& pool, const std::string& prefix,
                                  const std::string& product_id, int n, absl::Time from, absl::Time to);

// Runs a query and returns the first column of the first row as text ("" when no row / NULL).
std::string Scalar(postgres::PgPool& pool, const std::string& sql);

}  // namespace marketlens::analyzer::testing

#endif  // MARKETLENS_SERVICES_ANALYZER_RAW_DATA_FIXTURE_H_
