-- Analyzer (services/analyzer): trends and issue shares over time, weak-label model versions, aspect terms
-- discovered from the data, and at most one open alert per product, kind and metric.

-- The list view also shows the sentiment trend, open alerts and the newest review.
ALTER TABLE insights.product_summary ADD COLUMN sentiment_trend double precision NOT NULL DEFAULT 0;
ALTER TABLE insights.product_summary ADD COLUMN open_alerts integer NOT NULL DEFAULT 0;
ALTER TABLE insights.product_summary ADD COLUMN last_review_at timestamptz;
ALTER TABLE insights.product_summary ADD COLUMN issues jsonb NOT NULL DEFAULT '[]'::jsonb;  -- top [{category, count, share}]
CREATE INDEX product_summary_velocity_idx ON insights.product_summary (reviews_per_week, product_id);
CREATE INDEX product_summary_brand_idx ON insights.product_summary (lower(brand), product_id);

-- Issue mentions per product, week and category (shares over time: count / product_weekly.reviews).
CREATE TABLE insights.issue_weekly (
  product_id text NOT NULL,
  week_start date NOT NULL,
  category   text NOT NULL,
  count      integer NOT NULL CHECK (count >= 0),
  PRIMARY KEY (product_id, week_start, category)
);

-- Versions of the weak-label sentiment model (trained on raw.reviews with star ratings as labels). The
-- active one is what every analyzer instance loads; `weights` is the model's binary form in base64.
CREATE TABLE insights.models (
  version          text PRIMARY KEY,
  kind             text NOT NULL DEFAULT 'nblr',
  trained_at       timestamptz NOT NULL DEFAULT now(),
  examples         bigint NOT NULL DEFAULT 0,
  holdout_accuracy double precision,
  top_positive     text[] NOT NULL DEFAULT '{}',
  top_negative     text[] NOT NULL DEFAULT '{}',
  weights          text NOT NULL,
  active           boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX models_one_active_idx ON insights.models ((true)) WHERE active;

-- Aspect terms discovered from the reviews of a category (the taxonomy's terms are in the config file).
CREATE TABLE insights.aspect_terms (
  category      text NOT NULL,
  term          text NOT NULL,
  documents     integer NOT NULL DEFAULT 0,
  discovered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (category, term)
);

-- An alert stays open while its shift is still significant; a new one is only raised after it resolved.
CREATE UNIQUE INDEX alerts_open_idx ON insights.alerts (product_id, kind, metric) WHERE resolved_at IS NULL;
ALTER TABLE insights.alerts ADD COLUMN recent_reviews integer NOT NULL DEFAULT 0;
ALTER TABLE insights.alerts ADD COLUMN baseline_reviews integer NOT NULL DEFAULT 0;
-- ListAlerts: newest first, optionally open only.
CREATE INDEX alerts_open_raised_idx ON insights.alerts (raised_at DESC, id) WHERE resolved_at IS NULL;

-- The data's clock (the newest review, max(created_at)) is read at every recompute: an index answers it.
CREATE INDEX reviews_created_at_idx ON raw.reviews (created_at);

-- Catch-up finds reviews analysed by an older model.
CREATE INDEX review_analysis_model_idx ON insights.review_analysis (model_version);
