-- Analyzer: the LLM review mode's result per review (--llm_review, with --llm_backend=openai):
-- issues, feature feedback and quality concerns, answered by the remote model or, where it could not
-- answer, by the local engine. `backend` says which ('openai' or 'local'); `fallback_reason` why the local
-- engine answered ('' when the model did). `content_hash` (SHA-256 of category, rating, title and text)
-- with `prompt_id` tells whether a review was already analysed as it reads now.
CREATE TABLE insights.review_llm_analysis (
  review_id        text PRIMARY KEY,
  product_id       text NOT NULL,
  review_version   integer NOT NULL DEFAULT 1,
  content_hash     text NOT NULL,
  backend          text NOT NULL CHECK (backend IN ('openai', 'local')),
  model            text NOT NULL DEFAULT '',
  prompt_id        text NOT NULL DEFAULT '',
  fallback_reason  text NOT NULL DEFAULT '',
  cached           boolean NOT NULL DEFAULT false,
  sentiment        double precision NOT NULL CHECK (sentiment BETWEEN -1 AND 1),
  label            text NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
  issues           jsonb NOT NULL DEFAULT '[]'::jsonb,            -- [{category, sentence}]
  feature_feedback jsonb NOT NULL DEFAULT '[]'::jsonb,            -- [{feature, polarity, quote}]
  quality_concerns jsonb NOT NULL DEFAULT '[]'::jsonb,            -- [{concern, detail, quote}]
  analyzed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_llm_analysis_product_idx ON insights.review_llm_analysis (product_id, analyzed_at DESC);
