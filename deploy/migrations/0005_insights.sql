-- insights.*: what the analyzer derives from raw.* (protos/marketlens/analyzer/v1). Everything here can
-- be recomputed from raw.*.

-- Per review (and version): sentiment, aspects, issue flags.
CREATE TABLE insights.review_analysis (
  review_id      text PRIMARY KEY,
  product_id     text NOT NULL,
  review_version integer NOT NULL DEFAULT 1,
  sentiment      double precision NOT NULL CHECK (sentiment BETWEEN -1 AND 1),
  label          text NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
  aspects        jsonb NOT NULL DEFAULT '[]'::jsonb,        -- [{aspect, polarity, quote}]
  issues         jsonb NOT NULL DEFAULT '[]'::jsonb,        -- [{category, sentence}]
  quality_flags  text[] NOT NULL DEFAULT '{}',
  backend        text NOT NULL DEFAULT 'local',
  model_version  text NOT NULL DEFAULT '',
  analyzed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_analysis_product_idx ON insights.review_analysis (product_id, label);

-- Per product and week (weeks start on Monday, UTC).
CREATE TABLE insights.product_weekly (
  product_id     text NOT NULL,
  week_start     date NOT NULL,
  average_rating double precision NOT NULL,
  sentiment      double precision NOT NULL,
  reviews        integer NOT NULL CHECK (reviews >= 0),
  PRIMARY KEY (product_id, week_start)
);

-- One row per product for the list view: every filter and sort of ListProductInsights has an index.
CREATE TABLE insights.product_summary (
  product_id       text PRIMARY KEY,
  title            text NOT NULL DEFAULT '',
  brand            text NOT NULL DEFAULT '',
  category         text NOT NULL DEFAULT '',
  price_cents      bigint NOT NULL DEFAULT 0,
  average_rating   double precision NOT NULL DEFAULT 0,
  review_count     integer NOT NULL DEFAULT 0,
  sentiment        double precision NOT NULL DEFAULT 0,
  sentiment_label  text NOT NULL DEFAULT 'neutral' CHECK (sentiment_label IN ('negative', 'neutral', 'positive')),
  reviews_per_week double precision NOT NULL DEFAULT 0,
  velocity_trend   double precision NOT NULL DEFAULT 0,
  features         jsonb NOT NULL DEFAULT '[]'::jsonb,      -- [{aspect, mentions, polarity}]
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_summary_category_rating_idx ON insights.product_summary (category, average_rating, product_id);
CREATE INDEX product_summary_rating_idx ON insights.product_summary (average_rating, product_id);
CREATE INDEX product_summary_sentiment_idx ON insights.product_summary (sentiment, product_id);
CREATE INDEX product_summary_reviews_idx ON insights.product_summary (review_count, product_id);
CREATE INDEX product_summary_title_idx ON insights.product_summary (title, product_id);
CREATE INDEX product_summary_label_idx ON insights.product_summary (sentiment_label, average_rating, product_id);

-- Issue categories per product, with quotes.
CREATE TABLE insights.issues (
  product_id text NOT NULL,
  category   text NOT NULL,                                 -- "defective", "durability", ...
  count      integer NOT NULL DEFAULT 0 CHECK (count >= 0),
  share      double precision NOT NULL DEFAULT 0 CHECK (share BETWEEN 0 AND 1),
  quotes     text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_id, category)
);
CREATE INDEX issues_category_idx ON insights.issues (category, share DESC);

CREATE TABLE insights.alerts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id  text NOT NULL,
  kind        text NOT NULL,                                -- "rating_drop", "sentiment_drop", "issue_spike"
  metric      text NOT NULL DEFAULT '',
  before      double precision,
  after       double precision,
  p_value     double precision CHECK (p_value BETWEEN 0 AND 1),
  message     text NOT NULL DEFAULT '',
  raised_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz
);
CREATE INDEX alerts_raised_at_idx ON insights.alerts (raised_at DESC, id);
CREATE INDEX alerts_product_idx ON insights.alerts (product_id, raised_at DESC);
