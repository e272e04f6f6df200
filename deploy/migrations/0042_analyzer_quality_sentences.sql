-- Analyzer (services/analyzer): each quality flag of a review with the sentence that triggered it,
-- [{flag, sentence}] in the engine's order; quality_flags keeps the names alone (for filters).
-- Rows analysed before this column existed have '[]' here: their model_version names engine "local-1",
-- which the current engine ("local-2") treats as stale, so the pipeline's catch-up re-analyses them.
ALTER TABLE insights.review_analysis ADD COLUMN quality jsonb NOT NULL DEFAULT '[]'::jsonb;
