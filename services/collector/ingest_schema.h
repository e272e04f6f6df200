// What each kind of ingested CSV file holds and how its rows are validated: the columns of the raw.* table
// it lands in, the header names each column is known by, the value type and whether it is required.
//
// A file's header is matched by name, in any order, ignoring case, spaces and separators ("campaignId" =
// "campaign_id" = "Campaign ID"; see NormalizeHeader); unknown columns are ignored. Each data row is turned
// into the table's column values in PostgreSQL text format, or refused with the first bad column and every
// problem found. Rows without an id get one derived from their content (a hash), so that ingesting the same
// file again updates the same rows instead of adding new ones.
#ifndef MARKETLENS_SERVICES_COLLECTOR_INGEST_SCHEMA_H_
#define MARKETLENS_SERVICES_COLLECTOR_INGEST_SCHEMA_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/collector/values.h"

namespace marketlens::collector {

enum class ValueType {
  kId,               // short identifier: no newlines, <= 200 bytes
  kText,             // free text: <= 10,000 bytes
  kCount,            // whole number >= 0 (ParseCount)
  kRating,           // 1..5 (a whole number; "4.0" is fine)
  kSentiment,        // decimal in -1..1 ("80%" = 0.8) or a word (Positive 1, Neutral 0, Negative -1)
  kTimestamp,        // ParseDateTime (with the file's day/month order; date serials) -> timestamptz
  kMonth,            // ParseMonth ("04-2019") -> date (the first of the month)
  kPlatform,         // lower-cased id ("Instagram" -> "instagram")
  kChannel,          // email | call | chat (with common synonyms); any other name kept, lower-cased
  kInteractionType,  // view | add_to_cart | purchase | rating (with common synonyms)
  kDevice,           // mobile | desktop | tablet (with common synonyms)
  kHashtags,         // tags separated by spaces, commas or '#' -> text[] (SplitHashtags)
};

struct ColumnSpec {
  std::string name;      // column of the raw.* table (and of the staging table)
  std::string sql_type;  // PostgreSQL type of the staging column
  ValueType type;
  bool required = false;                // a missing value refuses the row
  std::optional<std::string> fallback;  // value when missing and not required (nullopt: NULL)
  std::vector<std::string> aliases;     // other header names (NormalizeHeader form), besides `name`
};

struct KindSpec {
  std::string kind;                 // "campaign_posts", "contacts", "interactions" (ingest.files.kind)
  std::string table;                // "raw.campaign_posts"
  std::vector<ColumnSpec> columns;  // columns[0] is "id"
  // Columns whose values identify a row that has no id (hashed into one, prefixed by id_prefix).
  std::vector<std::string> identity;
  std::string id_prefix;
  // Re-ingesting a row keeps the table's value where the file's cell is empty (customers: the marketplace's
  // name or region survive a sheet that has only occupation and type).
  bool merge_empty = false;
};

// The spec of a kind by name; nullptr if unknown.
const KindSpec* FindKind(absl::string_view kind);
// All kinds, for help texts.
std::vector<std::string> KindNames();
// "influencer/influencerid/influencerhandle/...": the header names a column is known by (NormalizeHeader
// form: any case, spaces, '_' or camelCase match; a unit in brackets is ignored).
std::string AcceptedNames(const ColumnSpec& col);

// What the header of a sheet (or a file without --kind) shows it holds: the kind whose required columns are
// all there and that matches most columns (at least 2). nullopt when none does, or two match equally.
struct DetectedKind {
  const KindSpec* spec;
  int matched_columns;
};
std::optional<DetectedKind> DetectKind(const std::vector<absl::string_view>& header);

// What the values of one file showed, for its report: the day/month order and where it was decided,
// channels outside the known set.
struct ValueNotes {
  DayMonthOrder order = DayMonthOrder::kUnknown;
  std::string order_example;  // the value that decided it
  int64_t order_conflicts = 0;
  bool ambiguous_date = false;  // scratch: the last value checked was an ambiguous date
  int64_t ambiguous_rows = 0;   // rows refused in the end because the order stayed unknown
  std::map<std::string, int64_t> other_channels;

  void Evidence(DayMonthOrder seen, absl::string_view example);
  // Lines for the report ("dates: day/month order inferred from the file: day first (decided by
  // '13/04/2019')").
  std::vector<std::string> Lines(bool order_given) const;
};

// One column's value for COPY: PostgreSQL text input, or NULL when !present. Reused from row to row (the
// string keeps its capacity), so validating a row allocates nothing in the common case.
struct FieldValue {
  bool present = false;
  std::string text;
};
using RowValues = std::vector<FieldValue>;

// One refused row: the first bad column ('' when the row as a whole is bad) and every problem found.
struct RowProblem {
  std::string column;
  std::string reason;
  // Refused only because of dates like "04/10/2019" while the file's day/month order is still unknown: the
  // caller may hold the row and validate it again at the end of the file (DecideDateOrder).
  bool ambiguous_date_only = false;
};

// Validates the rows of one file against a kind, once its header is known.
class RowValidator {
 public:
  // Matches the header. INVALID_ARGUMENT when a required column is missing or a column appears twice
  // (naming them, and listing the header as found).
  // `dates`: the day/month order if the user gave it (else inferred from the values), the date serial base.
  static absl::StatusOr<RowValidator> Create(const KindSpec* spec,
                                             const std::vector<absl::string_view>& header,
                                             DateOptions dates = {});

  const KindSpec& spec() const { return *spec_; }
  // The header's width.
  size_t header_width() const { return header_width_; }
  // Header columns that matched nothing (ignored), as written in the file.
  const std::vector<std::string>& ignored_columns() const { return ignored_; }
  // How many of the kind's columns the header has.
  size_t matched_columns() const {
    size_t n = 0;
    for (int f : field_of_column_) n += f >= 0;
    return n;
  }
  // The day/month order in use (given, or inferred from the rows so far).
  DayMonthOrder date_order() const { return dates_.order; }
  bool date_order_given() const { return order_given_; }
  ValueNotes& notes() { return notes_; }
  const ValueNotes& notes() const { return notes_; }

  // True when every field is empty after trimming (a blank row of a spreadsheet: skipped, not counted).
  static bool IsBlank(const std::vector<absl::string_view>& fields);

  // Fills values (one per spec column) or returns the problem. Pass the same `values` for every row. A row
  // with more or fewer fields than the header is malformed. Learns the file's day/month order.
  std::optional<RowProblem> Validate(const std::vector<absl::string_view>& fields, RowValues* values);

 private:
  RowValidator(const KindSpec* spec, std::vector<int> field_of_column, size_t width,
               std::vector<std::string> ignored)
      : spec_(spec),
        field_of_column_(std::move(field_of_column)),
        header_width_(width),
        ignored_(std::move(ignored)) {}

  const KindSpec* spec_;
  std::vector<int> field_of_column_;  // per spec column: index into the row's fields, or -1
  size_t header_width_;
  std::vector<std::string> ignored_;
  int type_column_ = -1;  // interactions: "type" and "rating" (a rating event needs a rating)
  int rating_column_ = -1;
  int caption_column_ = -1;  // campaign posts: hashtags come from the caption when the file has none
  int hashtags_column_ = -1;
  std::vector<int> identity_columns_;  // spec columns hashed into a derived id
  DateOptions dates_;
  bool order_given_ = false;
  ValueNotes notes_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_INGEST_SCHEMA_H_
