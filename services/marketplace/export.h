// Writes a world as files, in the formats real data comes in, so that every other service can be tested on
// files as well as on the API (and the replay source can read them back):
//   reviews.json           Amazon review JSON lines (reviewerID, asin, overall, reviewText, summary,
//                          unixReviewTime, reviewTime, verified, vote, reviewerName)
//   meta.json              Amazon metadata JSON lines (asin, title, price, brand, category, description)
//   u.data                 MovieLens-style rating triples from RATING events: user \t item \t rating \t time
//   products.csv, customers.csv, reviews.csv, interactions.csv, campaign_posts.csv (with caption and
//                          "#tag #tag" hashtags), contacts.csv
//                          CSV (RFC 4180, header line, RFC 3339 times) with realistic mess injected at
//                          `mess_rate` of the rows: missing values, bad dates, wrong types, duplicated rows,
//                          stray quotes, wrong column counts
//   csv_mess.csv           what mess was put where (file, line, column, kind): the truth for scoring an
//                          ingest's quarantine
//   truth_products.jsonl, truth_reviews.jsonl, truth_customers.jsonl, truth_influencers.jsonl,
//   truth_captions.jsonl (per platform and caption angle: the engagement lift and signature hashtags)
//                          the planted truth (protobuf JSON, proto field names), generator worlds only
//   summary.txt            one line: products=N reviews=M interactions=K ...
#ifndef MARKETLENS_SERVICES_MARKETPLACE_EXPORT_H_
#define MARKETLENS_SERVICES_MARKETPLACE_EXPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {

struct ExportOptions {
  std::string out_dir;
  double mess_rate = 0.02;  // share of CSV rows made messy (0: clean CSVs)
  uint64_t mess_seed = 1;
  bool data = true;   // everything but the truth
  bool truth = true;  // truth_*.jsonl (when the world has truth)
};

struct ExportSummary {
  int64_t products = 0;
  int64_t reviews = 0;
  int64_t interactions = 0;
  int64_t ratings = 0;  // lines of u.data
  int64_t customers = 0;
  int64_t campaign_posts = 0;
  int64_t contacts = 0;
  int64_t messy_rows = 0;
  int64_t truth_records = 0;
  std::string out_dir;
  // "products=N reviews=M interactions=K ratings=R customers=C campaign_posts=P contacts=T messy_rows=X
  //  truth_records=Y out=DIR"
  std::string Line() const;
};

// Creates out_dir if needed. INVALID_ARGUMENT without out_dir; UNAVAILABLE when a file cannot be written.
absl::StatusOr<ExportSummary> ExportWorld(const WorldData& world, const ExportOptions& options);

// RFC 4180: quoted when the value holds a comma, quote, CR or LF (quotes doubled).
std::string CsvField(const std::string& value);

}  // namespace marketlens::marketplace

#endif  // MARKETLENS_SERVICES_MARKETPLACE_EXPORT_H_
