#include "common/postgres/tx.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/postgres/errors.h"

// pqxx::tablewriter is deprecated in libpqxx 6 in favour of stream_to, but 6.4's stream_to only accepts
// std::tuple rows (its container path does not compile), and a row whose width is only known at run time
// needs tablewriter::write_raw_line. We do the COPY text escaping ourselves (UTF-8 is safe to escape
// byte-wise: ASCII bytes never occur inside a multi-byte sequence).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include "common/status/macros.h"
#include "pqxx/tablewriter"

namespace marketlens::postgres {

TxOptions ReadOnlyUntil(absl::Time deadline) {
  TxOptions o;
  o.read_only = true;
  o.timeout = std::max(absl::Milliseconds(1), deadline - absl::Now());
  return o;
}

const char* IsolationLevelName(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kReadCommitted:
      return "READ COMMITTED";
    case IsolationLevel::kRepeatableRead:
      return "REPEATABLE READ";
    case IsolationLevel::kSerializable:
      return "SERIALIZABLE";
  }
  return "?";
}

namespace {

bool IsPlainIdentifier(absl::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(absl::ascii_isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

void AppendCopyEscaped(std::string* out, absl::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        out->push_back(c);
    }
  }
}

}  // namespace

absl::StatusOr<std::string> QuoteQualifiedName(absl::string_view name) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
  if (parts.size() > 2) return absl::InvalidArgumentError(absl::StrCat("bad SQL name: '", name, "'"));
  std::string quoted;
  for (absl::string_view part : parts) {
    if (!IsPlainIdentifier(part)) {
      return absl::InvalidArgumentError(absl::StrCat("bad SQL name: '", name, "'"));
    }
    if (!quoted.empty()) quoted.push_back('.');
    absl::StrAppend(&quoted, "\"", part, "\"");
  }
  return quoted;
}

absl::Status Tx::Record(absl::Status status) {
  if (!status.ok() && first_error_.ok()) first_error_ = status;
  return status;
}

absl::StatusOr<pqxx::result> Tx::Run(const char* context, absl::string_view what,
                                     absl::FunctionRef<pqxx::result()> fn) {
  if (!first_error_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("postgres ", context, ": transaction already failed: ", first_error_.message()));
  }
  if (copy_open_) {
    return Record(absl::FailedPreconditionError(
        absl::StrCat("postgres ", context, ": a COPY is open in this transaction; Finish() it first")));
  }
  try {
    return fn();
  } catch (...) {
    return Record(StatusFromException(std::current_exception(), context, what));
  }
}

absl::Status Tx::ExecScript(const std::string& sql) {
  return Run("exec script", sql, [&] { return work_->exec(sql); }).status();
}

// ---- COPY --------------------------------------------------------------------------------------------

struct CopyWriter::Impl {
  std::unique_ptr<pqxx::tablewriter> writer;
};

CopyWriter::CopyWriter(Tx* tx, std::unique_ptr<Impl> impl, size_t columns)
    : tx_(tx), impl_(std::move(impl)), columns_(columns) {}

CopyWriter::~CopyWriter() {
  if (!finished_) {
    // Abandoned: the transaction is left failed so that it cannot commit half a load (and, being a bug,
    // it is not retried).
    tx_->Record(absl::FailedPreconditionError("postgres copy: CopyWriter destroyed without Finish()"))
        .IgnoreError();
    try {
      impl_->writer.reset();
    } catch (...) {
    }
    tx_->copy_open_ = false;
  }
}

absl::Status CopyWriter::WriteRow(absl::Span<const std::optional<absl::string_view>> fields) {
  if (finished_) return absl::FailedPreconditionError("postgres copy: WriteRow after Finish()");
  if (!tx_->first_error_.ok()) return tx_->first_error_;
  if (fields.size() != columns_) {
    return tx_->Record(absl::InvalidArgumentError(
        absl::StrCat("postgres copy: row ", rows_ + 1, " has ", fields.size(), " fields, want ", columns_)));
  }
  line_.clear();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line_.push_back('\t');
    if (fields[i].has_value()) {
      AppendCopyEscaped(&line_, *fields[i]);
    } else {
      line_.append("\\N");
    }
  }
  try {
    impl_->writer->write_raw_line(line_);
  } catch (...) {
    return tx_->Record(StatusFromException(std::current_exception(), "copy"));
  }
  ++rows_;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CopyWriter::Finish() {
  if (finished_) return rows_;
  finished_ = true;
  tx_->copy_open_ = false;
  try {
    impl_->writer->complete();
  } catch (...) {
    return tx_->Record(StatusFromException(std::current_exception(), "copy"));
  }
  if (!tx_->first_error_.ok()) return tx_->first_error_;
  return rows_;
}

absl::StatusOr<std::unique_ptr<CopyWriter>> Tx::Copy(absl::string_view table,
                                                     const std::vector<std::string>& columns) {
  if (!first_error_.ok()) return first_error_;
  if (copy_open_) {
    return Record(absl::FailedPreconditionError("postgres copy: another COPY is open in this transaction"));
  }
  ASSIGN_OR_RETURN(std::string quoted_table, QuoteQualifiedName(table));
  if (columns.empty()) return absl::InvalidArgumentError("postgres copy: no columns");
  std::vector<std::string> quoted_columns;
  for (const std::string& column : columns) {
    if (!IsPlainIdentifier(column)) {
      return absl::InvalidArgumentError(absl::StrCat("bad SQL column name: '", column, "'"));
    }
    quoted_columns.push_back(absl::StrCat("\"", column, "\""));
  }
  auto impl = std::make_unique<CopyWriter::Impl>();
  try {
    impl->writer = std::make_unique<pqxx::tablewriter>(*work_, quoted_table, quoted_columns.begin(),
                                                       quoted_columns.end());
  } catch (...) {
    return Record(StatusFromException(std::current_exception(), "copy", quoted_table));
  }
  copy_open_ = true;
  return std::unique_ptr<CopyWriter>(new CopyWriter(this, std::move(impl), columns.size()));
}

}  // namespace marketlens::postgres

#pragma GCC diagnostic pop
