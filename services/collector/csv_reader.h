// A streaming CSV reader (RFC 4180 plus what spreadsheet exports really contain) with bounded memory.
//
// Bytes are pushed in with Feed() as they arrive (a gRPC stream, a file read in chunks) and records are
// pulled with Next(); the reader only holds the unconsumed input, which is at most one chunk plus one record
// (records are capped at max_record_bytes). It handles: a UTF-8 byte order mark; "\n", "\r\n" and lone "\r"
// line ends; quoted fields with "" escapes and embedded delimiters and newlines; spaces before an opening
// quote; a stray quote inside an unquoted field (kept literally); blank lines (skipped); and the delimiter
// (',', ';', tab or '|') detected from the header line unless given.
//
// One bad record never takes its neighbours with it. A quote that is never closed would otherwise swallow
// the rest of the file, so a record that spans several lines is only accepted if it has the expected number
// of fields (set_expected_fields, normally the header's width); otherwise its first line is reported as
// malformed and reading resumes on the next line. The same happens for an unclosed quote at the end of the
// input and for a record longer than max_record_bytes.
#ifndef MARKETLENS_SERVICES_COLLECTOR_CSV_READER_H_
#define MARKETLENS_SERVICES_COLLECTOR_CSV_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketlens::collector {

struct CsvOptions {
  // 0: detect from the first non-blank line (the most frequent of ',', ';', '\t', '|' outside quotes;
  // ',' when none occurs).
  char delimiter = 0;
  // A longer record is reported as malformed (and skipped up to the next line end).
  size_t max_record_bytes = 1 << 20;
};

struct CsvRecord {
  // Physical line (1-based) the record starts on, and the number of lines it spans.
  int64_t line = 0;
  int64_t lines = 1;
  // The fields, unquoted. Views into the reader: valid until the next Feed() or Next().
  std::vector<absl::string_view> fields;
  // The record's text without its line end (for a malformed record: its first line, possibly cut at
  // max_record_bytes).
  absl::string_view raw;
  // Non-empty when the record could not be parsed (fields is then empty).
  std::string error;
};

class CsvReader {
 public:
  explicit CsvReader(CsvOptions options = {});

  // Appends input. Invalidates the views of the last record.
  void Feed(absl::string_view data);
  // No more input will come.
  void Finish();

  enum class Result {
    kRecord,    // *record holds the next record (possibly one with an error)
    kNeedMore,  // feed more input (or Finish())
    kEnd,       // all input consumed
  };
  Result Next(CsvRecord* record);

  // The width a multi-line record must have (see the top of this file); 0 disables the check.
  void set_expected_fields(size_t n) { expected_fields_ = n; }
  // The delimiter in use (0 until detected).
  char delimiter() const { return delimiter_; }
  // Unconsumed input held by the reader (for memory-bound tests).
  size_t buffered_bytes() const { return buf_.size() - pos_; }
  // Largest amount of input held at once so far.
  size_t peak_buffered_bytes() const { return peak_buffered_; }
  // A problem with the file as a whole (e.g. UTF-16); Next() then returns kEnd.
  const std::string& file_error() const { return file_error_; }

 private:
  enum class Parse { kComplete, kIncomplete, kMalformed, kTooLong };
  Parse ParseRecord(size_t* end, size_t* next, int* newlines, size_t* first_newline);
  bool DetectDelimiter();
  bool Fits() const;
  void Compact();

  CsvOptions options_;
  char delimiter_;
  std::string buf_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  bool finished_ = false;
  bool started_ = false;   // BOM checked
  bool skipping_ = false;  // discarding the rest of an overlong line
  size_t expected_fields_ = 0;
  size_t peak_buffered_ = 0;
  std::string file_error_;
  std::string malformed_reason_;
  // The fields of the current record: their bytes, and (begin, end) offsets into them.
  std::string field_bytes_;
  std::vector<std::pair<size_t, size_t>> field_spans_;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_CSV_READER_H_
