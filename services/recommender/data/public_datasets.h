// Readers for the public datasets the recommender is measured on (../shared/data, see its SOURCES.md):
//   UCI Online Retail (online_retail_sample.csv): invoice lines as implicit purchases. One invoice is one
//     session (a basket), its time the event time; the catalogue gets the description as the title, the
//     description's last word as a coarse category (the product noun: HOLDER, BAG, MUG...), a price bucket
//     and the country. Cancellations (invoice "C..."), non-positive quantities or prices and non-product
//     codes (POST, M, DOT, BANK CHARGES...) are dropped; lines without a CustomerID are kept only with
//     keep_anonymous (as a one-session shopper "anon:<invoice>"), for session models.
//   Amazon 5-core reviews (JSON lines): each review is a rating event (overall, unixReviewTime); the
//     "style" value (e.g. " Print Magazine", gift amount) becomes the item's category.
// Every dropped line is counted in the report, and a malformed line is INVALID_ARGUMENT with its number.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_DATA_PUBLIC_DATASETS_H_
#define MARKETLENS_SERVICES_RECOMMENDER_DATA_PUBLIC_DATASETS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/recommender/data/interactions.h"

namespace marketlens::recommender {

struct PublicDatasetReport {
  int64_t lines = 0;
  int64_t kept = 0;
  int64_t cancellations = 0;
  int64_t non_positive = 0;  // quantity or price <= 0
  int64_t non_product = 0;   // postage, manual, bank charges, ...
  int64_t no_customer = 0;   // CustomerID NA (dropped unless keep_anonymous)
};

struct PublicDataset {
  InteractionLog log;
  ItemCatalog catalog;
  PublicDatasetReport report;
};

struct OnlineRetailOptions {
  bool keep_anonymous = false;
};

absl::StatusOr<PublicDataset> ReadOnlineRetailCsv(const std::string& path,
                                                  const OnlineRetailOptions& options = {});
absl::StatusOr<PublicDataset> ParseOnlineRetailCsv(absl::string_view text, absl::string_view name,
                                                   const OnlineRetailOptions& options = {});

absl::StatusOr<PublicDataset> ReadAmazonReviewsJson(const std::string& path);
absl::StatusOr<PublicDataset> ParseAmazonReviewsJson(absl::string_view text, absl::string_view name);

// "0-1", "1-2", "2-5", "5-10", "10-20", "20+" (in the data's currency): a coarse price feature.
std::string PriceBucket(double price);

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_DATA_PUBLIC_DATASETS_H_
