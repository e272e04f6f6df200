#include "services/collector/xlsx_reader.h"

#include <expat.h>
#include <zip.h>

#include <deque>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "services/collector/values.h"

namespace marketlens::collector {
namespace {

// Bounds against zip bombs: a part read whole (workbook, styles, shared strings) and one cell.
constexpr zip_uint64_t kMaxWholePartBytes = 512ull << 20;
constexpr size_t kMaxCellBytes = 1 << 20;
constexpr int kMaxColumns = 16384;  // Excel's XFD

// Names come as "namespace-uri|local" (XML_ParserCreateNS): the local part.
absl::string_view Local(const XML_Char* name) {
  absl::string_view n(name);
  const size_t bar = n.rfind('|');
  return bar == absl::string_view::npos ? n : n.substr(bar + 1);
}

const XML_Char* Attr(const XML_Char** attrs, absl::string_view local) {
  for (int i = 0; attrs[i] != nullptr; i += 2) {
    if (Local(attrs[i]) == local) return attrs[i + 1];
  }
  return nullptr;
}

// "BC12" -> column 54 (0-based) and row 12.
bool ParseCellRef(absl::string_view ref, int* column, int64_t* row) {
  int col = 0;
  size_t i = 0;
  while (i < ref.size() && absl::ascii_isalpha(static_cast<unsigned char>(ref[i]))) {
    col = col * 26 + (absl::ascii_toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
    if (col > kMaxColumns) return false;
    ++i;
  }
  if (i == 0) return false;
  *column = col - 1;
  return absl::SimpleAtoi(ref.substr(i), row);
}

// A number format that shows a date or time: Excel's built-in ids, or a code with d/m/y/h/s outside quoted
// text, escapes and [colour] sections.
bool IsDateFormat(int id, absl::string_view code) {
  if ((id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58))
    return true;
  if (code.empty()) return false;
  bool quoted = false;
  int bracket = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (quoted) {
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;
    } else if (c == '[') {
      ++bracket;
    } else if (c == ']') {
      if (bracket > 0) --bracket;
    } else if (bracket == 0) {
      const char l = absl::ascii_tolower(static_cast<unsigned char>(c));
      if (l == 'd' || l == 'm' || l == 'y' || l == 'h' || l == 's') return true;
    }
  }
  return false;
}

// The whole of a (small) part; NOT_FOUND when the zip has no such entry.
absl::StatusOr<std::string> ReadPart(zip_t* zip, const std::string& name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(zip, name.c_str(), 0, &st) != 0) return absl::NotFoundError(absl::StrCat("no part ", name));
  if ((st.valid & ZIP_STAT_SIZE) && st.size > kMaxWholePartBytes) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is larger than ", kMaxWholePartBytes, " bytes"));
  }
  zip_file_t* f = zip_fopen(zip, name.c_str(), 0);
  if (f == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot open ", name, " in the workbook"));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const zip_int64_t n = zip_fread(f, buf, sizeof buf);
    if (n < 0) {
      zip_fclose(f);
      return absl::InvalidArgumentError(absl::StrCat("cannot decompress ", name, " (damaged workbook?)"));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxWholePartBytes) {
      zip_fclose(f);
      return absl::InvalidArgumentError(absl::StrCat(name, " is larger than ", kMaxWholePartBytes, " bytes"));
    }
  }
  zip_fclose(f);
  return out;
}

// Runs an expat parser with element handlers of `Handler` over `xml`.
template <typename Handler>
absl::Status ParseXml(absl::string_view xml, Handler* handler, absl::string_view what) {
  XML_Parser p = XML_ParserCreateNS(nullptr, '|');
  XML_SetUserData(p, handler);
  XML_SetElementHandler(
      p,
      [](void* h, const XML_Char* name, const XML_Char** attrs) {
        static_cast<Handler*>(h)->Start(Local(name), attrs);
      },
      [](void* h, const XML_Char* name) { static_cast<Handler*>(h)->End(Local(name)); });
  XML_SetCharacterDataHandler(p, [](void* h, const XML_Char* s, int len) {
    static_cast<Handler*>(h)->Text(absl::string_view(s, static_cast<size_t>(len)));
  });
  absl::Status st;
  if (XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_ERROR) {
    st = absl::InvalidArgumentError(absl::StrCat(what, ": XML error at line ", XML_GetCurrentLineNumber(p),
                                                 ": ", XML_ErrorString(XML_GetErrorCode(p))));
  }
  XML_ParserFree(p);
  return st;
}

struct WorkbookHandler {
  std::vector<std::pair<std::string, std::string>> sheets;  // name, relationship id
  bool date1904 = false;
  void Start(absl::string_view name, const XML_Char** attrs) {
    if (name == "sheet") {
      const XML_Char* n = Attr(attrs, "name");
      const XML_Char* id = Attr(attrs, "id");
      sheets.emplace_back(n ? n : "", id ? id : "");
    } else if (name == "workbookPr") {
      const XML_Char* d = Attr(attrs, "date1904");
      date1904 = d != nullptr && (absl::string_view(d) == "1" || absl::string_view(d) == "true");
    }
  }
  void End(absl::string_view) {}
  void Text(absl::string_view) {}
};

struct RelsHandler {
  absl::flat_hash_map<std::string, std::string> targets;
  void Start(absl::string_view name, const XML_Char** attrs) {
    if (name != "Relationship") return;
    const XML_Char* id = Attr(attrs, "Id");
    const XML_Char* target = Attr(attrs, "Target");
    if (id != nullptr && target != nullptr) targets[id] = target;
  }
  void End(absl::string_view) {}
  void Text(absl::string_view) {}
};

struct StylesHandler {
  absl::flat_hash_map<int, std::string> custom;  // numFmtId -> formatCode
  std::vector<int> xf_formats;                   // cellXfs: numFmtId per style index
  bool in_cell_xfs = false;
  void Start(absl::string_view name, const XML_Char** attrs) {
    if (name == "numFmt") {
      const XML_Char* id = Attr(attrs, "numFmtId");
      const XML_Char* code = Attr(attrs, "formatCode");
      int n = 0;
      if (id != nullptr && code != nullptr && absl::SimpleAtoi(id, &n)) custom[n] = code;
    } else if (name == "cellXfs") {
      in_cell_xfs = true;
    } else if (name == "xf" && in_cell_xfs) {
      const XML_Char* id = Attr(attrs, "numFmtId");
      int n = 0;
      if (id == nullptr || !absl::SimpleAtoi(id, &n)) n = 0;
      xf_formats.push_back(n);
    }
  }
  void End(absl::string_view name) {
    if (name == "cellXfs") in_cell_xfs = false;
  }
  void Text(absl::string_view) {}
};

struct SharedStringsHandler {
  std::vector<std::string>* strings;
  std::string current;
  bool in_t = false;
  int in_phonetic = 0;  // <rPh>: reading hints, not part of the text
  void Start(absl::string_view name, const XML_Char**) {
    if (name == "si") current.clear();
    if (name == "rPh") ++in_phonetic;
    if (name == "t" && in_phonetic == 0) in_t = true;
  }
  void End(absl::string_view name) {
    if (name == "t") in_t = false;
    if (name == "rPh") --in_phonetic;
    if (name == "si") strings->push_back(std::move(current));
  }
  void Text(absl::string_view s) {
    if (in_t && current.size() < kMaxCellBytes) current.append(s.data(), s.size());
  }
};

std::string FormatSerialDate(double serial, bool base_1904, const std::string& fallback) {
  std::optional<absl::Time> t = ExcelSerialToTime(serial, base_1904);
  if (!t.has_value()) return fallback;
  const absl::CivilSecond cs = absl::ToCivilSecond(*t, absl::UTCTimeZone());
  if (cs.hour() == 0 && cs.minute() == 0 && cs.second() == 0) {
    return absl::StrFormat("%04d-%02d-%02d", cs.year(), cs.month(), cs.day());
  }
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d", cs.year(), cs.month(), cs.day(), cs.hour(),
                         cs.minute(), cs.second());
}

}  // namespace

bool LooksLikeZip(absl::string_view head) {
  return absl::StartsWith(head, absl::string_view("PK\x03\x04", 4));
}

struct XlsxWorkbook::Impl {
  zip_t* zip = nullptr;
  std::vector<std::string> shared_strings;
  std::vector<bool> date_styles;  // per cellXfs index
  bool date1904 = false;
  ~Impl() {
    if (zip != nullptr) zip_discard(zip);
  }
};

XlsxWorkbook::~XlsxWorkbook() = default;

absl::StatusOr<std::unique_ptr<XlsxWorkbook>> XlsxWorkbook::Open(const std::string& path) {
  std::unique_ptr<XlsxWorkbook> wb(new XlsxWorkbook());
  wb->impl_ = std::make_unique<Impl>();
  int error = 0;
  wb->impl_->zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (wb->impl_->zip == nullptr) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, error);
    std::string message = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    return absl::InvalidArgumentError(absl::StrCat("not a readable .xlsx workbook (zip: ", message, ")"));
  }
  zip_t* zip = wb->impl_->zip;
  auto workbook_xml = ReadPart(zip, "xl/workbook.xml");
  if (!workbook_xml.ok()) {
    return absl::InvalidArgumentError(
        "not an .xlsx workbook: the zip has no xl/workbook.xml (an .xls, .ods or other file?)");
  }
  WorkbookHandler wh;
  if (auto st = ParseXml(*workbook_xml, &wh, "xl/workbook.xml"); !st.ok()) return st;
  RelsHandler rh;
  if (auto rels = ReadPart(zip, "xl/_rels/workbook.xml.rels"); rels.ok()) {
    if (auto st = ParseXml(*rels, &rh, "xl/_rels/workbook.xml.rels"); !st.ok()) return st;
  }
  for (size_t i = 0; i < wh.sheets.size(); ++i) {
    std::string part;
    if (auto it = rh.targets.find(wh.sheets[i].second); it != rh.targets.end()) {
      absl::string_view target = it->second;
      part = absl::ConsumePrefix(&target, "/") ? std::string(target) : absl::StrCat("xl/", target);
    } else {
      part = absl::StrCat("xl/worksheets/sheet", i + 1, ".xml");
    }
    wb->sheets_.push_back({wh.sheets[i].first, part});
  }
  wb->date1904_ = wb->impl_->date1904 = wh.date1904;
  if (auto ss = ReadPart(zip, "xl/sharedStrings.xml"); ss.ok()) {
    SharedStringsHandler sh{&wb->impl_->shared_strings};
    if (auto st = ParseXml(*ss, &sh, "xl/sharedStrings.xml"); !st.ok()) return st;
  } else if (!absl::IsNotFound(ss.status())) {
    return ss.status();
  }
  if (auto styles = ReadPart(zip, "xl/styles.xml"); styles.ok()) {
    StylesHandler sh;
    if (auto st = ParseXml(*styles, &sh, "xl/styles.xml"); !st.ok()) return st;
    for (int id : sh.xf_formats) {
      auto it = sh.custom.find(id);
      wb->impl_->date_styles.push_back(IsDateFormat(id, it == sh.custom.end() ? "" : it->second));
    }
  }
  return wb;
}

namespace {

// Streams one worksheet part: expat is fed decompressed chunks; completed rows queue up.
class SheetRowsImpl : public XlsxWorkbook::SheetRows {
 public:
  SheetRowsImpl(zip_file_t* file, std::string part, const std::vector<std::string>* shared,
                const std::vector<bool>* date_styles, bool date1904)
      : file_(file),
        part_(std::move(part)),
        shared_(shared),
        date_styles_(date_styles),
        date1904_(date1904),
        parser_(XML_ParserCreateNS(nullptr, '|')) {
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(
        parser_,
        [](void* h, const XML_Char* name, const XML_Char** attrs) {
          static_cast<SheetRowsImpl*>(h)->Start(Local(name), attrs);
        },
        [](void* h, const XML_Char* name) { static_cast<SheetRowsImpl*>(h)->End(Local(name)); });
    XML_SetCharacterDataHandler(parser_, [](void* h, const XML_Char* s, int len) {
      static_cast<SheetRowsImpl*>(h)->Text(absl::string_view(s, static_cast<size_t>(len)));
    });
  }
  ~SheetRowsImpl() override {
    XML_ParserFree(parser_);
    zip_fclose(file_);
  }

  absl::StatusOr<bool> Next(int64_t* row_number, std::vector<std::string>* cells) override {
    while (rows_.empty()) {
      if (!error_.ok()) return error_;
      if (done_) return false;
      char buf[1 << 16];
      const zip_int64_t n = zip_fread(file_, buf, sizeof buf);
      if (n < 0) return absl::InvalidArgumentError(absl::StrCat("cannot decompress ", part_));
      if (XML_Parse(parser_, buf, static_cast<int>(n), n == 0) == XML_STATUS_ERROR) {
        return absl::InvalidArgumentError(absl::StrCat(part_, ": XML error at line ",
                                                       XML_GetCurrentLineNumber(parser_), ": ",
                                                       XML_ErrorString(XML_GetErrorCode(parser_))));
      }
      if (n == 0) done_ = true;
    }
    *row_number = rows_.front().first;
    *cells = std::move(rows_.front().second);
    rows_.pop_front();
    return true;
  }

 private:
  void Start(absl::string_view name, const XML_Char** attrs) {
    if (name == "row") {
      int64_t r = 0;
      const XML_Char* ra = Attr(attrs, "r");
      row_ = (ra != nullptr && absl::SimpleAtoi(ra, &r)) ? r : row_ + 1;
      cells_.clear();
      next_col_ = 0;
    } else if (name == "c") {
      const XML_Char* ref = Attr(attrs, "r");
      int col = next_col_;
      int64_t r = 0;
      if (ref != nullptr && !ParseCellRef(ref, &col, &r)) col = next_col_;
      col_ = col;
      next_col_ = col + 1;
      const XML_Char* t = Attr(attrs, "t");
      type_ = t != nullptr ? t : "n";
      const XML_Char* s = Attr(attrs, "s");
      style_ = 0;
      if (s == nullptr || !absl::SimpleAtoi(s, &style_)) style_ = 0;
      value_.clear();
      inline_.clear();
    } else if (name == "v") {
      in_v_ = true;
    } else if (name == "rPh") {
      ++in_phonetic_;
    } else if (name == "t" && in_phonetic_ == 0) {
      in_t_ = true;
    }
  }
  void End(absl::string_view name) {
    if (name == "v") {
      in_v_ = false;
    } else if (name == "t") {
      in_t_ = false;
    } else if (name == "rPh") {
      --in_phonetic_;
    } else if (name == "c") {
      if (col_ >= kMaxColumns) return;
      if (cells_.size() <= static_cast<size_t>(col_)) cells_.resize(col_ + 1);
      cells_[col_] = CellText();
    } else if (name == "row") {
      rows_.emplace_back(row_, std::move(cells_));
      cells_.clear();
    }
  }
  void Text(absl::string_view s) {
    if (in_v_ && value_.size() < kMaxCellBytes) value_.append(s.data(), s.size());
    if (in_t_ && inline_.size() < kMaxCellBytes) inline_.append(s.data(), s.size());
  }

  std::string CellText() {
    if (type_ == "s") {
      size_t i = 0;
      if (absl::SimpleAtoi(value_, &i) && i < shared_->size()) return (*shared_)[i];
      if (error_.ok()) {
        error_ = absl::InvalidArgumentError(absl::StrCat(part_, ": row ", row_, " refers to shared string ",
                                                         value_, " which does not exist"));
      }
      return "";
    }
    if (type_ == "inlineStr") return inline_;
    if (type_ == "b") return value_ == "1" ? "TRUE" : "FALSE";
    if (type_ == "str" || type_ == "e") return value_;
    // A number; a date when its style says so.
    if (style_ >= 0 && static_cast<size_t>(style_) < date_styles_->size() && (*date_styles_)[style_]) {
      double serial = 0;
      if (absl::SimpleAtod(value_, &serial) && serial >= 1)
        return FormatSerialDate(serial, date1904_, value_);
    }
    return value_;
  }

  zip_file_t* file_;
  std::string part_;
  const std::vector<std::string>* shared_;
  const std::vector<bool>* date_styles_;
  bool date1904_;
  XML_Parser parser_;
  absl::Status error_;
  bool done_ = false;
  std::deque<std::pair<int64_t, std::vector<std::string>>> rows_;
  int64_t row_ = 0;
  std::vector<std::string> cells_;
  int col_ = 0, next_col_ = 0;
  std::string type_;
  int style_ = 0;
  std::string value_, inline_;
  bool in_v_ = false, in_t_ = false;
  int in_phonetic_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<XlsxWorkbook::SheetRows>> XlsxWorkbook::ReadSheet(size_t index) const {
  if (index >= sheets_.size()) return absl::OutOfRangeError(absl::StrCat("no sheet ", index));
  zip_file_t* f = zip_fopen(impl_->zip, sheets_[index].part.c_str(), 0);
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("sheet \"", sheets_[index].name, "\": part ", sheets_[index].part, " missing"));
  }
  return std::unique_ptr<SheetRows>(std::make_unique<SheetRowsImpl>(
      f, sheets_[index].part, &impl_->shared_strings, &impl_->date_styles, impl_->date1904));
}

}  // namespace marketlens::collector
