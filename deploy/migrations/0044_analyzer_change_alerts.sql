-- Quality alerts from change detection over each product's whole history.
-- insights.change_tests: the newest test of each product's metrics (Benjamini-Hochberg across the catalogue
-- reads all of them); insights.alerts gains the change date, its evidence and a lifecycle:
-- open -> acknowledged -> resolved (by a user, or by itself when the metric recovered).
CREATE TABLE insights.change_tests (
  product_id     text NOT NULL,
  metric         text NOT NULL,
  kind           text NOT NULL,
  p_value        double precision NOT NULL CHECK (p_value BETWEEN 0 AND 1),
  min_p_value    double precision NOT NULL DEFAULT 0,
  meets_effect   boolean NOT NULL,
  open           boolean NOT NULL,
  since          timestamptz NOT NULL,
  recovered_at   timestamptz,
  before         double precision NOT NULL,
  after          double precision NOT NULL,
  before_reviews integer NOT NULL,
  after_reviews  integer NOT NULL,
  evidence       text[] NOT NULL DEFAULT '{}',
  message        text NOT NULL DEFAULT '',
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_id, metric)
);

ALTER TABLE insights.alerts ADD COLUMN since timestamptz;
ALTER TABLE insights.alerts ADD COLUMN state text NOT NULL DEFAULT 'open'
  CHECK (state IN ('open', 'acknowledged', 'resolved'));
ALTER TABLE insights.alerts ADD COLUMN evidence text[] NOT NULL DEFAULT '{}';
ALTER TABLE insights.alerts ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE insights.alerts ADD COLUMN resolved_by text;  -- 'user' | 'recovered'
UPDATE insights.alerts SET state = 'resolved', resolved_by = 'recovered' WHERE resolved_at IS NOT NULL;
CREATE INDEX alerts_state_since_idx ON insights.alerts (state, since DESC);
