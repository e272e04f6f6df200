#include "services/collector/csv_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace marketlens::collector {

CsvReader::CsvReader(CsvOptions options) : options_(options), delimiter_(options.delimiter) {}

void CsvReader::Feed(absl::string_view data) {
  Compact();
  buf_.append(data.data(), data.size());
  peak_buffered_ = std::max(peak_buffered_, buf_.size() - pos_);
}

void CsvReader::Finish() { finished_ = true; }

void CsvReader::Compact() {
  if (pos_ == 0) return;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
    return;
  }
  if (pos_ >= (64 << 10) && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

bool CsvReader::DetectDelimiter() {
  // Needs the first non-blank line complete (or the end of the input).
  size_t i = pos_;
  while (i < buf_.size() && (buf_[i] == '\n' || buf_[i] == '\r')) ++i;
  int counts[4] = {0, 0, 0, 0};
  static constexpr char kCandidates[4] = {',', ';', '\t', '|'};
  bool quoted = false;
  size_t scanned = 0;
  for (; i < buf_.size(); ++i, ++scanned) {
    const char c = buf_[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && (c == '\n' || c == '\r')) {
      break;
    } else if (!quoted) {
      for (int k = 0; k < 4; ++k) counts[k] += c == kCandidates[k];
    }
  }
  if (i == buf_.size() && !finished_ && scanned < options_.max_record_bytes) return false;
  int best = 0;
  for (int k = 1; k < 4; ++k) {
    if (counts[k] > counts[best]) best = k;
  }
  delimiter_ = kCandidates[best];
  return true;
}

bool CsvReader::Fits() const {
  if (expected_fields_ == 0 || field_spans_.size() == expected_fields_) return true;
  if (field_spans_.size() < expected_fields_) return false;
  for (size_t k = expected_fields_; k < field_spans_.size(); ++k) {
    const auto& [b, e] = field_spans_[k];
    for (size_t j = b; j < e; ++j) {
      if (field_bytes_[j] != ' ' && field_bytes_[j] != '\t') return false;
    }
  }
  return true;
}

// Parses one record starting at pos_. On kComplete: *end is where the record's text ends (its line end or
// the end of the input) and *next where the following record starts.
CsvReader::Parse CsvReader::ParseRecord(size_t* end, size_t* next, int* newlines, size_t* first_newline) {
  enum State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kAfterQuoted };
  field_bytes_.clear();
  field_spans_.clear();
  *newlines = 0;
  *first_newline = std::string::npos;
  State state = kFieldStart;
  size_t field_begin = 0;
  const char delim = delimiter_;
  const size_t size = buf_.size();
  const size_t limit = pos_ + options_.max_record_bytes;
  auto end_field = [&] { field_spans_.emplace_back(field_begin, field_bytes_.size()); };
  auto only_blanks = [&] {
    for (size_t j = field_begin; j < field_bytes_.size(); ++j) {
      if (field_bytes_[j] != ' ' && field_bytes_[j] != '\t') return false;
    }
    return true;
  };
  bool special[256] = {};
  special[static_cast<unsigned char>(delim)] = true;
  special[static_cast<unsigned char>('"')] = true;
  special[static_cast<unsigned char>('\n')] = true;
  special[static_cast<unsigned char>('\r')] = true;
  size_t i = pos_;
  for (; i < size; ++i) {
    if (i >= limit) return Parse::kTooLong;
    const char c = buf_[i];
    switch (state) {
      case kFieldStart:
        field_begin = field_bytes_.size();
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted:
      case kAfterQuoted:
        if (c == delim) {
          end_field();
          state = kFieldStart;
        } else if (c == '\n' || c == '\r') {
          if (c == '\r' && i + 1 == size && !finished_) return Parse::kIncomplete;  // "\r\n" split
          end_field();
          *end = i;
          *next = (c == '\r' && i + 1 < size && buf_[i + 1] == '\n') ? i + 2 : i + 1;
          return Parse::kComplete;
        } else if (c == '"' && state == kUnquoted && only_blanks()) {
          field_bytes_.resize(field_begin);  // spaces before an opening quote
          state = kQuoted;
        } else {
          // Also a stray quote inside an unquoted field, or text after a closing quote: kept literally.
          // Plain bytes up to the next special one are copied at once (the hot path).
          size_t j = i + 1;
          const size_t stop = std::min(size, limit);
          while (j < stop && !special[static_cast<unsigned char>(buf_[j])]) ++j;
          field_bytes_.append(buf_.data() + i, j - i);
          i = j - 1;
        }
        break;
      case kQuoted:
        if (c == '"') {
          state = kQuoteInQuoted;
        } else if (c != '\n' && c != '\r') {
          size_t j = i + 1;
          const size_t stop = std::min(size, limit);
          while (j < stop && buf_[j] != '"' && buf_[j] != '\n' && buf_[j] != '\r') ++j;
          field_bytes_.append(buf_.data() + i, j - i);
          i = j - 1;
        } else {
          if (c == '\n' || (c == '\r' && !(i + 1 < size && buf_[i + 1] == '\n'))) {
            ++*newlines;
            if (*first_newline == std::string::npos) *first_newline = i;
          } else if (c == '\r' && *first_newline == std::string::npos) {
            *first_newline = i;  // "\r\n": counted at the '\n'
          }
          field_bytes_.push_back(c);
        }
        break;
      case kQuoteInQuoted:
        if (c == '"') {
          field_bytes_.push_back('"');
          state = kQuoted;
        } else if (c == delim) {
          end_field();
          state = kFieldStart;
        } else if (c == '\n' || c == '\r') {
          if (c == '\r' && i + 1 == size && !finished_) return Parse::kIncomplete;
          end_field();
          *end = i;
          *next = (c == '\r' && i + 1 < size && buf_[i + 1] == '\n') ? i + 2 : i + 1;
          return Parse::kComplete;
        } else {
          // Text after a closing quote: tolerated on one line ("ab"cd -> abcd), but a quoted field that
          // spans lines and does not end cleanly is far more likely an unclosed quote that ran on until
          // some later quote.
          if (*newlines > 0) {
            malformed_reason_ = absl::StrCat("unbalanced quote: a quoted field spanning ", 1 + *newlines,
                                             " lines is followed by text after its closing quote");
            return Parse::kMalformed;
          }
          field_bytes_.push_back(c);
          state = kAfterQuoted;
        }
        break;
    }
  }
  if (!finished_) return Parse::kIncomplete;
  if (state == kQuoted) {
    malformed_reason_ = "unbalanced quote: quoted field not closed before the end of the file";
    return Parse::kMalformed;
  }
  end_field();
  *end = size;
  *next = size;
  return Parse::kComplete;
}

CsvReader::Result CsvReader::Next(CsvRecord* record) {
  record->fields.clear();
  record->error.clear();
  record->raw = {};
  record->lines = 1;
  Compact();
  for (;;) {
    if (!file_error_.empty()) return Result::kEnd;
    if (!started_) {
      if (buf_.size() - pos_ < 3 && !finished_) return Result::kNeedMore;
      absl::string_view head(buf_.data() + pos_, buf_.size() - pos_);
      if (head.substr(0, 3) == "\xEF\xBB\xBF") {
        pos_ += 3;
      } else if (head.substr(0, 2) == "\xFF\xFE" || head.substr(0, 2) == "\xFE\xFF") {
        file_error_ = "the file is UTF-16 encoded; save it as UTF-8";
        return Result::kEnd;
      }
      started_ = true;
    }
    if (skipping_) {
      const void* nl = std::memchr(buf_.data() + pos_, '\n', buf_.size() - pos_);
      if (nl == nullptr) {
        pos_ = buf_.size();
        if (finished_) return Result::kEnd;
        return Result::kNeedMore;
      }
      pos_ = static_cast<const char*>(nl) - buf_.data() + 1;
      ++line_;
      skipping_ = false;
      continue;
    }
    if (pos_ >= buf_.size()) return finished_ ? Result::kEnd : Result::kNeedMore;
    // Blank lines.
    if (buf_[pos_] == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (buf_[pos_] == '\r') {
      if (pos_ + 1 == buf_.size() && !finished_) return Result::kNeedMore;
      pos_ += (pos_ + 1 < buf_.size() && buf_[pos_ + 1] == '\n') ? 2 : 1;
      ++line_;
      continue;
    }
    if (delimiter_ == 0 && !DetectDelimiter()) return Result::kNeedMore;

    size_t end = 0, next = 0, first_newline = 0;
    int newlines = 0;
    const Parse parse = ParseRecord(&end, &next, &newlines, &first_newline);
    if (parse == Parse::kIncomplete) return Result::kNeedMore;
    record->line = line_;
    if (parse == Parse::kComplete && (newlines == 0 || Fits())) {
      record->raw = absl::string_view(buf_.data() + pos_, end - pos_);
      record->lines = 1 + newlines;
      record->fields.reserve(field_spans_.size());
      for (const auto& [b, e] : field_spans_) {
        record->fields.emplace_back(field_bytes_.data() + b, e - b);
      }
      line_ += 1 + newlines;
      pos_ = next;
      return Result::kRecord;
    }
    if (parse == Parse::kTooLong && first_newline == std::string::npos) {
      // One enormous line: report it and drop everything up to its end.
      record->raw = absl::string_view(buf_.data() + pos_, std::min<size_t>(buf_.size() - pos_, 200));
      record->error = absl::StrCat("record longer than ", options_.max_record_bytes, " bytes");
      pos_ = std::min(buf_.size(), pos_ + options_.max_record_bytes);
      skipping_ = true;
      return Result::kRecord;
    }
    // A quote opened on this line was not closed where it should have been: report this line alone and
    // read the following lines as records of their own.
    const size_t line_end = first_newline == std::string::npos ? buf_.size() : first_newline;
    record->raw = absl::string_view(buf_.data() + pos_, line_end - pos_);
    if (parse == Parse::kComplete) {
      record->error =
          absl::StrCat("unbalanced quote: the quoted field spans ", 1 + newlines,
                       " lines and the record has ", field_spans_.size(), " fields, want ", expected_fields_);
    } else if (parse == Parse::kTooLong) {
      record->error =
          absl::StrCat("unbalanced quote: quoted field longer than ", options_.max_record_bytes, " bytes");
    } else {
      record->error = malformed_reason_;
    }
    if (first_newline == std::string::npos) {
      pos_ = buf_.size();
    } else {
      pos_ = first_newline + ((buf_[first_newline] == '\r' && first_newline + 1 < buf_.size() &&
                               buf_[first_newline + 1] == '\n')
                                  ? 2
                                  : 1);
      ++line_;
    }
    return Result::kRecord;
  }
}

}  // namespace marketlens::collector
