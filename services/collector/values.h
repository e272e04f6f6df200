// Parsing of the values found in messy "spreadsheet export" CSV files: header names, missing-value markers,
// counts written as "1,234" or "1.2K", decimals, and dates in the common unambiguous forms. Everything here
// is pure (no I/O), so it is unit tested exhaustively and shared by the ingest path and its tests.
//
// Why so lenient, yet strict where it matters: exports from spreadsheets and CRMs mix formats from row to
// row, and rejecting "1,234" would reject good data; but a value that could mean two things ("03/04/2024",
// "24-01-15") or that is impossible ("2024-02-30") is refused with a reason, never guessed.
#ifndef MARKETLENS_SERVICES_COLLECTOR_VALUES_H_
#define MARKETLENS_SERVICES_COLLECTOR_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace marketlens::collector {

// "Campaign ID", "campaign_id", "campaignId", "CAMPAIGN-ID" -> "campaignid": lower case, letters and
// digits only (a UTF-8 BOM or other non-ASCII bytes are dropped too).
std::string NormalizeHeader(absl::string_view name);

// Strips ASCII whitespace and no-break spaces (U+00A0, U+FEFF) at both ends.
absl::string_view TrimValue(absl::string_view value);

// True for the usual "no value" markers of exports, compared case-insensitively after trimming:
// "", "n/a", "na", "#n/a", "null", "nil", "none", "nan", "-", "--", "?".
bool IsMissing(absl::string_view value);

// Well-formed UTF-8 without NUL bytes (PostgreSQL text cannot hold either).
bool IsValidUtf8(absl::string_view value);

// `value` cut to at most max_bytes (at a character boundary) with every byte that is not part of valid
// UTF-8, and every NUL, replaced by U+FFFD: safe to store as PostgreSQL text whatever the input was.
std::string SanitizeUtf8(absl::string_view value, size_t max_bytes);

// Hashtags are stored lower-case (ASCII letters; other scripts as written), without '#', at most
// kMaxHashtagBytes each, first appearance order, no repeats.
inline constexpr size_t kMaxHashtagBytes = 100;
// One tag: "#SummerVibes" -> "summervibes"; leading '#'s dropped; the tag ends at the first character that is
// not a letter, digit or '_' ("#ad," -> "ad"). "" when nothing is left.
std::string NormalizeHashtag(absl::string_view raw);
// A hashtags cell: tags separated by spaces, commas, semicolons, '|' or '#' ("#a #b", "a, b", "#a#b").
std::vector<std::string> SplitHashtags(absl::string_view text);
// The '#'-tags of a free text (a caption).
std::vector<std::string> HashtagsInText(absl::string_view text);
// PostgreSQL text[] input for a list ("{\"a\",\"b\"}"), into *out.
void FormatTextArrayTo(const std::vector<std::string>& items, std::string* out);

// A whole, non-negative count: "42", "+42", "1,234", "1 234", "1_234", "12.0", "1.2K", "3m", "1e3".
// Refused with a reason: negative numbers, fractions ("2.5"), garbage ("12abc"), overflow.
absl::StatusOr<int64_t> ParseCount(absl::string_view value);

// A decimal number: "0.5", "-0.25", ".5", "+1", "1e-2", "50%" (= 0.5), "0,5" (decimal comma when it is
// the only separator). Refused: garbage, inf/nan.
absl::StatusOr<double> ParseDecimal(absl::string_view value);

// A date or date-time. Accepted forms (with an optional leading weekday, "Mon, 15 Jan 2024"):
//   2024-01-15, 2024/01/15, 2024.01.15                      year first
//   15 Jan 2024, 15-Jan-2024, 15 January 2024, 15th Jan 2024 day, month name, year
//   Jan 15 2024, Jan 15, 2024, January 15th, 2024            month name, day, year
//   15/01/2024, 01/15/2024, 15-01-2024                        numeric day/month only when unambiguous
//                                                             (one of them > 12, or both equal)
//   15.01.2024                                                dotted: always day first (European usage)
// each optionally followed ("T", " " or ", ") by a time HH:MM[:SS[.fraction]] [AM|PM] and a zone
// (Z, UTC, GMT, +HH, +HHMM, +HH:MM); without a zone the time is UTC. Years must have four digits and lie
// in 1900..2199. Refused with a reason: ambiguous day/month, impossible dates and times, anything else.
absl::StatusOr<absl::Time> ParseDateTime(absl::string_view value);

// How the numeric day/month dates of one file are written: decided per file (a value with a part > 12 shows
// it), or given by the user. kUnknown reads only unambiguous values.
enum class DayMonthOrder { kUnknown, kDayFirst, kMonthFirst };
struct DateOptions {
  DayMonthOrder order = DayMonthOrder::kUnknown;  // kDayFirst/kMonthFirst: applied strictly
  bool excel_1904 = false;                        // date serials count from 1904-01-01 (old Mac workbooks)
};
// What parsing one value showed about the file's order.
struct DateParseInfo {
  DayMonthOrder evidence = DayMonthOrder::kUnknown;  // a numeric date with a day > 12 decides it
  bool ambiguous = false;  // refused only because the order is unknown ("04/10/2019")
};
// ParseDateTime with a known order, also reading spreadsheet date serials ("43570", "43570.375": 5 or 6
// digits before an optional fraction, Excel's 1900 system or the 1904 one).
absl::StatusOr<absl::Time> ParseDateTime(absl::string_view value, const DateOptions& options,
                                         DateParseInfo* info);
// A spreadsheet date serial as a time (UTC); nullopt outside 1..9999-12-31 (and for 1900's day 60, the
// 29 February 1900 Excel counts although it never was).
std::optional<absl::Time> ExcelSerialToTime(double serial, bool base_1904);

// "auto"/"" (kUnknown), "dmy", "mdy" (also day-first, month-first). INVALID_ARGUMENT otherwise.
absl::StatusOr<DayMonthOrder> ParseDayMonthOrder(absl::string_view text);

// A month: "04-2019", "4/2019", "2019-04", "Apr 2019", "April-2019", or any date or date serial (its month).
absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view value, const DateOptions& options);

// Sentiment written as a word, any case: positive 1, neutral/mixed 0, negative -1 (and a few synonyms);
// nullopt for anything else.
std::optional<double> SentimentFromWord(absl::string_view value);

// PostgreSQL timestamptz input for a time (UTC, microseconds): "2024-01-15 10:00:00.250000+00".
std::string FormatTimestamp(absl::Time t);
// The same into *out (reusing its capacity; no allocation in the common case).
void FormatTimestampTo(absl::Time t, std::string* out);

// A count as a decimal string (for COPY), and a double with enough digits to round-trip.
std::string FormatDouble(double value);

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_VALUES_H_
