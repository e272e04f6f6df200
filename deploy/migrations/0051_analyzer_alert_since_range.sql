-- Quality alerts: how firm the change date is. For an open average-rating change, `since_earliest` and
-- `since_latest` are the first review after the earliest and after the latest split of the smallest set of
-- splits holding >= 90% of the change location's posterior (a credible range; it contains `since`).
-- Nullable: other metrics, history and alerts raised before this migration have none.
ALTER TABLE insights.change_tests ADD COLUMN since_earliest timestamptz;
ALTER TABLE insights.change_tests ADD COLUMN since_latest timestamptz;
ALTER TABLE insights.alerts ADD COLUMN since_earliest timestamptz;
ALTER TABLE insights.alerts ADD COLUMN since_latest timestamptz;
