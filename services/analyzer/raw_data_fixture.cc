#include "services/analyzer/raw_data_fixture.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::analyzer::testing {

absl::Status AddProduct(postgres::PgPool& pool, const std::string& id, const std::string& title,
                        const std::string& brand, const std::string& category, int64_t price_cents) {
  return pool
      .Exec(
          "INSERT INTO raw.products (id, title, brand, category, price_cents, updated_at)"
          " VALUES ($1, $2, $3, $4, $5, now())",
          id, title, brand, category, price_cents)
      .status();
}

absl::Status AddReview(postgres::PgPool& pool, const std::string& id, const std::string& product_id,
                       int rating, const std::string& title, const std::string& text, absl::Time created_at,
                       int version, const std::string& customer_id) {
  const std::string at = absl::FormatTime(absl::RFC3339_full, created_at, absl::UTCTimeZone());
  return pool
      .Exec(
          "INSERT INTO raw.reviews (id, product_id, customer_id, rating, title, text, created_at, "
          "updated_at, version)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz, $8)"
          " ON CONFLICT (id) DO UPDATE SET rating = EXCLUDED.rating, title = EXCLUDED.title, text = "
          "EXCLUDED.text,"
          "   version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
          id, product_id, customer_id, rating, title, text, at, version)
      .status();
}

absl::Status AddReviews(postgres::PgPool& pool, const std::string& prefix, const std::string& product_id,
                        int n, bool good, absl::Time from, absl::Time to, int seed) {
  static const char* kGood[] = {"Love it, the battery lasts for days and the sound is crisp.",
                                "Works perfectly, very happy with it. Great value for the price.",
                                "Excellent build quality, feels sturdy. Would recommend.",
                                "Great little speaker, easy to pair and the bass is rich.",
                                "Really good, setup was simple and it does exactly what I wanted."};
  static const char* kBad[] = {"It stopped working after two weeks. Total waste of money.",
                               "The handle snapped after a month, cheaply made and flimsy.",
                               "Terrible, the battery dies after an hour. Returned it.",
                               "Stopped charging after ten days, customer service never answered.",
                               "Awful sound, tinny and muffled. It died after a week."};
  for (int i = 0; i < n; ++i) {
    const int k = (i * 7 + seed) % 5;
    const int rating = good ? 4 + (i + seed) % 2 : 1 + (i + seed) % 2;
    const absl::Time at = n > 1 ? from + (to - from) * i / (n - 1) : from;
    RETURN_IF_ERROR(AddReview(pool, absl::StrCat(prefix, "-", i), product_id, rating, good ? "Great" : "Bad",
                              good ? kGood[k] : kBad[k], at));
  }
  return absl::OkStatus();
}

absl::Status AddDomainWordReviews(postgres::PgPool& pool, const std::string& prefix,
                                  const std::string& product_id, int n, absl::Time from, absl::Time to) {
  static const char* kGood[] = {"The clasp clicks shut and stays put on the wrist.",
                                "Clasp clicks shut every time, the band stays put.",
                                "It clicks shut firmly and stays put all day."};
  static const char* kBad[] = {"The clasp unlatches and slides off the wrist.",
                               "Clasp unlatches by itself, the band slides off.",
                               "It unlatches on its own and slides off all day."};
  for (int i = 0; i < n; ++i) {
    const bool good = i % 2 == 0;
    const absl::Time at = n > 1 ? from + (to - from) * i / (n - 1) : from;
    RETURN_IF_ERROR(AddReview(pool, absl::StrCat(prefix, "-", i), product_id, good ? 5 : 1, "Clasp",
                              good ? kGood[(i / 2) % 3] : kBad[(i / 2) % 3], at));
  }
  return absl::OkStatus();
}

std::string Scalar(postgres::PgPool& pool, const std::string& sql) {
  auto r = pool.Exec(sql);
  EXPECT_THAT(r, ::marketlens::testing::IsOk()) << " in " << sql;
  if (!r.ok() || r->empty() || (*r)[0][0].is_null()) return "";
  return (*r)[0][0].as<std::string>();
}

}  // namespace marketlens::analyzer::testing
