-- recsys.*: feedback events, the model registry and A/B experiments
-- (protos/marketlens/recommender/v1).

-- Feedback from RecordFeedback; training reads it together with raw.interactions. To be partitioned by
-- occurred_at once it grows (docs/architecture.md, "Scale-out").
CREATE TABLE recsys.events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       text NOT NULL,
  item_id       text NOT NULL,
  event         text NOT NULL
                  CHECK (event IN ('view', 'click', 'add_to_cart', 'purchase', 'like', 'skip', 'do_not_show')),
  experiment_id text NOT NULL DEFAULT '',
  variant       text NOT NULL DEFAULT '',
  surface       text NOT NULL DEFAULT '',
  occurred_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_user_idx ON recsys.events (user_id, occurred_at);
CREATE INDEX events_occurred_at_idx ON recsys.events (occurred_at);
CREATE INDEX events_experiment_idx ON recsys.events (experiment_id, variant) WHERE experiment_id <> '';

CREATE TABLE recsys.models (
  version      text PRIMARY KEY,
  algorithm    text NOT NULL,                              -- "als", "item_knn", "popularity", ...
  trained_at   timestamptz NOT NULL DEFAULT now(),
  data_from    timestamptz,
  data_to      timestamptz,
  params       jsonb NOT NULL DEFAULT '{}'::jsonb,
  metrics      jsonb NOT NULL DEFAULT '{}'::jsonb,
  artifact_uri text NOT NULL,
  promoted     boolean NOT NULL DEFAULT false
);
-- At most one promoted model.
CREATE UNIQUE INDEX models_one_promoted_idx ON recsys.models ((true)) WHERE promoted;

-- Promotion history, newest last: RollbackModel goes back to the previous row.
CREATE TABLE recsys.model_promotions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version     text NOT NULL REFERENCES recsys.models (version),
  promoted_at timestamptz NOT NULL DEFAULT now(),
  reason      text NOT NULL DEFAULT ''                     -- "promote", "rollback"
);

CREATE TABLE recsys.experiments (
  id          text PRIMARY KEY,
  name        text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  variants    jsonb NOT NULL DEFAULT '[]'::jsonb,          -- [{name, weight, model_version}]
  state       text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'running', 'stopped')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz,
  stopped_at  timestamptz
);

-- Which variant each user saw (assignment is deterministic; this records it for analysis).
CREATE TABLE recsys.assignments (
  experiment_id text NOT NULL REFERENCES recsys.experiments (id) ON DELETE CASCADE,
  user_id       text NOT NULL,
  variant       text NOT NULL,
  assigned_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, user_id)
);
CREATE INDEX assignments_variant_idx ON recsys.assignments (experiment_id, variant);
