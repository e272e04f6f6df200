// A streaming reader of Excel workbooks (.xlsx, Office Open XML): a zip (libzip) of XML parts (expat).
//
// What it reads: the sheet list (xl/workbook.xml and its relationships), shared strings
// (xl/sharedStrings.xml, rich text runs joined, phonetic runs skipped), inline strings, numbers, booleans
// (TRUE/FALSE), formula results (cached values), error cells (#N/A...), and which number formats are dates
// (xl/styles.xml: the built-in date formats and custom ones with d/m/y/h outside quotes), so a date cell
// becomes "2019-04-10 09:00:00" whichever base the workbook uses (1900 or 1904, workbookPr date1904).
// Rows come one at a time, with their sheet row number, padded with empty cells where the sheet skips
// columns; a sheet is parsed as it is decompressed, so memory holds the shared strings and one row.
#ifndef MARKETLENS_SERVICES_COLLECTOR_XLSX_READER_H_
#define MARKETLENS_SERVICES_COLLECTOR_XLSX_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::collector {

// True when the bytes start like a zip file ("PK\3\4"): how an upload is told to be a workbook.
bool LooksLikeZip(absl::string_view head);

class XlsxWorkbook {
 public:
  // INVALID_ARGUMENT for a file that is not a readable .xlsx workbook (naming what is wrong).
  static absl::StatusOr<std::unique_ptr<XlsxWorkbook>> Open(const std::string& path);
  ~XlsxWorkbook();

  struct Sheet {
    std::string name;
    std::string part;  // "xl/worksheets/sheet1.xml"
  };
  const std::vector<Sheet>& sheets() const { return sheets_; }
  bool date1904() const { return date1904_; }

  // Rows of one sheet, in order. Next() fills the row number (1-based) and its cells (column A first);
  // returns false at the end.
  class SheetRows {
   public:
    virtual ~SheetRows() = default;
    virtual absl::StatusOr<bool> Next(int64_t* row_number, std::vector<std::string>* cells) = 0;
  };
  absl::StatusOr<std::unique_ptr<SheetRows>> ReadSheet(size_t index) const;

 private:
  XlsxWorkbook() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Sheet> sheets_;
  bool date1904_ = false;
};

}  // namespace marketlens::collector

#endif  // MARKETLENS_SERVICES_COLLECTOR_XLSX_READER_H_
