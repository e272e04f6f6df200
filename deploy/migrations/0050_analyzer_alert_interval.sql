-- Quality alerts: the interval the reviews allow for a change. `since` is the first review that shows it;
-- `changed_after` the last review before it (the change happened after that review and by `since`; with no
-- review in between, the data cannot date it more closely). Nullable: alerts raised before this migration
-- have none. Numbered 0050 (a new group): the analyzer's group 0040-0049 is full (0049 is the privacy
-- schema).
ALTER TABLE insights.change_tests ADD COLUMN changed_after timestamptz;
ALTER TABLE insights.alerts ADD COLUMN changed_after timestamptz;
