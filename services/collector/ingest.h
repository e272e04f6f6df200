// Batch ingest of a CSV file into raw.* (campaign posts, contacts, interactions), shared by the IngestFile
// RPC and the CLI.
//
// How it works, and why:
// - The file is read as a stream of chunks (a gRPC client stream, a file) through CsvReader, so memory does
//   not grow with the file; every row is validated (RowValidator) as it arrives.
// - Good rows and refused rows go, in one COPY, into a temporary staging table of the ingest's own
//   transaction; then one INSERT ... SELECT moves the good rows into the raw table (an upsert by id, so
//   re-ingesting the same file changes nothing) and another moves the refused ones into ingest.rejects
//   (line, column, reason, the raw line). Values are validated before COPY, so COPY never fails on a row:
//   one bad row never drops its neighbours.
// - Duplicate ids within the file: the last row wins, the others are counted as duplicates. Exact duplicate
//   detection happens in SQL only when a cheap in-memory hash of the ids saw a possible repeat, so a clean
//   file skips the sort.
// - All of it is one transaction: a file is ingested entirely or not at all (a stream cut half-way leaves
//   nothing behind). Its ingest.files row is committed first, so a failed ingest is recorded as 'failed'
//   with the reason.
#ifndef MARKETLENS_SERVICES_COLLECTOR_INGEST_H_
#define MARKETLENS_SERVICES_COLLECTOR_INGEST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"
#include "services/collector/csv_reader.h"
#include "services/collector/ingest_schema.h"

namespace marketlens::collector {

struct IngestOptions {
  // Bound on the whole ingest (reading the input included).
  absl::Duration timeout = absl::Hours(1);
  // IngestFile: a streamed file larger than this is refused with RESOURCE_EXHAUSTED (0: no limit). Both
  // paths spool it to disk (a workbook before it is read, a CSV for a staged retry), so this bounds the disk.
  int64_t max_file_bytes = int64_t{256} << 20;
  // How many rejects the result lists (all of them are in ingest.rejects).
  size_t max_reported_rejects = 100;
  // Stored raw lines of refused rows are cut to this many bytes.
  size_t max_raw_line_bytes = 4096;
  CsvOptions csv;
  // The day/month order of numeric dates (unknown: inferred from the file) and the date serial base.
  DateOptions dates;
};

struct IngestRejectInfo {
  int64_t line = 0;
  std::string column;
  std::string reason;
};

struct IngestResult {
  std::string file_id;      // ingest.files.id
  std::string kind;         // the kind the rows were read as
  std::string sheet;        // the workbook sheet ('' for a CSV file)
  int64_t header_line = 0;  // where the header was found (title rows above it are skipped)
  int64_t rows = 0;         // data rows read (not the header, not blank lines)
  int64_t accepted = 0;     // distinct rows now in the raw table
  int64_t rejected = 0;
  int64_t duplicates = 0;      // rows whose id appeared again later in the file (the later row wins)
  int64_t erased_subject = 0;  // rows about a forgotten person (privacy.tombstones), not stored
  int64_t bytes = 0;
  std::string sha256;
  std::vector<std::string> ignored_columns;
  std::vector<IngestRejectInfo> rejects;  // the first max_reported_rejects
  // What the values showed: the day/month order and how it was decided, channels outside the known set.
  std::vector<std::string> notes;
  absl::Duration elapsed;

  // "rows=N accepted=A rejected=R duplicates=D"
  std::string Summary() const;
  // 'sheet="External interactions" kind=contacts rows=N accepted=A rejected=R duplicates=D'
  std::string SheetSummary() const;
  // {"file_id":..., "rows":N, "accepted":A, "rejected":R, "duplicates":D, "rejects":[{line,column,reason}]}
  std::string Json() const;
};

// Produces the input: fills *chunk and returns true, or returns false at the end. An error aborts the
// ingest (it is recorded as the file's error).
using ChunkSource = std::function<absl::StatusOr<bool>(std::string* chunk)>;

// Rows of one input (CSV text, a workbook sheet), for the loader. Records carry their line (sheet row)
// number; the loader finds the header among the first rows.
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // true: *record holds the next record (valid until the next call); false: the end.
  virtual absl::StatusOr<bool> Next(CsvRecord* record) = 0;
  // The header's width, once known (CSV: multi-line records must have it).
  virtual void set_expected_fields(size_t n) {}
  // A problem with the input as a whole (e.g. UTF-16), known at the end.
  virtual std::string file_error() const { return ""; }
  // Bytes read and their SHA-256 (ingest.files).
  virtual int64_t bytes() const = 0;
  virtual std::string sha256() = 0;
};

// Opens the input for one load attempt (first_attempt false: again, after a direct load met an existing id).
using ReaderFactory = std::function<absl::StatusOr<std::unique_ptr<RecordReader>>(bool first_attempt)>;

// Ingests the rows of one input as `spec` (see IngestCsv); `sheet` names the workbook sheet, if any.
absl::StatusOr<IngestResult> IngestRecords(postgres::PgPool& pool, const KindSpec& spec,
                                           absl::string_view filename, absl::string_view sheet,
                                           const ReaderFactory& open_reader, const IngestOptions& options);

// Ingests one file. INVALID_ARGUMENT for a file that cannot be read as this kind at all (missing required
// columns, UTF-16, empty); the ingest.files row then says 'failed' with the reason, and the status message
// starts with "file <id>: ".
absl::StatusOr<IngestResult> IngestCsv(postgres::PgPool& pool, const KindSpec& spec,
                                       absl::string_view filename, const ChunkSource& source,
                                       const IngestOptions& options = {});

// SHA-256 (hex) and size of a file.
absl::StatusOr<std::string> FileSha256(const std::string& path, int64_t* bytes);

// A ChunkSource reading a file in 1 MiB chunks.
ChunkSource FileChunkSource(const std::string& path);

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_INGEST_H_
