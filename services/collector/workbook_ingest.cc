#include "services/collector/workbook_ingest.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/collector/values.h"
#include "services/collector/xlsx_reader.h"

namespace marketlens::collector {
namespace {

// Rows looked at for a sheet's header (title rows and blank rows above it included).
constexpr int kHeaderSearchRows = 10;

// A row's cells as one CSV line (the raw line of a reject).
std::string CsvLine(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::string& c = cells[i];
    if (c.find_first_of(",\"\r\n") == std::string::npos) {
      out += c;
    } else {
      out.push_back('"');
      for (char ch : c) {
        if (ch == '"') out.push_back('"');
        out.push_back(ch);
      }
      out.push_back('"');
    }
  }
  return out;
}

// The rows of one sheet as records: padded to the header's width (a sheet row is never "short": empty cells
// are simply not written), trailing empty cells past it dropped; a value past the header's last column makes
// the row long (refused as malformed).
class SheetRecordReader : public RecordReader {
 public:
  SheetRecordReader(std::unique_ptr<XlsxWorkbook::SheetRows> rows, int64_t bytes, std::string sha)
      : rows_(std::move(rows)), bytes_(bytes), sha_(std::move(sha)) {}

  absl::StatusOr<bool> Next(CsvRecord* record) override {
    int64_t row = 0;
    absl::StatusOr<bool> more = rows_->Next(&row, &cells_);
    if (!more.ok() || !*more) return more;
    size_t n = cells_.size();
    while (n > width_ && TrimValue(cells_[n - 1]).empty()) --n;
    cells_.resize(std::max(n, width_));
    record->line = row;
    record->lines = 1;
    record->error.clear();
    record->fields.assign(cells_.begin(), cells_.end());
    raw_ = CsvLine(cells_);
    record->raw = raw_;
    return true;
  }
  void set_expected_fields(size_t n) override { width_ = n; }
  int64_t bytes() const override { return bytes_; }
  std::string sha256() override { return sha_; }

 private:
  std::unique_ptr<XlsxWorkbook::SheetRows> rows_;
  int64_t bytes_;
  std::string sha_;
  size_t width_ = 0;
  std::vector<std::string> cells_;
  std::string raw_;
};

// The kind of a sheet from the first rows that look like a header; the error names what was read.
absl::StatusOr<const KindSpec*> DetectSheetKind(const XlsxWorkbook& wb, size_t index) {
  ASSIGN_OR_RETURN(auto rows, wb.ReadSheet(index));
  std::vector<std::string> cells;
  int64_t row = 0;
  std::string first_header;
  for (int seen = 0; seen < kHeaderSearchRows;) {
    ASSIGN_OR_RETURN(bool more, rows->Next(&row, &cells));
    if (!more) break;
    std::vector<absl::string_view> views(cells.begin(), cells.end());
    if (RowValidator::IsBlank(views)) continue;
    ++seen;
    if (first_header.empty()) {
      std::vector<std::string> trimmed;
      for (absl::string_view v : views) trimmed.emplace_back(TrimValue(v));
      first_header = absl::StrCat("row ", row, ": ", absl::StrJoin(trimmed, ", "));
    }
    if (std::optional<DetectedKind> k = DetectKind(views)) return k->spec;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no header of a known kind in the first ", kHeaderSearchRows, " rows (",
      first_header.empty() ? "the sheet is empty" : first_header, "); name its kind with --sheet \"",
      wb.sheets()[index].name, "=KIND\" (kinds: ", absl::StrJoin(KindNames(), ", "), ")"));
}

}  // namespace

std::string SheetOutcome::Line() const {
  if (result.ok()) return result->SheetSummary();
  return absl::StrCat("sheet=\"", sheet, "\" ",
                      skipped ? "skipped: " : "failed: ", result.status().message());
}

absl::Status ParseSheetMapping(absl::string_view mapping, std::map<std::string, std::string>* out) {
  const size_t eq = mapping.rfind('=');
  if (eq == absl::string_view::npos || eq == 0 || eq + 1 == mapping.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sheet mapping '", mapping, "' is not NAME=KIND (e.g. \"External interactions=contacts\")"));
  }
  const std::string kind(mapping.substr(eq + 1));
  if (FindKind(kind) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("sheet mapping '", mapping, "': unknown kind '", kind,
                                                   "' (kinds: ", absl::StrJoin(KindNames(), ", "), ")"));
  }
  (*out)[std::string(mapping.substr(0, eq))] = kind;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SheetOutcome>> IngestWorkbook(postgres::PgPool& pool, const std::string& path,
                                                         absl::string_view filename,
                                                         const WorkbookOptions& options) {
  ASSIGN_OR_RETURN(auto wb, XlsxWorkbook::Open(path));
  int64_t bytes = 0;
  ASSIGN_OR_RETURN(auto sha, FileSha256(path, &bytes));
  for (const auto& [name, kind] : options.sheet_kinds) {
    bool found = false;
    for (const auto& s : wb->sheets()) found |= s.name == name;
    if (!found) {
      std::vector<std::string> names;
      for (const auto& s : wb->sheets()) names.push_back(absl::StrCat("\"", s.name, "\""));
      return absl::InvalidArgumentError(absl::StrCat("the workbook has no sheet \"", name,
                                                     "\" (its sheets: ", absl::StrJoin(names, ", "), ")"));
    }
  }
  IngestOptions ingest = options.ingest;
  ingest.dates.excel_1904 = wb->date1904();
  std::vector<SheetOutcome> outcomes;
  for (size_t i = 0; i < wb->sheets().size(); ++i) {
    const std::string& name = wb->sheets()[i].name;
    if (!options.only_sheets.empty() && std::find(options.only_sheets.begin(), options.only_sheets.end(),
                                                  name) == options.only_sheets.end()) {
      continue;
    }
    SheetOutcome outcome{name, absl::UnknownError("")};
    const KindSpec* spec = nullptr;
    if (auto it = options.sheet_kinds.find(name); it != options.sheet_kinds.end()) {
      spec = FindKind(it->second);
    } else if (!options.kind.empty()) {
      spec = FindKind(options.kind);
    } else {
      auto detected = DetectSheetKind(*wb, i);
      if (!detected.ok()) {
        outcome.result = detected.status();
        outcome.skipped = absl::IsInvalidArgument(detected.status());
        outcomes.push_back(std::move(outcome));
        continue;
      }
      spec = *detected;
    }
    if (spec == nullptr) {
      outcome.result = absl::InvalidArgumentError(absl::StrCat("unknown kind '", options.kind, "'"));
      outcomes.push_back(std::move(outcome));
      continue;
    }
    const XlsxWorkbook& workbook = *wb;
    ReaderFactory open = [&](bool) -> absl::StatusOr<std::unique_ptr<RecordReader>> {
      ASSIGN_OR_RETURN(auto rows, workbook.ReadSheet(i));
      return std::unique_ptr<RecordReader>(std::make_unique<SheetRecordReader>(std::move(rows), bytes, sha));
    };
    outcome.result = IngestRecords(pool, *spec, filename, name, open, ingest);
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

absl::StatusOr<const KindSpec*> DetectCsvKind(const std::string& path) {
  ChunkSource source = FileChunkSource(path);
  CsvReader reader;
  std::string chunk;
  CsvRecord record;
  int seen = 0;
  std::string first_header;
  bool eof = false;
  size_t read = 0;
  for (;;) {
    const CsvReader::Result next = reader.Next(&record);
    if (next == CsvReader::Result::kEnd) break;
    if (next == CsvReader::Result::kNeedMore) {
      ASSIGN_OR_RETURN(bool more, eof || read > (4u << 20) ? absl::StatusOr<bool>(false) : source(&chunk));
      if (!more) {
        eof = true;
        reader.Finish();
        continue;
      }
      read += chunk.size();
      reader.Feed(chunk);
      continue;
    }
    if (!record.error.empty() || RowValidator::IsBlank(record.fields)) continue;
    if (first_header.empty()) first_header = std::string(record.raw);
    if (std::optional<DetectedKind> k = DetectKind(record.fields)) return k->spec;
    if (++seen >= kHeaderSearchRows) break;
  }
  if (!reader.file_error().empty()) return absl::InvalidArgumentError(reader.file_error());
  return absl::InvalidArgumentError(
      absl::StrCat("cannot tell what the file holds from its header (read: ",
                   first_header.empty() ? "nothing" : first_header.substr(0, 500), "); give its kind (",
                   absl::StrJoin(KindNames(), ", "), ")"));
}

absl::StatusOr<std::vector<SheetOutcome>> IngestUploadedFile(postgres::PgPool& pool, const std::string& path,
                                                             absl::string_view filename,
                                                             const WorkbookOptions& options) {
  std::string head(4, '\0');
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    head.resize(std::fread(head.data(), 1, head.size(), f.get()));
  }
  if (LooksLikeZip(head)) return IngestWorkbook(pool, path, filename, options);
  const KindSpec* spec = options.kind.empty() ? nullptr : FindKind(options.kind);
  if (!options.kind.empty() && spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown kind '", options.kind, "' (kinds: ", absl::StrJoin(KindNames(), ", "), ")"));
  }
  if (spec == nullptr) {
    ASSIGN_OR_RETURN(auto detected, DetectCsvKind(path));
    spec = detected;
  }
  std::vector<SheetOutcome> outcomes;
  outcomes.push_back(
      SheetOutcome{"", IngestCsv(pool, *spec, filename, FileChunkSource(path), options.ingest)});
  return outcomes;
}

absl::StatusOr<std::vector<SheetOutcome>> IngestSpooled(postgres::PgPool& pool, absl::string_view filename,
                                                        const ChunkSource& source,
                                                        const WorkbookOptions& options, int64_t max_bytes) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/collector-upload-XXXXXX");
  const int fd = mkstemp(path.data());
  if (fd < 0) return absl::InternalError("cannot create a temporary file for the upload");
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{path};
  std::unique_ptr<FILE, int (*)(FILE*)> f(fdopen(fd, "wb"), &std::fclose);
  if (f == nullptr) {
    close(fd);
    return absl::InternalError("cannot open the temporary file for the upload");
  }
  std::string chunk;
  int64_t total = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, source(&chunk));
    if (!more) break;
    total += static_cast<int64_t>(chunk.size());
    if (max_bytes > 0 && total > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat("the upload is larger than ", max_bytes, " bytes"));
    }
    if (std::fwrite(chunk.data(), 1, chunk.size(), f.get()) != chunk.size()) {
      return absl::ResourceExhaustedError("cannot spool the upload (disk full?)");
    }
  }
  if (std::fflush(f.get()) != 0) return absl::ResourceExhaustedError("cannot spool the upload (disk full?)");
  f.reset();
  return IngestUploadedFile(pool, path, filename, options);
}

std::string OutcomesJson(const std::vector<SheetOutcome>& outcomes) {
  using OrderedJson = nlohmann::ordered_json;
  OrderedJson sheets = OrderedJson::array();
  for (const SheetOutcome& o : outcomes) {
    if (o.result.ok()) {
      // One document per sheet, as IngestResult::Json() prints it.
      sheets.push_back(OrderedJson::parse(o.result->Json(), nullptr, /*allow_exceptions=*/false));
    } else {
      sheets.push_back({{"sheet", o.sheet}, {o.skipped ? "skipped" : "error", o.result.status().message()}});
    }
  }
  return OrderedJson{{"sheets", std::move(sheets)}}.dump(-1, ' ', false,
                                                         OrderedJson::error_handler_t::replace);
}

}  // namespace marketlens::collector
