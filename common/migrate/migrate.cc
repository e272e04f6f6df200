#include "common/migrate/migrate.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "common/migrate/sha256.h"
#include "common/status/macros.h"

namespace marketlens::migrate {
namespace {

using postgres::PgPool;
using postgres::Tx;

constexpr char kCreateTable[] = R"sql(
CREATE TABLE IF NOT EXISTS public.schema_migrations (
  version    bigint PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

struct AppliedRow {
  int64_t version;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
};

std::string FileNameOf(int64_t version, absl::string_view name) {
  return absl::StrFormat("%04d_%s.sql", version, name);
}

// BEGIN/COMMIT/ROLLBACK on a line of their own would end the transaction the runner wraps a file in.
absl::Status CheckNoTransactionControl(absl::string_view filename, absl::string_view sql) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    ++line_number;
    const std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(line));
    absl::string_view l = upper;
    if (!absl::ConsumeSuffix(&l, ";")) continue;
    l = absl::StripAsciiWhitespace(l);
    for (const char* stmt :
         {"BEGIN", "BEGIN TRANSACTION", "BEGIN WORK", "START TRANSACTION", "COMMIT", "COMMIT TRANSACTION",
          "COMMIT WORK", "ROLLBACK", "ROLLBACK TRANSACTION", "END TRANSACTION"}) {
      if (l == stmt) {
        return absl::InvalidArgumentError(absl::StrCat(
            "migration ", filename, " line ", line_number, ": '", absl::StripAsciiWhitespace(line),
            "': each file already runs in its own transaction; remove transaction control"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AppliedRow>> ReadApplied(Tx& tx) {
  ASSIGN_OR_RETURN(auto exists, tx.Exec("SELECT to_regclass('public.schema_migrations') IS NOT NULL"));
  std::vector<AppliedRow> rows;
  if (!exists[0][0].as<bool>()) return rows;
  auto r = tx.Exec(
      "SELECT version, name, checksum, (extract(epoch FROM applied_at) * 1000000)::bigint "
      "FROM public.schema_migrations ORDER BY version");
  if (!r.ok()) return r.status();
  for (const auto& row : *r) {
    rows.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                    absl::FromUnixMicros(row[3].as<int64_t>())});
  }
  return rows;
}

std::vector<MigrationState> ComputeStates(const std::vector<Migration>& migrations,
                                          const std::vector<AppliedRow>& applied) {
  std::map<int64_t, MigrationState> states;
  std::map<int64_t, const Migration*> by_version;
  for (const Migration& m : migrations) {
    by_version[m.version] = &m;
    MigrationState& s = states[m.version];
    s.version = m.version;
    s.filename = m.filename;
    s.state = State::kPending;
    s.file_checksum = m.checksum;
  }
  for (const AppliedRow& row : applied) {
    auto it = states.find(row.version);
    if (it == states.end()) {
      MigrationState s;
      s.version = row.version;
      s.filename = FileNameOf(row.version, row.name);
      s.state = State::kMissing;
      s.applied_checksum = row.checksum;
      s.applied_at = row.applied_at;
      states.emplace(row.version, s);
      continue;
    }
    MigrationState& s = it->second;
    s.applied_checksum = row.checksum;
    s.applied_at = row.applied_at;
    const bool same_name = s.filename == FileNameOf(row.version, row.name);
    const std::vector<std::string>& edited_from = by_version[row.version]->comment_edited_from;
    if (same_name && s.file_checksum == row.checksum) {
      s.state = State::kApplied;
    } else if (same_name &&
               std::find(edited_from.begin(), edited_from.end(), row.checksum) != edited_from.end()) {
      s.state = State::kCommentsEdited;
    } else {
      s.state = State::kChanged;
    }
  }
  std::vector<MigrationState> out;
  for (auto& [version, s] : states) out.push_back(std::move(s));
  return out;
}

// Why the recorded history and the files cannot be reconciled, or OK.
absl::Status CheckHistory(const std::vector<MigrationState>& states, const std::vector<AppliedRow>& applied) {
  // Newest applied version per owner group (see kVersionGroupSize in migrate.h).
  absl::flat_hash_map<int64_t, int64_t> newest_applied;
  for (const AppliedRow& row : applied) {
    int64_t& newest = newest_applied[row.version / kVersionGroupSize];
    newest = std::max(newest, row.version);
  }
  for (const MigrationState& s : states) {
    switch (s.state) {
      case State::kChanged: {
        const AppliedRow* row = nullptr;
        for (const AppliedRow& r : applied) {
          if (r.version == s.version) row = &r;
        }
        if (row != nullptr && s.filename != FileNameOf(row->version, row->name)) {
          return absl::FailedPreconditionError(
              absl::StrCat("migration ", s.filename, " was applied as ", FileNameOf(row->version, row->name),
                           "; an applied migration must not be renamed (add a new migration instead)"));
        }
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", s.filename, " was changed after it was applied (sha256 now ", s.file_checksum,
            ", applied ", s.applied_checksum, "); restore it and put the change in a new migration"));
      }
      case State::kMissing:
        return absl::FailedPreconditionError(absl::StrCat("migration ", s.filename,
                                                          " was applied but its file is missing from the "
                                                          "migrations directory; restore it"));
      case State::kPending:
        if (auto it = newest_applied.find(s.version / kVersionGroupSize);
            it != newest_applied.end() && s.version < it->second) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", s.filename, " is older than the newest applied migration of its group (version ",
              it->second, ") and would run out of order; give it a higher version"));
        }
        break;
      case State::kApplied:
      case State::kCommentsEdited:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kApplied:
      return "applied";
    case State::kPending:
      return "pending";
    case State::kChanged:
      return "CHANGED";
    case State::kCommentsEdited:
      return "comments";
    case State::kMissing:
      return "MISSING";
  }
  return "?";
}

std::string StripSqlComments(absl::string_view sql) {
  auto ident_char = [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80;
  };
  std::string out;
  bool space = false;  // whitespace or a comment was seen since the last token character
  auto emit = [&](absl::string_view text) {
    if (space && !out.empty()) out += ' ';
    space = false;
    out.append(text.data(), text.size());
  };
  const size_t n = sql.size();
  size_t i = 0;
  while (i < n) {
    const char c = sql[i];
    const char next = i + 1 < n ? sql[i + 1] : '\0';
    if (absl::ascii_isspace(c)) {
      space = true;
      ++i;
    } else if (c == '-' && next == '-') {  // to the end of the line
      while (i < n && sql[i] != '\n') ++i;
      space = true;
    } else if (c == '/' && next == '*') {  // PostgreSQL nests block comments
      int depth = 0;
      while (i < n) {
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      space = true;
    } else if (c == '\'' || c == '"') {
      // 'it''s', "a""b"; in E'...' a backslash escapes the next character.
      const bool escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           (i < 2 || !ident_char(sql[i - 2]));
      size_t j = i + 1;
      while (j < n) {
        if (escapes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {
            j += 2;
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      j = std::min(j, n);
      emit(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && (i == 0 || !ident_char(sql[i - 1])) && !absl::ascii_isdigit(next)) {
      // $$...$$ or $tag$...$tag$ (a $1 parameter is not one).
      size_t j = i + 1;
      while (j < n && sql[j] != '$' && ident_char(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        const absl::string_view tag = sql.substr(i, j + 1 - i);
        const size_t close = sql.find(tag, j + 1);
        const size_t end = close == absl::string_view::npos ? n : close + tag.size();
        emit(sql.substr(i, end - i));
        i = end;
      } else {
        emit(sql.substr(i, 1));
        ++i;
      }
    } else {
      emit(sql.substr(i, 1));
      ++i;
    }
  }
  return out;
}

std::string StatementsChecksum(absl::string_view sql) { return Sha256Hex(StripSqlComments(sql)); }

absl::StatusOr<std::vector<CommentEdit>> ParseCommentEdits(absl::string_view contents) {
  std::vector<CommentEdit> edits;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(kCommentEditsFile, " line ", line_number, ": ", why,
                                                     " (want: version old_sha256 statements_sha256)"));
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    if (fields.size() != 3) return bad("three fields expected");
    CommentEdit edit;
    if (!absl::SimpleAtoi(fields[0], &edit.version) || edit.version < 1) return bad("bad version");
    for (absl::string_view sha : {fields[1], fields[2]}) {
      if (sha.size() != 64 || !std::all_of(sha.begin(), sha.end(), [](char c) {
            return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
          })) {
        return bad("a checksum is 64 lowercase hex characters");
      }
    }
    edit.old_checksum = std::string(fields[1]);
    edit.statements_checksum = std::string(fields[2]);
    edits.push_back(std::move(edit));
  }
  return edits;
}

absl::StatusOr<Migration> ParseMigration(absl::string_view filename, std::string contents) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bad migration file name '", filename, "': ", why,
                                                   " (want NNNN_name.sql, e.g. 0007_add_x.sql)"));
  };
  absl::string_view stem = filename;
  if (!absl::ConsumeSuffix(&stem, ".sql")) return bad("does not end in .sql");
  const size_t underscore = stem.find('_');
  if (underscore == absl::string_view::npos) return bad("no '_' after the version");
  absl::string_view digits = stem.substr(0, underscore);
  absl::string_view name = stem.substr(underscore + 1);
  if (digits.size() < 4 || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return bad("the version must be at least four digits");
  }
  int64_t version = 0;
  if (!absl::SimpleAtoi(digits, &version) || version < 1) return bad("the version must be >= 1");
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
      })) {
    return bad("the name must be lowercase letters, digits and '_'");
  }
  if (filename != FileNameOf(version, name)) return bad("a version above 9999 has no leading zeros");
  RETURN_IF_ERROR(CheckNoTransactionControl(filename, contents));
  if (absl::StripAsciiWhitespace(contents).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("migration ", filename, " is empty"));
  }
  Migration m;
  m.version = version;
  m.name = std::string(name);
  m.filename = std::string(filename);
  m.checksum = Sha256Hex(contents);
  m.statements_checksum = StatementsChecksum(contents);
  m.sql = std::move(contents);
  return m;
}

absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("migrations directory '", dir, "' does not exist"));
  }
  std::vector<Migration> migrations;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string filename = entry.path().filename().string();
    if (!absl::EndsWith(filename, ".sql")) continue;  // BUILD, README.md, ...
    std::ifstream in(entry.path(), std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", entry.path().string()));
    std::stringstream buffer;
    buffer << in.rdbuf();
    ASSIGN_OR_RETURN(Migration m, ParseMigration(filename, buffer.str()));
    migrations.push_back(std::move(m));
  }
  if (ec) return absl::InternalError(absl::StrCat("listing ", dir, ": ", ec.message()));
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version == migrations[i - 1].version) {
      return absl::InvalidArgumentError(absl::StrCat("migrations ", migrations[i - 1].filename, " and ",
                                                     migrations[i].filename, " have the same version"));
    }
  }
  const std::filesystem::path edits_path = std::filesystem::path(dir) / kCommentEditsFile;
  if (std::filesystem::exists(edits_path, ec)) {
    std::ifstream in(edits_path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", edits_path.string()));
    std::stringstream buffer;
    buffer << in.rdbuf();
    ASSIGN_OR_RETURN(std::vector<CommentEdit> edits, ParseCommentEdits(buffer.str()));
    for (const CommentEdit& edit : edits) {
      auto m = std::find_if(migrations.begin(), migrations.end(),
                            [&](const Migration& x) { return x.version == edit.version; });
      if (m == migrations.end()) {
        return absl::InvalidArgumentError(absl::StrCat(kCommentEditsFile, " lists version ", edit.version,
                                                       ", which has no migration file"));
      }
      if (m->statements_checksum != edit.statements_checksum) {
        return absl::InvalidArgumentError(absl::StrCat(
            kCommentEditsFile, " lists ", m->filename, " with statements sha256 ", edit.statements_checksum,
            " but its statements now hash to ", m->statements_checksum,
            ": only comments of an applied migration may change; put the change in a new migration"));
      }
      m->comment_edited_from.push_back(edit.old_checksum);
    }
  }
  return migrations;
}

absl::StatusOr<std::vector<MigrationState>> Migrator::Status(const std::vector<Migration>& migrations) {
  std::vector<AppliedRow> applied;
  postgres::TxOptions tx_options;
  tx_options.read_only = true;
  absl::Status status = pool_->Transact(
      [&](Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(auto rows, ReadApplied(tx));
        applied = std::move(rows);
        return absl::OkStatus();
      },
      tx_options);
  if (!status.ok()) return status;
  return ComputeStates(migrations, applied);
}

absl::StatusOr<std::vector<Migration>> Migrator::Apply(const std::vector<Migration>& migrations) {
  // One session for the whole run: the advisory lock belongs to it.
  absl::StatusOr<PgPool::Lease> lease = pool_->Acquire(absl::Now() + options_.lock_timeout);
  if (!lease.ok()) return Prefixed(lease.status(), "migrate: connecting: ");
  postgres::TxOptions tx_options;
  auto run = [&](absl::Duration timeout, absl::FunctionRef<absl::Status(Tx&)> fn) {
    return pool_->TransactOnce(*lease, fn, tx_options, absl::Now() + timeout, 1);
  };

  const absl::Time lock_deadline = absl::Now() + options_.lock_timeout;
  bool locked = false;
  while (true) {
    absl::Status status = run(absl::Seconds(10), [&](Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto r, tx.Exec("SELECT pg_try_advisory_lock($1)", kAdvisoryLockKey));
      locked = r[0][0].as<bool>();
      return absl::OkStatus();
    });
    if (!status.ok()) return Prefixed(status, "migrate: taking the migration lock: ");
    if (locked) break;
    if (absl::Now() >= lock_deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("migrate: another migration runner has held the migration lock (pg_advisory_lock ",
                       kAdvisoryLockKey, ") for more than ", absl::FormatDuration(options_.lock_timeout)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  // From here on the lock must be released on every path: unlock, or close the session if that fails.
  struct Unlock {
    std::function<absl::Status()> unlock;
    PgPool::Lease* lease;
    ~Unlock() {
      if (!unlock().ok()) lease->Discard();
    }
  } unlock{[&] {
             return run(absl::Seconds(10), [](Tx& tx) {
               return tx.Exec("SELECT pg_advisory_unlock($1)", kAdvisoryLockKey).status();
             });
           },
           &*lease};

  std::vector<AppliedRow> applied;
  absl::Status status = run(absl::Seconds(30), [&](Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.ExecScript(kCreateTable));
    ASSIGN_OR_RETURN(auto rows, ReadApplied(tx));
    applied = std::move(rows);
    return absl::OkStatus();
  });
  if (!status.ok()) return Prefixed(status, "migrate: reading public.schema_migrations: ");

  const std::vector<MigrationState> states = ComputeStates(migrations, applied);
  if (absl::Status s = CheckHistory(states, applied); !s.ok())
    return Prefixed(s, "migrate: refusing to run: ");

  // Comment-only edits (comment_edits.txt): record the file's new checksum.
  for (const MigrationState& s : states) {
    if (s.state != State::kCommentsEdited) continue;
    status = run(absl::Seconds(30), [&](Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto r, tx.Exec("UPDATE public.schema_migrations SET checksum = $1"
                                       " WHERE version = $2 AND checksum = $3 RETURNING version",
                                       s.file_checksum, s.version, s.applied_checksum));
      if (r.empty()) return absl::AbortedError("its recorded checksum changed meanwhile");
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return Prefixed(status, absl::StrCat("migrate: recording the comment-edited ", s.filename, ": "));
    }
    logging::Info(
        "migration comments edited: recorded checksum updated",
        {{"file", s.filename}, {"old_checksum", s.applied_checksum}, {"checksum", s.file_checksum}});
  }

  std::vector<Migration> done;
  for (const Migration& m : migrations) {
    const bool pending = std::any_of(states.begin(), states.end(), [&](const MigrationState& s) {
      return s.version == m.version && s.state == State::kPending;
    });
    if (!pending) continue;
    const absl::Time start = absl::Now();
    status = run(options_.migration_timeout, [&](Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.ExecScript(m.sql));
      return tx
          .Exec("INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                m.version, m.name, m.checksum)
          .status();
    });
    if (!status.ok()) {
      logging::Error("migration failed", {{"file", m.filename}, {"status", status}});
      return Prefixed(status, absl::StrCat("migrate: ", m.filename, " failed and was rolled back: "));
    }
    logging::Info("migration applied", {{"file", m.filename},
                                        {"checksum", m.checksum},
                                        {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
    done.push_back(m);
  }
  return done;
}

absl::StatusOr<std::vector<Migration>> ApplyMigrationsFromDir(PgPool& pool, const std::string& dir,
                                                              Options options) {
  ASSIGN_OR_RETURN(std::vector<Migration> migrations, LoadMigrations(dir));
  return Migrator(&pool, options).Apply(migrations);
}

std::string FormatStatus(const std::vector<MigrationState>& states) {
  std::string out = absl::StrFormat("%-8s %-40s %-8s %s\n", "VERSION", "FILE", "STATE", "APPLIED AT");
  for (const MigrationState& s : states) {
    std::string applied_at = s.applied_at.has_value()
                                 ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *s.applied_at, absl::UTCTimeZone())
                                 : "-";
    absl::StrAppend(&out, absl::StrFormat("%04d     %-40s %-8s %s\n", s.version, s.filename,
                                          StateName(s.state), applied_at));
  }
  return out;
}

absl::Status Migrator::AwaitApplied(const std::vector<Migration>& migrations, absl::Time deadline,
                                    absl::Duration poll) {
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<MigrationState> states, Status(migrations));
    int pending = 0;
    for (const MigrationState& s : states) {
      if (s.state == State::kChanged || s.state == State::kMissing) {
        return absl::FailedPreconditionError(
            absl::StrCat("the applied history does not match the files:\n", FormatStatus(states)));
      }
      if (s.state == State::kPending) ++pending;
    }
    if (pending == 0) return absl::OkStatus();
    if (absl::Now() + poll > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(pending, " migrations still pending"));
    }
    absl::SleepFor(poll);
  }
}

}  // namespace marketlens::migrate
