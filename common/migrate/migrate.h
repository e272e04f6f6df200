// Versioned SQL migrations: deploy/migrations/NNNN_name.sql, applied in version order.
//
// Rules:
// - A file name is NNNN_name.sql: at least four digits (version >= 1), '_', then [a-z0-9_]. Any other
//   *.sql name, or two files with the same version, is refused (INVALID_ARGUMENT naming the file).
//   Files not ending in .sql (BUILD, README.md) are ignored.
// - Each file runs in its own transaction together with its row in
//   public.schema_migrations(version, name, checksum, applied_at): it is applied entirely, or not at all.
//   A file must therefore not contain BEGIN/COMMIT/ROLLBACK lines (refused), nor statements that cannot
//   run in a transaction (CREATE INDEX CONCURRENTLY).
// - Applied versions are skipped, so running again is a no-op.
// - Versions come in groups of ten, one group per owner (0001-0009 the foundation, 0010-0019 the
//   collector, 0020-0029 the recommender, 0030-0039 the gateway, 0040-0049 the analyzer; later groups for
//   whoever needs more), each touching its own tables. Within a group order is strict; groups are
//   independent, so the collector's 0012 may still be applied after the recommender's 0021.
// - It refuses to run (FAILED_PRECONDITION naming the file) if an applied file's SHA-256 changed, if the
//   file of an applied version is missing, or if a pending version is older than the newest applied one
//   of its group (a file added "in the past" would run out of order). Change the schema with a new file.
// - Comment-only edits of an applied file are accepted when listed in the directory's comment_edits.txt
//   (kCommentEditsFile): one line per edit, "version old_sha256 statements_sha256". A recorded checksum
//   equal to a listed old_sha256 of that version is accepted when the file's statements checksum (SQL
//   comments removed, whitespace normalised: StatementsChecksum) equals the listed one; Apply then records
//   the file's new SHA-256 (logged). LoadMigrations refuses a list whose entry names no file, or whose
//   statements checksum is not the file's: the list cannot vouch for a statement change.
// - One runner at a time: a session-level pg_advisory_lock is held for the whole run; a second runner
//   waits for it (up to lock_timeout, then DEADLINE_EXCEEDED) and then finds the work done.
#ifndef MARKETLENS_COMMON_MIGRATE_MIGRATE_H_
#define MARKETLENS_COMMON_MIGRATE_MIGRATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/postgres/pool.h"

namespace marketlens::migrate {

struct Migration {
  int64_t version = 0;   // 2 for 0002_raw.sql
  std::string name;      // "raw"
  std::string filename;  // "0002_raw.sql"
  std::string sql;
  std::string checksum;             // SHA-256 of the file's bytes, lowercase hex
  std::string statements_checksum;  // StatementsChecksum(sql)
  // Whole-file SHA-256s of earlier texts that differed only in comments (from comment_edits.txt): a
  // database that recorded one of these accepts this file.
  std::vector<std::string> comment_edited_from;
};

// The list of comment-only edits beside the migrations (see the rules above).
inline constexpr char kCommentEditsFile[] = "comment_edits.txt";

// The SQL with its comments removed and whitespace normalised: "--" to the end of the line and /* */
// (nested, as PostgreSQL nests them) outside string literals ('...', E'...'), quoted identifiers ("...")
// and dollar-quoted bodies ($$...$$, $tag$...$tag$) become one space; every run of whitespace outside
// those becomes one space; leading and trailing whitespace goes. Literals and bodies are kept byte for byte.
std::string StripSqlComments(absl::string_view sql);

// SHA-256 (lowercase hex) of StripSqlComments(sql): equal for two texts that differ only in comments and
// whitespace between tokens.
std::string StatementsChecksum(absl::string_view sql);

struct CommentEdit {
  int64_t version = 0;
  std::string old_checksum;         // the whole file's SHA-256 before the edit
  std::string statements_checksum;  // StatementsChecksum of the file (before and after: the same)
};

// Parses comment_edits.txt: "version old_sha256 statements_sha256" per line (fields apart by spaces or
// tabs); blank lines and lines starting with '#' are skipped. INVALID_ARGUMENT naming the line otherwise.
absl::StatusOr<std::vector<CommentEdit>> ParseCommentEdits(absl::string_view contents);

// Builds a Migration from a file name and its contents (checks the name and the content rules).
absl::StatusOr<Migration> ParseMigration(absl::string_view filename, std::string contents);

// Reads the migrations of `dir`, sorted by version, and its comment_edits.txt if present (each entry checked
// against its file and attached to it as comment_edited_from).
absl::StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir);

enum class State {
  kApplied,         // recorded, file unchanged
  kPending,         // file present, not recorded
  kChanged,         // recorded, but the file's checksum (or name) differs
  kCommentsEdited,  // recorded with an earlier text that differed only in comments (comment_edits.txt)
  kMissing,         // recorded, but no file has this version
};
const char* StateName(State state);

struct MigrationState {
  int64_t version = 0;
  std::string filename;  // for kMissing: the recorded "NNNN_name.sql"
  State state = State::kPending;
  std::string file_checksum;
  std::string applied_checksum;
  std::optional<absl::Time> applied_at;
};

struct Options {
  // How long to wait for another runner's lock.
  absl::Duration lock_timeout = absl::Seconds(60);
  // Bound on each migration's transaction (its statements get a statement_timeout of what is left).
  absl::Duration migration_timeout = absl::Minutes(10);
};

// Versions v and w belong to the same owner's group when v / kVersionGroupSize == w / kVersionGroupSize.
inline constexpr int64_t kVersionGroupSize = 10;

// The pg_advisory_lock key that serialises runners (exposed for tests).
inline constexpr int64_t kAdvisoryLockKey = 0x6d6c5f6d69677231;  // "ml_migr1"

class Migrator {
 public:
  explicit Migrator(postgres::PgPool* pool, Options options = {}) : pool_(pool), options_(options) {}

  // Applies the pending migrations in order; returns those applied by this call (empty: up to date).
  // First records the new checksum of each comment-edited file (kCommentsEdited), logging old and new.
  // Stops at the first failure, which is returned with the file's name; earlier files stay applied.
  absl::StatusOr<std::vector<Migration>> Apply(const std::vector<Migration>& migrations);

  // Applied / pending / changed / missing, by version (reads only; no lock).
  absl::StatusOr<std::vector<MigrationState>> Status(const std::vector<Migration>& migrations);

  // Applies nothing: waits until every migration has been applied by another runner (e.g. the
  // Kubernetes migration Job), polling every `poll`. OK once none is pending; DEADLINE_EXCEEDED naming how
  // many are still pending at `deadline`; FAILED_PRECONDITION at once if the history does not match.
  absl::Status AwaitApplied(const std::vector<Migration>& migrations, absl::Time deadline,
                            absl::Duration poll = absl::Seconds(2));

 private:
  postgres::PgPool* pool_;
  Options options_;
};

// LoadMigrations(dir) + Migrator(pool).Apply(): what services' tests and start-up call.
absl::StatusOr<std::vector<Migration>> ApplyMigrationsFromDir(postgres::PgPool& pool, const std::string& dir,
                                                              Options options = {});

// A table for humans: version, name, state, applied_at.
std::string FormatStatus(const std::vector<MigrationState>& states);

}  // namespace marketlens::migrate

#endif  // MARKETLENS_COMMON_MIGRATE_MIGRATE_H_
