-- recsys: model registry rollback stack, privacy erasures, serving rules, experiment settings and exposures
-- (services/recommender). Adds to 0006_recsys.sql without changing it.

-- RollbackModel pops the promotion stack: a rolled-back promotion is marked, never deleted, so the history
-- stays complete. The stack is the 'promote' rows not rolled back, newest last.
ALTER TABLE recsys.model_promotions ADD COLUMN rolled_back_at timestamptz;
CREATE INDEX model_promotions_stack_idx ON recsys.model_promotions (id) WHERE reason = 'promote' AND rolled_back_at IS NULL;
CREATE INDEX model_promotions_version_idx ON recsys.model_promotions (version);

-- ForgetUser: the shopper's events are deleted; this tombstone makes training skip them and the serving
-- path drop their vector from model artifacts trained before the request. Purge rows older than the
-- oldest artifact still registered.
CREATE TABLE recsys.forgotten_users (
  user_id      text PRIMARY KEY,
  forgotten_at timestamptz NOT NULL DEFAULT now()
);

-- Business rules besides what raw.products says (stock, margin, category):
-- an item may be unavailable in some regions,
CREATE TABLE recsys.item_region_restrictions (
  item_id text NOT NULL,
  region  text NOT NULL,
  PRIMARY KEY (item_id, region)
);
-- and active promotions are inserted into lists (at `slot`, 0-based) on the given surfaces and regions
-- (empty arrays: all).
CREATE TABLE recsys.promotions (
  id        text PRIMARY KEY,
  item_id   text NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at   timestamptz NOT NULL,
  surfaces  text[] NOT NULL DEFAULT '{}',
  regions   text[] NOT NULL DEFAULT '{}',
  slot      integer NOT NULL DEFAULT 0 CHECK (slot >= 0),
  label     text NOT NULL DEFAULT '',
  CHECK (ends_at > starts_at)
);
CREATE INDEX promotions_active_idx ON recsys.promotions (starts_at, ends_at);

-- Experiments: assignment hashes (salt, user_id); `traffic` of the users take part; surfaces filter
-- where it applies (empty: all). variants (0006) is [{name, weight, model_version}].
ALTER TABLE recsys.experiments ADD COLUMN salt text NOT NULL DEFAULT '';
ALTER TABLE recsys.experiments ADD COLUMN traffic double precision NOT NULL DEFAULT 1 CHECK (traffic > 0 AND traffic <= 1);
ALTER TABLE recsys.experiments ADD COLUMN surfaces text[] NOT NULL DEFAULT '{}';

-- One row per recommendation list shown inside an experiment (what conversions are divided by).
CREATE TABLE recsys.exposures (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  experiment_id text NOT NULL,
  variant       text NOT NULL,
  user_id       text NOT NULL,
  surface       text NOT NULL DEFAULT '',
  model_version text NOT NULL DEFAULT '',
  items         integer NOT NULL DEFAULT 0,
  occurred_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exposures_experiment_idx ON recsys.exposures (experiment_id, variant);
CREATE INDEX exposures_user_idx ON recsys.exposures (user_id);

-- Feedback arrives through a Redis stream; its entry id makes the write idempotent when an entry is
-- delivered twice (consumer crash before XACK).
ALTER TABLE recsys.events ADD COLUMN stream_id text;
CREATE UNIQUE INDEX events_stream_id_idx ON recsys.events (stream_id) WHERE stream_id IS NOT NULL;
