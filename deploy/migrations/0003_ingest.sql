-- ingest.*: every CSV file handed to the collector's IngestFile, and the rows it refused
-- (protos/marketlens/collector/v1: IngestReport, IngestReject).

CREATE TABLE ingest.files (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- IngestReport.file_id
  kind        text NOT NULL CHECK (kind IN ('campaign_posts', 'contacts', 'interactions')),
  filename    text NOT NULL DEFAULT '',
  sha256      text,                                         -- of the content, once received
  bytes       bigint NOT NULL DEFAULT 0,
  status      text NOT NULL DEFAULT 'receiving' CHECK (status IN ('receiving', 'succeeded', 'failed')),
  rows        bigint NOT NULL DEFAULT 0,
  accepted    bigint NOT NULL DEFAULT 0,
  rejected    bigint NOT NULL DEFAULT 0,
  duplicates  bigint NOT NULL DEFAULT 0,
  error       text NOT NULL DEFAULT '',
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX files_started_at_idx ON ingest.files (started_at DESC);
CREATE INDEX files_sha256_idx ON ingest.files (kind, sha256);

-- One row per refused line (and column, when one column is at fault; '' for the whole line).
-- `column_name` is IngestReject.column (COLUMN is a reserved word in SQL).
CREATE TABLE ingest.rejects (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_id     uuid NOT NULL REFERENCES ingest.files (id) ON DELETE CASCADE,
  line        bigint NOT NULL CHECK (line >= 1),
  column_name text NOT NULL DEFAULT '',
  reason      text NOT NULL,
  raw_line    text NOT NULL DEFAULT ''
);
CREATE INDEX rejects_file_line_idx ON ingest.rejects (file_id, line);
