#include "services/collector/values.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/macros.h"
#include "common/strings/utf8.h"

namespace marketlens::collector {

std::string NormalizeHeader(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u)) out.push_back(absl::ascii_tolower(u));
  }
  return out;
}

absl::string_view TrimValue(absl::string_view value) {
  for (;;) {
    if (!value.empty() && absl::ascii_isspace(static_cast<unsigned char>(value.front()))) {
      value.remove_prefix(1);
    } else if (absl::StartsWith(value, "\xC2\xA0")) {
      value.remove_prefix(2);
    } else if (absl::StartsWith(value, "\xEF\xBB\xBF")) {
      value.remove_prefix(3);
    } else {
      break;
    }
  }
  for (;;) {
    if (!value.empty() && absl::ascii_isspace(static_cast<unsigned char>(value.back()))) {
      value.remove_suffix(1);
    } else if (absl::EndsWith(value, "\xC2\xA0")) {
      value.remove_suffix(2);
    } else if (absl::EndsWith(value, "\xEF\xBB\xBF")) {
      value.remove_suffix(3);
    } else {
      break;
    }
  }
  return value;
}

bool IsMissing(absl::string_view value) {
  value = TrimValue(value);
  if (value.empty()) return true;
  if (value.size() > 4) return false;
  static constexpr absl::string_view kMarkers[] = {"n/a",  "na",  "#n/a", "null", "nil",
                                                   "none", "nan", "-",    "--",   "?"};
  for (absl::string_view marker : kMarkers) {
    if (marker.size() == value.size() && absl::EqualsIgnoreCase(value, marker)) return true;
  }
  return false;
}

bool IsValidUtf8(absl::string_view s) {
  // ASCII inline (the common case on the ingest path); the multi-byte rules are common/strings' only.
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;
      ++i;
      continue;
    }
    const size_t n = strings::Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(absl::string_view value, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(value.size(), max_bytes));
  for (size_t i = 0; i < value.size();) {
    // Valid sequences are kept, except NUL (PostgreSQL text cannot hold it); anything else is U+FFFD.
    const size_t n = value[i] == '\0' ? 0 : strings::Utf8SequenceLength(value, i);
    const size_t width = n == 0 ? 3 : n;
    if (out.size() + width > max_bytes) break;
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(value.data() + i, n);
      i += n;
    }
  }
  return out;
}

// ---- numbers ------------------------------------------------------------------------------------------

namespace {

// Removes digit-group separators (',', ' ', '_', "\xC2\xA0") that sit between two digits; false when a
// separator is anywhere else ("1,,2", ",12", "12,").
bool StripGroupSeparators(absl::string_view in, std::string* out, bool comma_is_group) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    size_t width = 0;
    if ((c == ',' && comma_is_group) || c == ' ' || c == '_') {
      width = 1;
    } else if (c == '\xC2' && i + 1 < in.size() && in[i + 1] == '\xA0') {
      width = 2;
    }
    if (width == 0) {
      out->push_back(c);
      continue;
    }
    const bool digit_before = i > 0 && absl::ascii_isdigit(static_cast<unsigned char>(in[i - 1]));
    const bool digit_after =
        i + width < in.size() && absl::ascii_isdigit(static_cast<unsigned char>(in[i + width]));
    if (!digit_before || !digit_after) return false;
    i += width - 1;
  }
  return true;
}

}  // namespace

absl::StatusOr<int64_t> ParseCount(absl::string_view value) {
  absl::string_view s = TrimValue(value);
  if (s.empty()) return absl::InvalidArgumentError("empty");
  if (s.front() == '-') return absl::InvalidArgumentError(absl::StrCat("negative count '", s, "'"));
  if (s.front() == '+') s.remove_prefix(1);
  int suffix_exp = 0;
  if (!s.empty()) {
    switch (absl::ascii_tolower(static_cast<unsigned char>(s.back()))) {
      case 'k':
        suffix_exp = 3;
        break;
      case 'm':
        suffix_exp = 6;
        break;
      case 'b':
        suffix_exp = 9;
        break;
      default:
        break;
    }
    if (suffix_exp != 0) s = TrimValue(s.substr(0, s.size() - 1));
  }
  std::string digits_only;
  if (!StripGroupSeparators(s, &digits_only, /*comma_is_group=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("not a number '", TrimValue(value), "'"));
  }
  // mantissa digits [. digits] [e [+-] digits], computed exactly.
  uint64_t mantissa = 0;
  int exponent = suffix_exp;
  size_t i = 0;
  int digits = 0;
  bool any_digit = false;
  auto add_digit = [&](char c) -> bool {
    if (mantissa == 0 && c == '0') return true;  // leading zeros do not count
    if (++digits > 18) return false;
    mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
    return true;
  };
  const std::string& d = digits_only;
  for (; i < d.size() && absl::ascii_isdigit(static_cast<unsigned char>(d[i])); ++i) {
    any_digit = true;
    if (!add_digit(d[i])) return absl::InvalidArgumentError(absl::StrCat("count too large '", s, "'"));
  }
  if (i < d.size() && d[i] == '.') {
    ++i;
    for (; i < d.size() && absl::ascii_isdigit(static_cast<unsigned char>(d[i])); ++i) {
      any_digit = true;
      if (!add_digit(d[i])) return absl::InvalidArgumentError(absl::StrCat("count too precise '", s, "'"));
      --exponent;
    }
  }
  if (any_digit && i < d.size() && (d[i] == 'e' || d[i] == 'E') && suffix_exp == 0) {
    ++i;
    bool negative = false;
    if (i < d.size() && (d[i] == '+' || d[i] == '-')) negative = d[i++] == '-';
    int e = 0;
    const size_t start = i;
    for (; i < d.size() && absl::ascii_isdigit(static_cast<unsigned char>(d[i])) && e < 1000; ++i) {
      e = e * 10 + (d[i] - '0');
    }
    if (i == start) return absl::InvalidArgumentError(absl::StrCat("not a number '", s, "'"));
    exponent += negative ? -e : e;
  }
  if (!any_digit || i != d.size()) {
    return absl::InvalidArgumentError(absl::StrCat("not a number '", TrimValue(value), "'"));
  }
  if (mantissa == 0) return 0;
  while (exponent < 0) {
    if (mantissa % 10 != 0) {
      return absl::InvalidArgumentError(absl::StrCat("not a whole number '", TrimValue(value), "'"));
    }
    mantissa /= 10;
    ++exponent;
  }
  while (exponent > 0) {
    if (mantissa > static_cast<uint64_t>(INT64_MAX) / 10) {
      return absl::InvalidArgumentError(absl::StrCat("count too large '", TrimValue(value), "'"));
    }
    mantissa *= 10;
    --exponent;
  }
  if (mantissa > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("count too large '", TrimValue(value), "'"));
  }
  return static_cast<int64_t>(mantissa);
}

absl::StatusOr<double> ParseDecimal(absl::string_view value) {
  absl::string_view s = TrimValue(value);
  if (s.empty()) return absl::InvalidArgumentError("empty");
  double scale = 1;
  if (s.back() == '%') {
    scale = 0.01;
    s = TrimValue(s.substr(0, s.size() - 1));
  }
  const bool has_dot = s.find('.') != absl::string_view::npos;
  const size_t commas = std::count(s.begin(), s.end(), ',');
  std::string text;
  if (!has_dot && commas == 1) {
    text = std::string(s);
    text[text.find(',')] = '.';  // a decimal comma: "0,5"
  } else if (!StripGroupSeparators(s, &text, /*comma_is_group=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("not a number '", TrimValue(value), "'"));
  }
  for (char c : text) {
    if (!(absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
          c == 'e' || c == 'E')) {
      return absl::InvalidArgumentError(absl::StrCat("not a number '", TrimValue(value), "'"));
    }
  }
  double out = 0;
  if (!absl::SimpleAtod(text, &out) || !std::isfinite(out)) {
    return absl::InvalidArgumentError(absl::StrCat("not a number '", TrimValue(value), "'"));
  }
  return out * scale;
}

// ---- dates ----------------------------------------------------------------------------------------------

namespace {

class Cursor {
 public:
  explicit Cursor(absl::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  bool Consume(char c) {
    if (peek() == c && !done()) {
      ++i_;
      return true;
    }
    return false;
  }
  int SkipSpaces() {
    int n = 0;
    while (!done() && s_[i_] == ' ') {
      ++i_;
      ++n;
    }
    return n;
  }
  // Up to max_len digits (at least min_len); -1 if fewer.
  int Digits(int min_len, int max_len, int* len = nullptr) {
    int value = 0;
    int n = 0;
    while (n < max_len && !done() && absl::ascii_isdigit(static_cast<unsigned char>(s_[i_]))) {
      value = value * 10 + (s_[i_] - '0');
      ++i_;
      ++n;
    }
    if (len != nullptr) *len = n;
    return n >= min_len ? value : -1;
  }
  int CountDigitsAhead() const {
    int n = 0;
    while (i_ + n < s_.size() && absl::ascii_isdigit(static_cast<unsigned char>(s_[i_ + n]))) ++n;
    return n;
  }
  absl::string_view Letters() {
    const size_t start = i_;
    while (!done() && absl::ascii_isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return s_.substr(start, i_ - start);
  }
  absl::string_view rest() const { return s_.substr(std::min(i_, s_.size())); }

 private:
  absl::string_view s_;
  size_t i_ = 0;
};

// 1..12 for "jan", "january", "sept"...; 0 otherwise.
int MonthFromName(absl::string_view word) {
  static constexpr absl::string_view kFull[] = {"january",   "february", "march",    "april",
                                                "may",       "june",     "july",     "august",
                                                "september", "october",  "november", "december"};
  if (word.size() < 3 || word.size() > 9) return 0;
  for (int m = 0; m < 12; ++m) {
    const absl::string_view full = kFull[m];
    if (absl::EqualsIgnoreCase(word, full) ||
        (word.size() == 3 && absl::EqualsIgnoreCase(full.substr(0, 3), word))) {
      return m + 1;
    }
  }
  if (absl::EqualsIgnoreCase(word, "sept")) return 9;
  return 0;
}

bool IsWeekdayName(absl::string_view word) {
  static constexpr absl::string_view kDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                                "friday", "saturday", "sunday"};
  if (word.size() < 3 || word.size() > 9) return false;
  for (absl::string_view full : kDays) {
    if (absl::EqualsIgnoreCase(word, full) ||
        (word.size() == 3 && absl::EqualsIgnoreCase(full.substr(0, 3), word))) {
      return true;
    }
  }
  return absl::EqualsIgnoreCase(word, "tues") || absl::EqualsIgnoreCase(word, "thur") ||
         absl::EqualsIgnoreCase(word, "thurs");
}

// Skips "st", "nd", "rd", "th" after a day number.
void SkipOrdinal(Cursor& c) {
  const size_t save = c.pos();
  absl::string_view w = c.Letters();
  if (!(absl::EqualsIgnoreCase(w, "st") || absl::EqualsIgnoreCase(w, "nd") ||
        absl::EqualsIgnoreCase(w, "rd") || absl::EqualsIgnoreCase(w, "th"))) {
    c.set_pos(save);
  }
}

struct Parsed {
  DateOptions options;                               // in: how to read day/month
  DayMonthOrder evidence = DayMonthOrder::kUnknown;  // out: what a numeric date showed (a part > 12)
  bool ambiguous = false;                            // out: numeric day/month both <= 12, order unknown
  int year = 0, month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  int offset_minutes = 0;
};

absl::Status Unrecognised(absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat("unrecognised date '", value, "'"));
}

// Parses the date part; leaves the cursor after it.
absl::Status ParseDatePart(Cursor& c, absl::string_view value, Parsed* p) {
  // Optional weekday: "Mon, 15 Jan 2024" / "Monday 15 January 2024".
  {
    const size_t save = c.pos();
    absl::string_view word = c.Letters();
    if (!word.empty() && IsWeekdayName(word) && (c.Consume(',') || c.peek() == ' ')) {
      c.SkipSpaces();
    } else {
      c.set_pos(save);
    }
  }
  if (absl::ascii_isalpha(static_cast<unsigned char>(c.peek()))) {
    // Month name first: "Jan 15 2024", "January 15th, 2024".
    absl::string_view word = c.Letters();
    p->month = MonthFromName(word);
    if (p->month == 0) return Unrecognised(value);
    c.Consume('.');
    if (!(c.SkipSpaces() > 0 || c.Consume('-'))) return Unrecognised(value);
    p->day = c.Digits(1, 2);
    if (p->day < 0) return Unrecognised(value);
    SkipOrdinal(c);
    c.Consume(',');
    if (!(c.SkipSpaces() > 0 || c.Consume('-'))) return Unrecognised(value);
    int len = 0;
    p->year = c.Digits(1, 4, &len);
    if (len == 2 && c.CountDigitsAhead() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("two-digit year in '", value, "' is ambiguous"));
    }
    if (len != 4 || c.CountDigitsAhead() > 0) return Unrecognised(value);
    return absl::OkStatus();
  }
  const int lead = c.CountDigitsAhead();
  if (lead == 4) {
    // Year first: 2024-01-15, 2024/01/15, 2024.01.15.
    p->year = c.Digits(4, 4);
    const char sep = c.peek();
    if (sep != '-' && sep != '/' && sep != '.') return Unrecognised(value);
    c.Consume(sep);
    p->month = c.Digits(1, 2);
    if (p->month < 0 || !c.Consume(sep)) return Unrecognised(value);
    p->day = c.Digits(1, 2);
    if (p->day < 0 || c.CountDigitsAhead() > 0) return Unrecognised(value);
    return absl::OkStatus();
  }
  if (lead == 1 || lead == 2) {
    const int first = c.Digits(1, 2);
    const size_t after_first = c.pos();
    SkipOrdinal(c);
    const bool had_ordinal = c.pos() != after_first;
    // "15 Jan 2024", "15-Jan-2024", "15th January, 2024".
    {
      const size_t save = c.pos();
      const bool spaced = c.SkipSpaces() > 0;
      const bool dashed = !spaced && c.Consume('-');
      if (spaced || dashed) {
        absl::string_view word = c.Letters();
        const int month = word.empty() ? 0 : MonthFromName(word);
        if (month != 0) {
          p->day = first;
          p->month = month;
          c.Consume('.');
          c.Consume(',');
          if (!(c.SkipSpaces() > 0 || c.Consume('-'))) return Unrecognised(value);
          int len = 0;
          p->year = c.Digits(1, 4, &len);
          if (len == 2 && c.CountDigitsAhead() == 0) {
            return absl::InvalidArgumentError(absl::StrCat("two-digit year in '", value, "' is ambiguous"));
          }
          if (len != 4 || c.CountDigitsAhead() > 0) return Unrecognised(value);
          return absl::OkStatus();
        }
      }
      c.set_pos(save);
    }
    if (had_ordinal) return Unrecognised(value);
    // Numeric day and month: 15/01/2024, 01/15/2024, 15-01-2024, 15.01.2024.
    const char sep = c.peek();
    if (sep != '/' && sep != '-' && sep != '.') return Unrecognised(value);
    c.Consume(sep);
    const int second = c.Digits(1, 2);
    if (second < 0 || !c.Consume(sep)) return Unrecognised(value);
    int len = 0;
    p->year = c.Digits(1, 4, &len);
    if (len == 2 && c.CountDigitsAhead() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("two-digit year in '", value, "' is ambiguous"));
    }
    if (len != 4 || c.CountDigitsAhead() > 0) return Unrecognised(value);
    // Dotted dates are day first by convention: they say nothing about the file's slashed/dashed ones.
    if (sep != '.' && first > 12 && second <= 12) p->evidence = DayMonthOrder::kDayFirst;
    if (sep != '.' && second > 12 && first <= 12) p->evidence = DayMonthOrder::kMonthFirst;
    const DayMonthOrder order = p->options.order;
    if (sep == '.') {
      p->day = first;  // dotted dates are day first wherever they are used
      p->month = second;
    } else if (order == DayMonthOrder::kDayFirst) {  // the file's order: applied strictly
      p->day = first;
      p->month = second;
    } else if (order == DayMonthOrder::kMonthFirst) {
      p->month = first;
      p->day = second;
    } else if (first == second) {
      p->day = p->month = first;
    } else if (first > 12 && second <= 12) {
      p->day = first;
      p->month = second;
    } else if (second > 12 && first <= 12) {
      p->month = first;
      p->day = second;
    } else if (first > 12 && second > 12) {
      return absl::InvalidArgumentError(absl::StrCat("impossible date '", value, "'"));
    } else {
      p->ambiguous = true;
      return absl::InvalidArgumentError(absl::StrCat(
          "ambiguous date '", value,
          "': day and month order unknown (the file has no day > 12 to decide it; pass the date order, "
          "e.g. --date_order dmy, or use 2024-01-15)"));
    }
    return absl::OkStatus();
  }
  return Unrecognised(value);
}

absl::Status ParseTimePart(Cursor& c, absl::string_view value, Parsed* p) {
  p->hour = c.Digits(1, 2);
  if (p->hour < 0 || !c.Consume(':')) return Unrecognised(value);
  p->minute = c.Digits(2, 2);
  if (p->minute < 0) return Unrecognised(value);
  if (c.Consume(':')) {
    p->second = c.Digits(2, 2);
    if (p->second < 0) return Unrecognised(value);
    if (c.Consume('.') || c.Consume(',')) {
      int64_t scale = 100000000;
      int n = 0;
      while (absl::ascii_isdigit(static_cast<unsigned char>(c.peek())) && !c.done()) {
        if (scale > 0) {
          p->nanos += (c.peek() - '0') * scale;
          scale /= 10;
        }
        c.set_pos(c.pos() + 1);
        ++n;
      }
      if (n == 0) return Unrecognised(value);
    }
  }
  // AM/PM.
  {
    const size_t save = c.pos();
    c.SkipSpaces();
    const std::string word = absl::AsciiStrToLower(c.Letters());
    if (word == "am" || word == "pm" || word == "a" || word == "p") {
      if (word.size() == 1 && !c.Consume('.')) return Unrecognised(value);
      if (word.size() == 1 && !(c.Consume('m') || c.Consume('M'))) return Unrecognised(value);
      c.Consume('.');
      if (p->hour < 1 || p->hour > 12) {
        return absl::InvalidArgumentError(absl::StrCat("impossible time in '", value, "'"));
      }
      const bool pm = word[0] == 'p';
      if (p->hour == 12) p->hour = 0;
      if (pm) p->hour += 12;
    } else {
      c.set_pos(save);
    }
  }
  // Zone.
  {
    const size_t save = c.pos();
    c.SkipSpaces();
    if (c.Consume('Z') || c.Consume('z')) return absl::OkStatus();
    const size_t word_start = c.pos();
    const std::string word = absl::AsciiStrToUpper(c.Letters());
    if (word == "UTC" || word == "GMT") {
      if (c.peek() != '+' && c.peek() != '-') return absl::OkStatus();
    } else if (!word.empty()) {
      c.set_pos(word_start);
      return absl::OkStatus();  // the caller sees the unparsed rest
    }
    if (c.peek() == '+' || c.peek() == '-') {
      const bool negative = c.peek() == '-';
      c.set_pos(c.pos() + 1);
      int len = 0;
      const int hh = c.Digits(2, 2, &len);
      if (hh < 0) return Unrecognised(value);
      int mm = 0;
      if (c.Consume(':')) {
        mm = c.Digits(2, 2);
        if (mm < 0) return Unrecognised(value);
      } else if (c.CountDigitsAhead() == 2) {
        mm = c.Digits(2, 2);
      }
      if (hh > 14 || mm > 59)
        return absl::InvalidArgumentError(absl::StrCat("impossible time zone in '", value, "'"));
      p->offset_minutes = (negative ? -1 : 1) * (hh * 60 + mm);
      return absl::OkStatus();
    }
    c.set_pos(save);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Time> ParseDateTime(absl::string_view value) {
  return ParseDateTime(value, DateOptions{}, nullptr);
}

std::optional<absl::Time> ExcelSerialToTime(double serial, bool base_1904) {
  // Excel's 1900 system counts a 29 Feb 1900 that never was: day 60; from day 61 on, day 0 is 1899-12-30.
  if (!(serial >= 1) || serial >= 2958466) return std::nullopt;
  if (!base_1904 && serial >= 60 && serial < 61) return std::nullopt;
  double days = std::floor(serial);
  const double fraction = serial - days;
  absl::CivilDay epoch = base_1904 ? absl::CivilDay(1904, 1, 1) : absl::CivilDay(1899, 12, 30);
  if (!base_1904 && serial < 60) epoch = absl::CivilDay(1899, 12, 31);
  const absl::CivilDay day = epoch + static_cast<int64_t>(days);
  // Round to the millisecond: serials of typed-in times are binary fractions of a day.
  const int64_t ms = static_cast<int64_t>(std::llround(fraction * 86400000.0));
  return absl::FromCivil(day, absl::UTCTimeZone()) + absl::Milliseconds(ms);
}

namespace {
// "43570", "43570.375": a spreadsheet date serial (5-6 digit day number, optional fraction).
std::optional<double> SerialOf(absl::string_view s) {
  const size_t dot = s.find('.');
  const absl::string_view whole = s.substr(0, dot);
  if (whole.size() < 5 || whole.size() > 6 ||
      whole.find_first_not_of("0123456789") != absl::string_view::npos)
    return std::nullopt;
  if (dot != absl::string_view::npos) {
    const absl::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of("0123456789") != absl::string_view::npos) return std::nullopt;
  }
  double d = 0;
  if (!absl::SimpleAtod(s, &d)) return std::nullopt;
  return d;
}
}  // namespace

absl::StatusOr<absl::Time> ParseDateTime(absl::string_view value, const DateOptions& options,
                                         DateParseInfo* info) {
  const absl::string_view s = TrimValue(value);
  if (s.empty()) return absl::InvalidArgumentError("empty");
  if (info != nullptr) *info = DateParseInfo{};
  if (std::optional<double> serial = SerialOf(s)) {
    std::optional<absl::Time> t = ExcelSerialToTime(*serial, options.excel_1904);
    if (!t.has_value()) return absl::InvalidArgumentError(absl::StrCat("not a date serial '", s, "'"));
    const int year = absl::ToCivilYear(*t, absl::UTCTimeZone()).year();
    if (year < 1900 || year > 2199) {
      return absl::InvalidArgumentError(absl::StrCat("year out of range (1900..2199) in '", s, "'"));
    }
    return *t;
  }
  Cursor c(s);
  Parsed p;
  p.options = options;
  absl::Status date_status = ParseDatePart(c, s, &p);
  if (info != nullptr) {
    info->evidence = p.evidence;
    info->ambiguous = p.ambiguous;
  }
  if (!date_status.ok()) return date_status;
  if (!c.done()) {
    // Separator before the time: "T", " ", ", ", " at ".
    bool ok = false;
    if (c.Consume('T') || c.Consume('t')) {
      ok = true;
    } else {
      const bool comma = c.Consume(',');
      if (c.SkipSpaces() > 0 || comma) ok = true;
      const size_t save = c.pos();
      if (absl::AsciiStrToLower(c.Letters()) == "at" && c.SkipSpaces() > 0) {
      } else {
        c.set_pos(save);
      }
    }
    if (!ok || !absl::ascii_isdigit(static_cast<unsigned char>(c.peek()))) return Unrecognised(s);
    RETURN_IF_ERROR(ParseTimePart(c, s, &p));
    c.SkipSpaces();
    if (!c.done()) return Unrecognised(s);
  }
  if (p.year < 1900 || p.year > 2199) {
    return absl::InvalidArgumentError(absl::StrCat("year out of range (1900..2199) in '", s, "'"));
  }
  if (p.month < 1 || p.month > 12) {
    return absl::InvalidArgumentError(absl::StrCat("impossible date '", s, "': no month ", p.month));
  }
  const absl::CivilDay day(p.year, p.month, p.day);
  if (p.day < 1 || day.year() != p.year || day.month() != p.month || day.day() != p.day) {
    return absl::InvalidArgumentError(absl::StrCat("impossible date '", s, "'"));
  }
  if (p.hour > 23 || p.minute > 59 || p.second > 59) {
    return absl::InvalidArgumentError(absl::StrCat("impossible time in '", s, "'"));
  }
  const absl::CivilSecond cs(p.year, p.month, p.day, p.hour, p.minute, p.second);
  return absl::FromCivil(cs, absl::UTCTimeZone()) + absl::Nanoseconds(p.nanos) -
         absl::Minutes(p.offset_minutes);
}

void FormatTimestampTo(absl::Time t, std::string* out) {
  const int64_t us = absl::ToUnixMicros(t);
  int64_t secs = us / 1000000;
  int64_t micros = us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixSeconds(secs), absl::UTCTimeZone());
  char buf[40];
  auto put = [&](char* p, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(buf, cs.year(), 4);
  buf[4] = '-';
  put(buf + 5, cs.month(), 2);
  buf[7] = '-';
  put(buf + 8, cs.day(), 2);
  buf[10] = ' ';
  put(buf + 11, cs.hour(), 2);
  buf[13] = ':';
  put(buf + 14, cs.minute(), 2);
  buf[16] = ':';
  put(buf + 17, cs.second(), 2);
  buf[19] = '.';
  put(buf + 20, micros, 6);
  buf[26] = '+';
  buf[27] = '0';
  buf[28] = '0';
  out->assign(buf, 29);
}

std::string FormatTimestamp(absl::Time t) {
  std::string out;
  FormatTimestampTo(t, &out);
  return out;
}

std::string FormatDouble(double value) { return absl::StrFormat("%.17g", value); }

}  // namespace marketlens::collector

namespace marketlens::collector {

absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view value, const DateOptions& options) {
  const absl::string_view s = TrimValue(value);
  if (s.empty()) return absl::InvalidArgumentError("empty");
  auto month_of = [&](int year, int month) -> absl::StatusOr<absl::CivilMonth> {
    if (year < 1900 || year > 2199) {
      return absl::InvalidArgumentError(absl::StrCat("year out of range (1900..2199) in '", s, "'"));
    }
    if (month < 1 || month > 12) {
      return absl::InvalidArgumentError(absl::StrCat("impossible month '", s, "': no month ", month));
    }
    return absl::CivilMonth(year, month);
  };
  Cursor c(s);
  const int lead = c.CountDigitsAhead();
  if (lead == 1 || lead == 2) {
    // "04-2019", "4/2019", "04.2019"
    const int month = c.Digits(1, 2);
    const char sep = c.peek();
    if ((sep == '-' || sep == '/' || sep == '.') && c.Consume(sep) && c.CountDigitsAhead() == 4) {
      const int year = c.Digits(4, 4);
      if (c.done()) return month_of(year, month);
    }
  } else if (lead == 4) {
    // "2019-04", "2019/4"
    const int year = c.Digits(4, 4);
    const char sep = c.peek();
    if ((sep == '-' || sep == '/' || sep == '.') && c.Consume(sep)) {
      const int n = c.CountDigitsAhead();
      if (n == 1 || n == 2) {
        const int month = c.Digits(1, 2);
        if (c.done()) return month_of(year, month);
      }
    }
  } else if (lead == 0) {
    // "Apr 2019", "April-2019", "Apr. 2019"
    const int month = MonthFromName(c.Letters());
    if (month != 0) {
      c.Consume('.');
      c.Consume(',');
      if ((c.SkipSpaces() > 0 || c.Consume('-')) && c.CountDigitsAhead() == 4) {
        const int year = c.Digits(4, 4);
        if (c.done()) return month_of(year, month);
      }
    }
  }
  // A full date or a date serial names its month.
  absl::StatusOr<absl::Time> t = ParseDateTime(s, options, nullptr);
  if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("unrecognised month '", s, "' (want 04-2019)"));
  return absl::CivilMonth(absl::ToCivilMonth(*t, absl::UTCTimeZone()));
}

}  // namespace marketlens::collector
