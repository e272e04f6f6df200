#include "services/collector/ingest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging/log.h"
#include "common/postgres/errors.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/collector/values.h"

namespace marketlens::collector {
namespace {

constexpr char kStage[] = "collector_ingest_stage";

// The column of a raw table that names the person a row is about ("" when none).
std::string SubjectColumn(absl::string_view table) {
  if (table == "raw.contacts" || table == "raw.interactions") return "customer_id";
  if (table == "raw.customers") return "id";
  return "";
}
constexpr size_t kMaxReasonBytes = 2000;

// Incremental SHA-256 of the file's bytes (ingest.files.sha256).
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256Stream() { EVP_MD_CTX_free(ctx_); }
  void Update(absl::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 15]);
    }
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
};

using OrderedJson = nlohmann::ordered_json;

std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace

std::string IngestResult::Summary() const {
  return absl::StrCat("rows=", rows, " accepted=", accepted, " rejected=", rejected,
                      " duplicates=", duplicates);
}

std::string IngestResult::SheetSummary() const {
  return absl::StrCat("sheet=\"", sheet, "\" kind=", kind, " ", Summary());
}

std::string IngestResult::Json() const {
  OrderedJson rejects_json = OrderedJson::array();
  for (const IngestRejectInfo& r : rejects) {
    rejects_json.push_back({{"line", r.line}, {"column", r.column}, {"reason", r.reason}});
  }
  const OrderedJson out = {{"file_id", file_id},
                           {"kind", kind},
                           {"sheet", sheet},
                           {"rows", rows},
                           {"accepted", accepted},
                           {"rejected", rejected},
                           {"duplicates", duplicates},
                           {"bytes", bytes},
                           {"sha256", sha256},
                           {"ignored_columns", ignored_columns},
                           {"notes", notes},
                           {"rejects", std::move(rejects_json)},
                           {"seconds", absl::ToDoubleSeconds(elapsed)}};
  return Dump(out);
}

absl::StatusOr<std::string> FileSha256(const std::string& path, int64_t* bytes) {
  ChunkSource source = FileChunkSource(path);
  Sha256Stream sha;
  std::string chunk;
  *bytes = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, source(&chunk));
    if (!more) break;
    sha.Update(chunk);
    *bytes += static_cast<int64_t>(chunk.size());
  }
  return sha.HexDigest();
}

ChunkSource FileChunkSource(const std::string& path) {
  std::shared_ptr<FILE> file(std::fopen(path.c_str(), "rb"), [](FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  const int open_errno = errno;
  return [file, path, open_errno](std::string* chunk) -> absl::StatusOr<bool> {
    if (file == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(open_errno)));
    }
    chunk->resize(1 << 20);
    const size_t n = std::fread(chunk->data(), 1, chunk->size(), file.get());
    chunk->resize(n);
    if (n == 0) {
      if (std::ferror(file.get())) return absl::DataLossError(absl::StrCat("cannot read ", path));
      return false;
    }
    return true;
  };
}

namespace {

// A temporary file (deleted when closed): the spooled input and the spilled rejects, so that memory stays
// bounded whatever the file's size.
class TempFile {
 public:
  TempFile() : f_(std::tmpfile()) {}
  ~TempFile() {
    if (f_ != nullptr) std::fclose(f_);
  }
  bool ok() const { return f_ != nullptr; }
  FILE* get() { return f_; }
  bool Write(absl::string_view data) { return std::fwrite(data.data(), 1, data.size(), f_) == data.size(); }
  bool Rewind() { return std::fflush(f_) == 0 && std::fseek(f_, 0, SEEK_SET) == 0; }

 private:
  FILE* f_;
};

void PutString(std::string* out, absl::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s.data(), s.size());
}
bool GetString(FILE* f, std::string* s) {
  uint32_t n = 0;
  if (std::fread(&n, sizeof n, 1, f) != 1) return false;
  s->resize(n);
  return n == 0 || std::fread(s->data(), 1, n, f) == n;
}

// SQL array literal of text values: {"a","b\"c"}.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

constexpr size_t kProbeRows = 2000;
// Rows before the header a file may have (a title, a date, blank lines) before giving up on finding it.
constexpr int kMaxRowsBeforeHeader = 10;

// CSV text from a ChunkSource, spooled (for a staged retry), hashed and counted as it is read.
class CsvRecordReader : public RecordReader {
 public:
  CsvRecordReader(const ChunkSource& source, const CsvOptions& options, TempFile* spool)
      : source_(source), reader_(options), spool_(spool) {}

  absl::StatusOr<bool> Next(CsvRecord* record) override {
    for (;;) {
      const CsvReader::Result next = reader_.Next(record);
      if (next == CsvReader::Result::kEnd) return false;
      if (next == CsvReader::Result::kRecord) return true;
      if (eof_) {
        reader_.Finish();
        continue;
      }
      ASSIGN_OR_RETURN(bool more, source_(&chunk_));
      if (!more) {
        eof_ = true;
        reader_.Finish();
        continue;
      }
      if (spool_ != nullptr && !spool_->Write(chunk_)) {
        return absl::ResourceExhaustedError("cannot spool the input to a temporary file (disk full?)");
      }
      sha_.Update(chunk_);
      bytes_ += static_cast<int64_t>(chunk_.size());
      reader_.Feed(chunk_);
    }
  }
  void set_expected_fields(size_t n) override { reader_.set_expected_fields(n); }
  std::string file_error() const override { return reader_.file_error(); }
  int64_t bytes() const override { return bytes_; }
  std::string sha256() override { return sha_.HexDigest(); }

 private:
  const ChunkSource& source_;
  CsvReader reader_;
  TempFile* spool_;
  Sha256Stream sha_;
  std::string chunk_;
  int64_t bytes_ = 0;
  bool eof_ = false;
};

// One attempt at loading the whole input in one transaction.
//
// Mode "direct": the good rows are COPYed straight into the raw table, which is the fastest path (no staging,
// and PostgreSQL inserts while we parse). It is chosen when none of the first rows' ids exist in the table;
// should an id repeat within the file, the rest of the file goes to staging instead (and the staged upsert
// lets the later row win); should an id turn out to exist already, COPY fails and the caller redoes the load
// in staged mode from the spooled input.
// Mode "staged": the good rows are COPYed into a temporary table, then upserted (last row of an id wins;
// unchanged rows are not rewritten).
// Rejects are spilled to a temp file and COPYed into ingest.rejects at the end, in both modes.
class Loader {
 public:
  Loader(const KindSpec& spec, const IngestOptions& options, IngestResult* result)
      : spec_(spec), options_(options), result_(result) {
    for (const ColumnSpec& col : spec.columns) columns_.push_back(col.name);
    // The column naming the person a row is about: rows of a forgotten person are dropped (docs/privacy.md).
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c] == SubjectColumn(spec.table)) subject_column_ = static_cast<int>(c);
    }
  }

  bool direct_rows_written() const { return direct_rows_ > 0 || direct_open_; }
  const absl::Status& file_error() const { return file_error_; }

  absl::Status Load(postgres::Tx& tx, RecordReader& reader, bool allow_direct) {
    const absl::Time start = absl::Now();
    const int64_t timeout_ms = std::max<int64_t>(1000, absl::ToInt64Milliseconds(options_.timeout));
    if (auto r = tx.Exec(absl::StrCat("SET LOCAL statement_timeout = ", timeout_ms)); !r.ok())
      return r.status();
    if (auto r = tx.Exec("SET LOCAL work_mem = '256MB'"); !r.ok()) return r.status();
    TempFile rejects;
    if (!rejects.ok()) return absl::InternalError("cannot create a temporary file for the rejected rows");
    rejects_ = &rejects;
    TempFile deferred;  // rows held until the file shows its day/month order
    int64_t deferred_rows = 0;

    std::optional<RowValidator> validator;
    RowValues values;
    CsvRecord record;
    bool decided = false;  // mode chosen
    int rows_before_header = 0;
    absl::Status header_error;
    std::vector<std::vector<FieldValue>> probe_rows;
    std::vector<int64_t> probe_lines;
    absl::Time next_progress = absl::Now() + absl::Seconds(10);

    auto decide = [&]() -> absl::Status {
      decided = true;
      bool direct = allow_direct && !maybe_duplicates_;
      if (direct && !probe_rows.empty()) {
        std::vector<std::string> ids;
        for (const auto& row : probe_rows) ids.push_back(row[0].text);
        auto r = tx.Exec(absl::StrCat("SELECT count(*) FROM ", spec_.table, " WHERE id = ANY($1::text[])"),
                         TextArray(ids));
        if (!r.ok()) return r.status();
        direct = (*r)[0][0].as<int64_t>() == 0;
      }
      if (direct) {
        if (auto st = OpenDirect(tx); !st.ok()) return st;
      } else {
        if (auto st = OpenStage(tx); !st.ok()) return st;
      }
      for (size_t i = 0; i < probe_rows.size(); ++i) {
        if (auto st = WriteGood(tx, probe_lines[i], probe_rows[i]); !st.ok()) return st;
      }
      probe_rows.clear();
      probe_lines.clear();
      return absl::OkStatus();
    };

    // A good row: into the probe (until the load mode is chosen), then COPY.
    auto accept = [&](int64_t line) -> absl::Status {
      ++good_;
      const bool repeated = !id_hashes_.insert(absl::Hash<std::string>{}(values[0].text)).second;
      if (repeated) maybe_duplicates_ = true;
      if (!decided) {
        probe_rows.push_back(values);
        probe_lines.push_back(line);
        if (probe_rows.size() >= kProbeRows) return decide();
        return absl::OkStatus();
      }
      if (direct_open_ && repeated) {
        // An id seen before in this file: from here on, stage (the upsert lets the later row win).
        if (auto st = CloseDirect(); !st.ok()) return st;
        if (auto st = OpenStage(tx); !st.ok()) return st;
      }
      return WriteGood(tx, line, values);
    };

    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader.Next(&record));
      if (!more) break;
      if (!validator.has_value()) {
        // The header: the first row that names the kind's columns (title rows above it are skipped).
        if (record.error.empty() && RowValidator::IsBlank(record.fields)) continue;
        absl::Status st;
        if (!record.error.empty()) {
          st = absl::InvalidArgumentError(absl::StrCat("line ", record.line, ": bad header: ", record.error));
        } else {
          auto v = RowValidator::Create(&spec_, record.fields, options_.dates);
          if (v.ok()) {
            validator.emplace(*std::move(v));
            result_->ignored_columns = validator->ignored_columns();
            result_->header_line = record.line;
            reader.set_expected_fields(validator->header_width());
            continue;
          }
          st = absl::InvalidArgumentError(absl::StrCat("line ", record.line, ": ", v.status().message()));
        }
        if (header_error.ok()) header_error = st;
        if (++rows_before_header >= kMaxRowsBeforeHeader) {
          file_error_ = header_error;
          return file_error_;
        }
        continue;
      }
      if (record.error.empty() && RowValidator::IsBlank(record.fields)) continue;
      ++result_->rows;
      if (!record.error.empty()) {
        if (!Reject(record.line, "", record.error, record.raw)) return SpillError();
        continue;
      }
      std::optional<RowProblem> problem = validator->Validate(record.fields, &values);
      if (problem.has_value() && problem->ambiguous_date_only &&
          validator->date_order() == DayMonthOrder::kUnknown) {
        // "04/10/2019" before any row showed the file's order: validated again at the end.
        if (!Defer(&deferred, record)) return SpillError();
        ++deferred_rows;
        continue;
      }
      if (problem.has_value()) {
        if (!Reject(record.line, problem->column, problem->reason, record.raw)) return SpillError();
        continue;
      }
      if (auto st = accept(record.line); !st.ok()) return st;
      if ((result_->rows & 0xFFFF) == 0 && absl::Now() >= next_progress) {
        next_progress = absl::Now() + absl::Seconds(10);
        logging::Info("ingest progress", {{"file_id", result_->file_id},
                                          {"rows", result_->rows},
                                          {"rejected", result_->rejected},
                                          {"bytes", reader.bytes()}});
      }
    }
    if (deferred_rows > 0 && validator.has_value()) {
      // The order is known now (or never will be: then these rows are refused with the reason).
      if (!deferred.Rewind()) return SpillError();
      std::vector<std::string> fields;
      std::vector<absl::string_view> views;
      std::string raw;
      for (int64_t i = 0; i < deferred_rows; ++i) {
        int64_t line = 0;
        if (!ReadDeferred(&deferred, &line, &fields, &raw)) return SpillError();
        views.assign(fields.begin(), fields.end());
        std::optional<RowProblem> problem = validator->Validate(views, &values);
        if (problem.has_value()) {
          if (problem->ambiguous_date_only) ++validator->notes().ambiguous_rows;
          if (!Reject(line, problem->column, problem->reason, raw)) return SpillError();
          continue;
        }
        if (auto st = accept(line); !st.ok()) return st;
      }
    }
    if (!reader.file_error().empty()) {
      file_error_ = absl::InvalidArgumentError(reader.file_error());
      return file_error_;
    }
    if (!validator.has_value()) {
      file_error_ =
          header_error.ok() ? absl::InvalidArgumentError("the file is empty: no header line") : header_error;
      return file_error_;
    }
    result_->notes = validator->notes().Lines(validator->date_order_given());
    if (!decided) {
      if (auto st = decide(); !st.ok()) return st;
    }
    if (direct_open_) {
      if (auto st = CloseDirect(); !st.ok()) return st;
    }
    const absl::Time copied = absl::Now();
    int64_t accepted = direct_rows_;
    if (stage_copy_ != nullptr) {
      if (auto n = stage_copy_->Finish(); !n.ok()) return n.status();
      stage_copy_.reset();
      // Distinct staged ids not already written directly by this file.
      if (direct_rows_ == 0 && !maybe_duplicates_) {
        accepted = stage_rows_;
      } else {
        auto r = tx.Exec(absl::StrCat("SELECT count(*) FROM (SELECT DISTINCT id FROM ", kStage,
                                      ") s WHERE NOT EXISTS (", "SELECT 1 FROM ", spec_.table,
                                      " t WHERE t.id = s.id AND t.ingest_file_id = $1::uuid)"),
                         result_->file_id);
        if (!r.ok()) return r.status();
        accepted += (*r)[0][0].as<int64_t>();
      }
      if (stage_rows_ > 0) {
        // Statistics for the planner (a fresh temp table has none): anti-join vs. index probes.
        if (auto r = tx.Exec(absl::StrCat("ANALYZE ", kStage)); !r.ok()) return r.status();
        ASSIGN_OR_RETURN(auto r, tx.Exec(UpsertSql(spec_), result_->file_id));
      }
    }
    int64_t erased = 0;
    if (auto st = DropErasedSubjects(tx, &erased); !st.ok()) return st;
    result_->erased_subject = erased;
    result_->accepted = accepted - erased;
    result_->duplicates = good_ - accepted;
    if (result_->rejected > 0) {
      if (auto st = LoadRejects(tx); !st.ok()) return st;
      if (auto st = DropErasedRejects(tx); !st.ok()) return st;
    }
    result_->sha256 = reader.sha256();
    result_->bytes = reader.bytes();
    logging::Info("ingest phases",
                  {{"file_id", result_->file_id},
                   {"mode", direct_rows_ > 0 ? (stage_rows_ > 0 ? "direct+staged" : "direct") : "staged"},
                   {"direct_rows", direct_rows_},
                   {"staged_rows", stage_rows_},
                   {"read_parse_copy_s", absl::ToDoubleSeconds(copied - start)},
                   {"upsert_and_rejects_s", absl::ToDoubleSeconds(absl::Now() - copied)}});
    auto r = tx.Exec(
        "UPDATE ingest.files SET status = 'succeeded', sha256 = $2, bytes = $3, rows = $4, accepted = $5, "
        "rejected = $6, duplicates = $7, notes = $8, finished_at = now() WHERE id = $1::uuid",
        result_->file_id, result_->sha256, result_->bytes, result_->rows, result_->accepted,
        result_->rejected, result_->duplicates, absl::StrJoin(result_->notes, "\n"));
    return r.status();
  }

 private:
  // Rows of this file about a forgotten person (privacy.tombstones) are deleted again before the commit, so
  // an ingest never brings them back; they are counted as erased_subject. The person's ids seen in the file
  // are checked in one query (usually none is tombstoned, and the raw table is not scanned).
  absl::Status DropErasedSubjects(postgres::Tx& tx, int64_t* erased) {
    *erased = 0;
    if (subjects_.empty()) return absl::OkStatus();
    OrderedJson ids_json = OrderedJson::array();
    for (const std::string& id : subjects_) ids_json.push_back(id);
    const std::string ids = Dump(ids_json);
    auto found = tx.Exec(
        "SELECT COALESCE(jsonb_agg(s), '[]'::jsonb)::text FROM jsonb_array_elements_text($1::jsonb) s "
        "WHERE EXISTS (SELECT 1 FROM privacy.tombstones) AND privacy.is_erased(s)",
        ids);
    if (!found.ok()) return found.status();
    const std::string erased_ids = (*found)[0][0].as<std::string>();
    if (erased_ids == "[]") return absl::OkStatus();
    auto r = tx.Exec(
        absl::StrCat("DELETE FROM ", spec_.table, " WHERE ", SubjectColumn(spec_.table),
                     " IN (SELECT jsonb_array_elements_text($1::jsonb)) AND ingest_file_id = $2::uuid"),
        erased_ids, result_->file_id);
    if (!r.ok()) return r.status();
    *erased = r->affected_rows();
    logging::Info("ingest: rows of erased subjects dropped",
                  {{"file_id", result_->file_id}, {"rows", *erased}});
    return absl::OkStatus();
  }

  // A refused line that names a forgotten person is not kept either.
  absl::Status DropErasedRejects(postgres::Tx& tx) {
    auto r = tx.Exec(
        "DELETE FROM ingest.rejects r WHERE r.file_id = $1::uuid AND EXISTS (SELECT 1 FROM "
        "privacy.tombstones)"
        " AND EXISTS (SELECT 1 FROM unnest(string_to_array(r.raw_line, ',')) x"
        " WHERE privacy.is_erased(btrim(x, ' \"')))",
        result_->file_id);
    if (!r.ok()) return r.status();
    result_->rejected -= r->affected_rows();
    return absl::OkStatus();
  }

  absl::Status SpillError() {
    return absl::ResourceExhaustedError("cannot spill rejected rows to a temporary file");
  }

  bool Reject(int64_t line, absl::string_view column, absl::string_view reason, absl::string_view raw) {
    ++result_->rejected;
    const std::string clean_reason = SanitizeUtf8(reason, kMaxReasonBytes);
    if (result_->rejects.size() < options_.max_reported_rejects) {
      result_->rejects.push_back({line, std::string(column), clean_reason});
    }
    std::string record;
    record.append(reinterpret_cast<const char*>(&line), sizeof line);
    PutString(&record, SanitizeUtf8(column, 200));
    PutString(&record, clean_reason);
    PutString(&record, SanitizeUtf8(raw, options_.max_raw_line_bytes));
    return rejects_->Write(record);
  }

  static bool Defer(TempFile* f, const CsvRecord& record) {
    std::string out;
    out.append(reinterpret_cast<const char*>(&record.line), sizeof record.line);
    const uint32_t n = static_cast<uint32_t>(record.fields.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    for (absl::string_view f : record.fields) PutString(&out, f);
    PutString(&out, record.raw);
    return f->Write(out);
  }
  static bool ReadDeferred(TempFile* f, int64_t* line, std::vector<std::string>* fields, std::string* raw) {
    uint32_t n = 0;
    if (std::fread(line, sizeof *line, 1, f->get()) != 1 || std::fread(&n, sizeof n, 1, f->get()) != 1)
      return false;
    fields->resize(n);
    for (auto& field : *fields) {
      if (!GetString(f->get(), &field)) return false;
    }
    return GetString(f->get(), raw);
  }

  absl::Status LoadRejects(postgres::Tx& tx) {
    if (!rejects_->Rewind()) return SpillError();
    ASSIGN_OR_RETURN(auto copy,
                     tx.Copy("ingest.rejects", {"file_id", "line", "column_name", "reason", "raw_line"}));
    std::string column, reason, raw, line_text;
    for (int64_t i = 0; i < result_->rejected; ++i) {
      int64_t line = 0;
      if (std::fread(&line, sizeof line, 1, rejects_->get()) != 1 || !GetString(rejects_->get(), &column) ||
          !GetString(rejects_->get(), &reason) || !GetString(rejects_->get(), &raw)) {
        return SpillError();
      }
      line_text = absl::StrCat(line);
      if (auto st = copy->WriteRow({result_->file_id, line_text, column, reason, raw}); !st.ok()) return st;
    }
    return copy->Finish().status();
  }

  absl::Status OpenDirect(postgres::Tx& tx) {
    std::vector<std::string> cols = columns_;
    cols.push_back("ingest_file_id");
    ASSIGN_OR_RETURN(auto copy, tx.Copy(spec_.table, cols));
    direct_copy_ = std::move(copy);
    direct_open_ = true;
    row_.assign(cols.size(), std::nullopt);
    return absl::OkStatus();
  }

  absl::Status CloseDirect() {
    direct_open_ = false;
    auto n = direct_copy_->Finish();
    direct_copy_.reset();
    return n.status();
  }

  absl::Status OpenStage(postgres::Tx& tx) {
    std::string ddl = absl::StrCat("CREATE TEMP TABLE ", kStage, " (line bigint NOT NULL");
    for (const ColumnSpec& col : spec_.columns) absl::StrAppend(&ddl, ", ", col.name, " ", col.sql_type);
    absl::StrAppend(&ddl, ") ON COMMIT DROP");
    if (auto r = tx.Exec(ddl); !r.ok()) return r.status();
    std::vector<std::string> cols = {"line"};
    cols.insert(cols.end(), columns_.begin(), columns_.end());
    ASSIGN_OR_RETURN(auto copy, tx.Copy(kStage, cols));
    stage_copy_ = std::move(copy);
    row_.assign(cols.size(), std::nullopt);
    return absl::OkStatus();
  }

  absl::Status WriteGood(postgres::Tx& tx, int64_t line, const std::vector<FieldValue>& values) {
    if (subject_column_ >= 0 && values[subject_column_].present) {
      subjects_.insert(values[subject_column_].text);
    }
    if (direct_open_) {
      for (size_t c = 0; c < values.size(); ++c) {
        row_[c] = values[c].present ? std::optional<absl::string_view>(values[c].text) : std::nullopt;
      }
      row_[values.size()] = result_->file_id;
      ++direct_rows_;
      return direct_copy_->WriteRow(absl::MakeConstSpan(row_));
    }
    line_text_ = absl::StrCat(line);
    row_[0] = line_text_;
    for (size_t c = 0; c < values.size(); ++c) {
      row_[1 + c] = values[c].present ? std::optional<absl::string_view>(values[c].text) : std::nullopt;
    }
    ++stage_rows_;
    return stage_copy_->WriteRow(absl::MakeConstSpan(row_));
  }

  // Staged rows into the raw table: the last row of an id wins; rows identical to what the table holds are
  // filtered out first (an anti-join is several times cheaper than letting ON CONFLICT find out row by row,
  // which matters for re-ingests), and rows that would not change are never rewritten (no dead tuple, and
  // ingest_file_id keeps naming the file that brought the current values).
  std::string UpsertSql(const KindSpec& spec) const {
    const std::string list = absl::StrJoin(columns_, ", ");
    std::vector<std::string> sets, old_values, new_values, table_values, staged_values;
    for (size_t c = 1; c < columns_.size(); ++c) {
      // merge_empty: an empty cell keeps the table's value (text columns).
      const std::string value =
          spec.merge_empty && spec.columns[c].type == ValueType::kText
              ? absl::StrCat("COALESCE(NULLIF(EXCLUDED.", columns_[c], ", ''), t.", columns_[c], ")")
              : absl::StrCat("EXCLUDED.", columns_[c]);
      sets.push_back(absl::StrCat(columns_[c], " = ", value));
      old_values.push_back(absl::StrCat("t.", columns_[c]));
      new_values.push_back(value);
      table_values.push_back(absl::StrCat("t.", columns_[c]));
      staged_values.push_back(absl::StrCat("s.", columns_[c]));
    }
    const std::string rows = maybe_duplicates_ ? absl::StrCat("(SELECT DISTINCT ON (id) ", list, " FROM ",
                                                              kStage, " ORDER BY id, line DESC)")
                                               : std::string(kStage);
    return absl::StrCat("INSERT INTO ", spec.table, " AS t (", list, ", ingest_file_id) SELECT ", list,
                        ", $1::uuid FROM ", rows, " s WHERE NOT EXISTS (SELECT 1 FROM ", spec.table,
                        " t WHERE t.id = s.id AND (", absl::StrJoin(table_values, ", "),
                        ") IS NOT DISTINCT FROM (", absl::StrJoin(staged_values, ", "),
                        ")) ON CONFLICT (id) DO UPDATE SET ", absl::StrJoin(sets, ", "),
                        ", ingest_file_id = EXCLUDED.ingest_file_id WHERE (", absl::StrJoin(old_values, ", "),
                        ") IS DISTINCT FROM (", absl::StrJoin(new_values, ", "), ")");
  }

  const KindSpec& spec_;
  const IngestOptions& options_;
  IngestResult* result_;
  std::vector<std::string> columns_;
  int subject_column_ = -1;
  absl::flat_hash_set<std::string> subjects_;
  TempFile* rejects_ = nullptr;
  absl::Status file_error_;
  absl::flat_hash_set<uint64_t> id_hashes_;
  bool maybe_duplicates_ = false;
  int64_t good_ = 0;
  bool direct_open_ = false;
  int64_t direct_rows_ = 0;
  int64_t stage_rows_ = 0;
  std::unique_ptr<postgres::CopyWriter> direct_copy_;
  std::unique_ptr<postgres::CopyWriter> stage_copy_;
  std::vector<std::optional<absl::string_view>> row_;
  std::string line_text_;
};

}  // namespace

absl::StatusOr<IngestResult> IngestRecords(postgres::PgPool& pool, const KindSpec& spec,
                                           absl::string_view filename, absl::string_view sheet,
                                           const ReaderFactory& open_reader, const IngestOptions& options) {
  const absl::Time start = absl::Now();
  IngestResult result;
  result.kind = spec.kind;
  result.sheet = std::string(sheet);
  {
    auto r =
        pool.Exec("INSERT INTO ingest.files (kind, filename, sheet) VALUES ($1, $2, $3) RETURNING id::text",
                  spec.kind, SanitizeUtf8(filename, 1000), SanitizeUtf8(sheet, 1000));
    if (!r.ok()) return r.status();
    result.file_id = (*r)[0][0].as<std::string>();
  }
  logging::Info("ingest started",
                {{"file_id", result.file_id}, {"kind", spec.kind}, {"filename", filename}, {"sheet", sheet}});

  postgres::TxOptions tx_options;
  tx_options.timeout = options.timeout;
  tx_options.backoff.max_attempts = 1;  // the input may be a stream: a retry re-opens it, see below

  absl::Status file_error;
  absl::Status status;
  bool retry_staged = false;
  {
    auto reader = open_reader(/*first_attempt=*/true);
    if (!reader.ok()) {
      status = reader.status();
    } else {
      Loader loader(spec, options, &result);
      status = pool.Transact(
          [&](postgres::Tx& tx) { return loader.Load(tx, **reader, /*allow_direct=*/true); }, tx_options);
      file_error = loader.file_error();
      result.bytes = (*reader)->bytes();
      retry_staged = !status.ok() && loader.direct_rows_written() && postgres::SqlStateOf(status) == "23505";
    }
  }
  if (retry_staged) {
    // A direct load met an id already in the table: load again through staging (an upsert).
    logging::Info("ingest: an id of the file already exists; loading again through staging",
                  {{"file_id", result.file_id}});
    const std::string file_id = result.file_id;
    result = IngestResult();
    result.file_id = file_id;
    result.kind = spec.kind;
    result.sheet = std::string(sheet);
    auto reader = open_reader(/*first_attempt=*/false);
    if (!reader.ok()) {
      status = reader.status();
    } else {
      Loader loader(spec, options, &result);
      status = pool.Transact(
          [&](postgres::Tx& tx) { return loader.Load(tx, **reader, /*allow_direct=*/false); }, tx_options);
      file_error = loader.file_error();
    }
  }

  result.elapsed = absl::Now() - start;
  if (!status.ok()) {
    const absl::Status failure = file_error.ok() ? status : file_error;
    auto r = pool.Exec(
        "UPDATE ingest.files SET status = 'failed', error = $2, bytes = $3, finished_at = now() "
        "WHERE id = $1::uuid",
        result.file_id, SanitizeUtf8(failure.message(), 2000), result.bytes);
    if (!r.ok()) {
      logging::Warn("cannot record the failed ingest", {{"file_id", result.file_id}, {"error", r.status()}});
    }
    logging::Warn("ingest failed", {{"file_id", result.file_id}, {"kind", spec.kind}, {"error", failure}});
    return absl::Status(failure.code(), absl::StrCat("file ", result.file_id, ": ", failure.message()));
  }
  logging::Info("ingest finished", {{"file_id", result.file_id},
                                    {"kind", spec.kind},
                                    {"sheet", sheet},
                                    {"rows", result.rows},
                                    {"accepted", result.accepted},
                                    {"rejected", result.rejected},
                                    {"duplicates", result.duplicates},
                                    {"bytes", result.bytes},
                                    {"seconds", absl::ToDoubleSeconds(result.elapsed)}});
  return result;
}

absl::StatusOr<IngestResult> IngestCsv(postgres::PgPool& pool, const KindSpec& spec,
                                       absl::string_view filename, const ChunkSource& source,
                                       const IngestOptions& options) {
  // The input is spooled to a temporary file as it is read, so that a direct load that meets an id already
  // in the table can be redone in staged mode.
  auto spool = std::make_shared<TempFile>();
  if (!spool->ok()) return absl::InternalError("cannot create a temporary file to spool the input");
  ChunkSource from_spool = [spool](std::string* chunk) -> absl::StatusOr<bool> {
    FILE* f = spool->get();
    chunk->resize(1 << 20);
    const size_t n = std::fread(chunk->data(), 1, chunk->size(), f);
    chunk->resize(n);
    if (n == 0)
      return std::ferror(f) ? absl::StatusOr<bool>(absl::DataLossError("cannot re-read the spool"))
                            : absl::StatusOr<bool>(false);
    return true;
  };
  ReaderFactory open = [&](bool first) -> absl::StatusOr<std::unique_ptr<RecordReader>> {
    if (first) return std::make_unique<CsvRecordReader>(source, options.csv, spool.get());
    if (!spool->Rewind()) return absl::InternalError("cannot re-read the spooled input");
    return std::make_unique<CsvRecordReader>(from_spool, options.csv, nullptr);
  };
  return IngestRecords(pool, spec, filename, "", open, options);
}

}  // namespace marketlens::collector
