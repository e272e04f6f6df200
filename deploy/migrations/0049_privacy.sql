-- privacy.*: erasure jobs (GDPR art. 17) and the tombstones every writer checks (docs/privacy.md).
--
-- The gateway creates a job and the tombstone in one transaction when an admin asks to forget a person
-- (DELETE /api/v1/users/{id}); its driver then calls EraseUser on the collector, analyzer and recommender
-- until each has answered, recording the steps done here, so a job survives any restart.

CREATE SCHEMA IF NOT EXISTS privacy;

-- SHA-256 (hex) of a subject's id: how tombstones and jobs name a person without holding the id.
CREATE FUNCTION privacy.subject_hash(subject text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT encode(sha256(convert_to(subject, 'UTF8')), 'hex') $$;

-- One row per forgotten person. Writers (crawl, ingest, feedback) skip rows of a tombstoned subject.
CREATE TABLE privacy.tombstones (
  subject_hash text PRIMARY KEY,
  erased_at    timestamptz NOT NULL DEFAULT now()
);

-- true when the person was forgotten (writers call this in their INSERT ... SELECT).
CREATE FUNCTION privacy.is_erased(subject text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT subject IS NOT NULL AND subject <> ''
               AND EXISTS (SELECT 1 FROM privacy.tombstones t WHERE t.subject_hash = privacy.subject_hash(subject)) $$;

-- The job, and once completed the audit record: who asked, when, which kinds of data were erased (counts per
-- kind), no personal data. subject_id is needed by the steps while the job runs and is cleared (NULL) when
-- it completes.
CREATE TABLE privacy.erasures (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_hash text NOT NULL,
  subject_id   text,
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'completed')),
  requested_by text NOT NULL DEFAULT '',
  requested_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  steps        text[] NOT NULL,                   -- services to call ("collector", "analyzer", "recommender")
  steps_done   text[] NOT NULL DEFAULT '{}',
  erased       jsonb NOT NULL DEFAULT '{}'::jsonb, -- {"collector/raw.contacts": 3, ...}
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text NOT NULL DEFAULT '',
  next_try_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (state = 'pending' OR (subject_id IS NULL AND completed_at IS NOT NULL))
);
-- A second DELETE of a person while their job runs returns that job.
CREATE UNIQUE INDEX erasures_one_pending_idx ON privacy.erasures (subject_hash) WHERE state = 'pending';
CREATE INDEX erasures_pending_idx ON privacy.erasures (next_try_at) WHERE state = 'pending';
