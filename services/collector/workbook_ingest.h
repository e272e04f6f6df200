// Ingest of an Excel workbook (.xlsx): every sheet as the kind its header shows (or as the user maps it),
// one IngestResult per sheet. And ingest of any upload whose kind and format are to be found out: a zip is a
// workbook, anything else CSV text (kind from --kind or from its header).
//
// Why per sheet: a business keeps customers, interactions and what was discussed in one workbook; each sheet
// is its own ingest (its own ingest.files row, transaction and rejects, `sheet` set), so one bad sheet does
// not hold the others back. Rows keep their sheet row numbers as line numbers; title and blank rows above the
// header are skipped, blank rows inside are not counted.
#ifndef MARKETLENS_SERVICES_COLLECTOR_WORKBOOK_INGEST_H_
#define MARKETLENS_SERVICES_COLLECTOR_WORKBOOK_INGEST_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/postgres/pool.h"
#include "services/collector/ingest.h"

namespace marketlens::collector {

struct SheetOutcome {
  std::string sheet;
  absl::StatusOr<IngestResult> result;  // or why the sheet was not ingested
  bool skipped = false;                 // no header of a known kind (and not mapped): nothing written

  // 'sheet="External interactions" kind=contacts rows=N accepted=A rejected=R duplicates=D', or
  // 'sheet="Notes" skipped: ...' / 'sheet="X" failed: ...'.
  std::string Line() const;
};

struct WorkbookOptions {
  IngestOptions ingest;
  // Sheet name -> kind ("External interactions" -> "contacts"); other sheets go by their header.
  std::map<std::string, std::string> sheet_kinds;
  // Only these sheets (empty: all).
  std::vector<std::string> only_sheets;
  // One kind for every sheet (cli --kind with a workbook).
  std::string kind;
};

// Parses `NAME=KIND` (cli --sheet, REST sheet=...). INVALID_ARGUMENT naming the problem.
absl::Status ParseSheetMapping(absl::string_view mapping, std::map<std::string, std::string>* out);

// Ingests every sheet of the workbook at `path` (a file: a zip needs random access). The status is an error
// only when the workbook cannot be read at all; per-sheet failures are in the outcomes.
absl::StatusOr<std::vector<SheetOutcome>> IngestWorkbook(postgres::PgPool& pool, const std::string& path,
                                                         absl::string_view filename,
                                                         const WorkbookOptions& options);

// An upload of unknown format, spooled to `path`: a workbook (zip) or CSV (kind from options.kind, else
// detected from the header line). A CSV file gives one outcome with sheet "".
absl::StatusOr<std::vector<SheetOutcome>> IngestUploadedFile(postgres::PgPool& pool, const std::string& path,
                                                             absl::string_view filename,
                                                             const WorkbookOptions& options);

// IngestUploadedFile over a stream: spooled to a temporary file (removed after), then ingested. Uploads
// larger than max_bytes (0: no limit) are refused with RESOURCE_EXHAUSTED.
absl::StatusOr<std::vector<SheetOutcome>> IngestSpooled(postgres::PgPool& pool, absl::string_view filename,
                                                        const ChunkSource& source,
                                                        const WorkbookOptions& options,
                                                        int64_t max_bytes = 0);

// The kind a CSV file's header shows (the first non-blank of its first lines). INVALID_ARGUMENT naming the
// header read when none fits.
absl::StatusOr<const KindSpec*> DetectCsvKind(const std::string& path);

// {"sheets":[IngestResult::Json() + "sheet"/"kind", or {"sheet","skipped"|"error"}...]}
std::string OutcomesJson(const std::vector<SheetOutcome>& outcomes);

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_WORKBOOK_INGEST_H_
