-- recsys: model artifacts stored durably in Postgres (services/recommender/store/artifact_store.h), so a
-- model trained by one process (the training CronJob, the CLI, a replica's bootstrap) can be loaded by every
-- serving replica. A replica's local artifact directory is only a cache of these rows.
--
-- One header row per model version (size and SHA-256 of the whole artifact, checked on every load) and the
-- bytes in fixed-size chunks (a single bytea value must stay well below 1 GB, and chunks keep each row's
-- memory small on both ends). Deleting the registry row (prune) deletes the artifact with it.
CREATE TABLE recsys.model_artifacts (
  version    text PRIMARY KEY REFERENCES recsys.models (version) ON DELETE CASCADE,
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  chunks     integer NOT NULL CHECK (chunks >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recsys.model_artifact_chunks (
  version text NOT NULL REFERENCES recsys.model_artifacts (version) ON DELETE CASCADE,
  seq     integer NOT NULL CHECK (seq >= 0),
  data    bytea NOT NULL,
  PRIMARY KEY (version, seq)
);
-- Artifacts are mostly float arrays: compression would cost CPU for little gain.
ALTER TABLE recsys.model_artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
